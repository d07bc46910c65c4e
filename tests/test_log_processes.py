"""Several real processes appending to one file lose nothing: every append lands at the next position or
raises ConcurrencyError, and optimistic retries get every event in."""

import multiprocessing
import random
import time

import pytest

import policytracker as pt

WORKERS = 3
APPENDS = 40


def _optimistic_writer(target, worker, start, conflicts):
    start.wait()
    with pt.open_log(target) as log:
        for index in range(APPENDS):
            event = pt.PolicyStatement(
                occurred="2025", country="PK", text=f"worker {worker} statement {index}"
            )
            while True:
                head = log.head
                time.sleep(random.uniform(0, 0.002))  # decide what to write, as a real writer would
                try:
                    log.append([event], expected_position=head)
                    break
                except pt.ConcurrencyError:
                    with conflicts.get_lock():
                        conflicts.value += 1


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
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [0] * WORKERS == [process.exitcode for process in processes]

    with pt.open_log(target) as log:
        records = list(log.read())
        report = log.verify()

    assert WORKERS * APPENDS == len(records), f"{conflicts.value} conflicts were retried"
    if writer is _optimistic_writer:
        assert conflicts.value > 0, "the writers never overlapped, so the test proved nothing"
    assert list(range(1, WORKERS * APPENDS + 1)) == [record.position for record in records]
    assert WORKERS * APPENDS == len({record.event.text for record in records})
    assert report.ok, report.reason
