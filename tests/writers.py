"""Writers for the concurrency tests: processes and threads that append with optimistic retries.

Top-level functions, so that spawned processes can import them.
"""

import random
import time

import policytracker as pt


def start_and_join(workers, timeout=120):
    """Start every process or thread, then wait for each (at most *timeout* seconds apiece)."""
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)


def optimistic_writer(target, worker, start, conflicts, appends):
    """Append *appends* statements one at a time, re-reading the head and retrying on every conflict."""
    start.wait()
    with pt.open_log(target) as log:
        for index in range(appends):
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


def check_all_landed(target, expected, conflicts):
    """Every statement landed once, at gap-free positions, with an intact chain, after real contention."""
    with pt.open_log(target) as log:
        records = list(log.read())
        report = log.verify()
    assert expected == len(records), f"{conflicts} conflicts were retried"
    assert list(range(1, expected + 1)) == [record.position for record in records]
    assert expected == len({record.event.text for record in records})
    assert report.ok, report.reason
    assert conflicts > 0, "the writers never overlapped, so the test proved nothing"
