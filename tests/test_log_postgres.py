"""The PostgreSQL store, against a real server.

These tests read the server's address from POLICYTRACKER_TEST_POSTGRES (for example
postgresql://postgres@127.0.0.1:5432/test) and are skipped when it is unset. Each test works in a schema of
its own, dropped afterwards.
"""

import multiprocessing
import os
import threading
import time
import urllib.parse
import uuid

import pytest

import policytracker as pt
from tests.log_contract import LogContract, StepClock, partnership, purchase, refusal
from tests.writers import check_all_landed, optimistic_writer

SERVER = os.environ.get("POLICYTRACKER_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(
    not SERVER,
    reason="PostgreSQL tests need a server: set "
    "POLICYTRACKER_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test to run them",
)
WRITERS = 4
APPENDS = 25


@pytest.fixture
def url():
    import psycopg

    schema = f"pt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in SERVER else "?"
    yield f"{SERVER}{separator}options={urllib.parse.quote(f'-csearch_path={schema}')}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


class TestPostgresLog(LogContract):
    @pytest.fixture
    def opener(self, url):
        return lambda clock=None: pt.open_log(url, clock=clock)


# -- copying between stores ---------------------------------------------------------------------------------


def test_copy_from_sqlite_to_postgres_and_back_to_jsonl(url, tmp_path):
    source = tmp_path / "source.db"
    with pt.open_log(source, clock=StepClock()) as log:
        log.append([purchase(), refusal()])
        log.append([partnership(), pt.EventRetracted(occurred="2025-07", target=purchase().event_id)])
        original = list(log.read())

    assert 4 == pt.copy_log(source, url)
    assert 4 == pt.copy_log(url, tmp_path / "back.jsonl")

    with pt.open_log(url) as shared, pt.open_log(tmp_path / "back.jsonl") as back:
        assert original == list(shared.read()) == list(back.read())
        assert shared.verify().ok
        assert back.verify().ok
        assert [1, 3, 4] == [record.position for record in shared.read(country="SV")]


# -- schema ---------------------------------------------------------------------------------------------


def test_the_schema_is_created_once_and_reopening_is_idempotent(url):
    import psycopg

    for _ in range(3):
        pt.open_log(url).close()
    with psycopg.connect(url) as conn:
        meta = dict(conn.execute("SELECT key, value FROM policytracker_meta").fetchall())

    assert {"format": "policytracker-log", "schema_version": "1"} == meta


def test_a_newer_storage_schema_is_refused(url):
    import psycopg

    pt.open_log(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE policytracker_meta SET value = '7' WHERE key = 'schema_version'")

    with pytest.raises(pt.SerializationError, match="newer"):
        pt.open_log(url)


def test_tampering_is_detected(url):
    import psycopg

    with pt.open_log(url, clock=StepClock()) as log:
        log.append([purchase(), refusal(), partnership()])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE policytracker_records SET event = replace(event, '\"7\"', '\"8\"') WHERE position = 1"
        )

    with pt.open_log(url) as log:
        report = log.verify()

    assert (False, 1) == (report.ok, report.first_bad_position)


# -- many writers ---------------------------------------------------------------------------------------


def _writer(url, worker, barrier, conflicts):
    optimistic_writer(url, worker, barrier, conflicts, APPENDS)


def test_concurrent_processes_never_lose_an_event(url):
    pt.open_log(url).close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    conflicts = context.Value("i", 0)
    processes = [context.Process(target=_writer, args=(url, w, barrier, conflicts)) for w in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [0] * WRITERS == [process.exitcode for process in processes]
    check_all_landed(url, WRITERS * APPENDS, conflicts.value)


def test_concurrent_threads_never_lose_an_event(url):
    pt.open_log(url).close()
    barrier = threading.Barrier(WRITERS)
    conflicts = multiprocessing.Value("i", 0)
    threads = [threading.Thread(target=_writer, args=(url, w, barrier, conflicts)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    check_all_landed(url, WRITERS * APPENDS, conflicts.value)


# -- subscriptions ----------------------------------------------------------------------------------------


def _projector_process(url, ready, results):
    with pt.open_log(url) as log:
        projector = pt.Projector(log)
        ready.set()
        for record in log.subscribe(after=0, timeout=20):
            projector.catch_up()
            results.put((record.position, time.time(), projector.state["SV"].holdings.get("BTC")))
            if record.position == 3:
                return


def test_a_projector_in_another_process_catches_up_within_a_second(url):
    pt.open_log(url).close()
    context = multiprocessing.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    child = context.Process(target=_projector_process, args=(url, ready, results))
    child.start()
    assert ready.wait(30)
    time.sleep(0.5)  # let the child block on LISTEN
    lags = []
    with pt.open_log(url) as log:
        for amount in (7, 8, 9):
            sent = time.time()
            log.append([purchase(amount)])
            position, seen, holdings = results.get(timeout=10)
            lags.append(seen - sent)
            time.sleep(0.3)
    child.join(timeout=30)

    assert 0 == child.exitcode
    assert 3 == position
    assert 24 == holdings
    assert max(lags) < 1.0, lags


def test_a_subscription_sees_every_committed_record_in_order_under_concurrent_writers(url):
    pt.open_log(url).close()
    seen = []

    def subscriber():
        with pt.open_log(url) as log:
            for record in log.subscribe(timeout=5):
                seen.append(record.position)
                if len(seen) == WRITERS * 10:
                    return

    def blind_writer(worker):
        with pt.open_log(url) as log:
            for index in range(10):
                log.append([pt.PolicyStatement(occurred="2025", country="SV", text=f"{worker}/{index}")])

    listening = threading.Thread(target=subscriber)
    listening.start()
    writers = [threading.Thread(target=blind_writer, args=(w,)) for w in range(WRITERS)]
    for thread in writers:
        thread.start()
    for thread in [*writers, listening]:
        thread.join(timeout=60)

    assert list(range(1, WRITERS * 10 + 1)) == seen


def test_a_subscription_stops_after_its_timeout(url):
    with pt.open_log(url) as log:
        log.append([purchase()])
        started = time.monotonic()

        assert [1] == [record.position for record in log.subscribe(timeout=0.5)]
        assert time.monotonic() - started < 5
