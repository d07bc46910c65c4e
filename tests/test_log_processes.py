"""Several real processes appending to one file lose nothing: every append lands at the next position or
raises ConcurrencyError, and optimistic retries get every event in."""

import multiprocessing

import pytest

import policytracker as pt
from tests.writers import check_all_landed, optimistic_writer, start_and_join

WORKERS = 3
APPENDS = 40


def _optimistic_writer(target, worker, start, conflicts):
    optimistic_writer(target, worker, start, conflicts, APPENDS)


def _blind_writer(target, worker, start, _conflicts):
    start.wait()
    with pt.open_log(target) as log:
        for index in range(0, APPENDS, 4):
            log.append(
                pt.PolicyStatement(occurred="2025", country="SV", text=f"worker {worker} batch item {i}")
                for i in range(index, index + 4)
            )


@pytest.mark.parametrize("suffix", [".db", ".jsonl"])
@pytest.mark.parametrize("writer", [_optimistic_writer, _blind_writer])
def test_concurrent_processes_lose_nothing(tmp_path, suffix, writer):
    target = tmp_path / f"shared{suffix}"
    pt.open_log(target).close()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    conflicts = context.Value("i", 0)
    processes = [context.Process(target=writer, args=(target, w, start, conflicts)) for w in range(WORKERS)]
    start_and_join(processes)
    assert [0] * WORKERS == [process.exitcode for process in processes]

    if writer is _optimistic_writer:
        check_all_landed(target, WORKERS * APPENDS, conflicts.value)
        return
    with pt.open_log(target) as log:
        records = list(log.read())
        report = log.verify()

    assert list(range(1, WORKERS * APPENDS + 1)) == [record.position for record in records]
    assert WORKERS * APPENDS == len({record.event.text for record in records})
    assert report.ok, report.reason
