"""The PostgreSQL store, against a real server.

These tests read the server's address from POLICYTRACKER_TEST_POSTGRES (for example
postgresql://postgres@127.0.0.1:5432/test) and are skipped when it is unset. Each test works in a schema of
its own, dropped afterwards.
"""

import contextlib
import datetime as dt
import multiprocessing
import os
import threading
import time
import urllib.parse
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import histories
from tests.log_contract import LogContract, StepClock, partnership, purchase, refusal
from tests.test_seed_history import DATASET
from tests.writers import check_all_landed, optimistic_writer, start_and_join

SERVER = os.environ.get("POLICYTRACKER_TEST_POSTGRES")
pytestmark = pytest.mark.skipif(
    not SERVER,
    reason="PostgreSQL tests need a server: set "
    "POLICYTRACKER_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test to run them",
)
WRITERS = 4
APPENDS = 25


@contextlib.contextmanager
def fresh_schema():
    """The URL of a new, empty schema on the test server, dropped afterwards."""
    import psycopg

    schema = f"pt_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in SERVER else "?"
    try:
        yield f"{SERVER}{separator}options={urllib.parse.quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def url():
    with fresh_schema() as address:
        yield address


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

    assert {"format": "policytracker-log", "schema_version": "2"} == meta


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
    start_and_join(processes)

    assert [0] * WRITERS == [process.exitcode for process in processes]
    check_all_landed(url, WRITERS * APPENDS, conflicts.value)


def test_concurrent_threads_never_lose_an_event(url):
    pt.open_log(url).close()
    barrier = threading.Barrier(WRITERS)
    conflicts = multiprocessing.Value("i", 0)
    threads = [threading.Thread(target=_writer, args=(url, w, barrier, conflicts)) for w in range(WRITERS)]
    start_and_join(threads)

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


# -- replays streamed through the valid-time index ---------------------------------------------------------

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@settings(max_examples=25)
@given(histories(max_size=25, countries=["PK", "SV", "RU"]), st.data())
def test_a_streamed_replay_equals_the_general_path(history, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=3)))
    batches = list(zip([0, *cuts], [*cuts, len(history)], strict=True))
    moments = [T0 + dt.timedelta(hours=i) for i in range(len(batches) + 1)]
    as_of = data.draw(st.none() | st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2031, 1, 1)))
    known_at = data.draw(st.none() | st.integers(0, len(batches)).map(lambda h: T0 + dt.timedelta(hours=h)))
    with fresh_schema() as address, pt.open_log(address, clock=StepClock(*moments)) as log:
        memory = pt.open_log(":memory:", clock=StepClock(*moments))
        for start, end in batches:
            memory.append(history[start:end])
            log.append(history[start:end])

        assert hasattr(log, "valid_time_events")  # the streaming path, not the general one
        assert pt.country_states(memory, as_of=as_of, known_at=known_at) == pt.country_states(
            log, as_of=as_of, known_at=known_at
        )
        assert pt.effective_events(memory.read(), as_of=as_of, known_at=known_at) == list(
            pt.project(
                log,
                pt.Projection(name="events", initial=(), apply=lambda s, e: (*s, e)),
                as_of=as_of,
                known_at=known_at,
            )
        )


def test_a_version_1_schema_is_migrated_without_touching_a_record(url):
    import psycopg

    with pt.open_log(url) as log:
        log.append(pt.load_events(DATASET))
        expected = pt.country_states(log)
    with psycopg.connect(url, autocommit=True) as conn:  # make it look like a schema of version 1
        conn.execute("DROP INDEX policytracker_records_by_valid_time")
        for column in ("vt_earliest", "vt_latest", "vt_rank"):
            conn.execute(f"ALTER TABLE policytracker_records DROP COLUMN {column}")
        conn.execute("UPDATE policytracker_meta SET value = '1' WHERE key = 'schema_version'")
        before = conn.execute(
            "SELECT position, recorded_at, event, digest FROM policytracker_records ORDER BY position"
        ).fetchall()

    with pt.open_log(url) as log:
        assert expected == pt.country_states(log)
        assert log.verify().ok
    with psycopg.connect(url, autocommit=True) as conn:
        assert (
            before
            == conn.execute(
                "SELECT position, recorded_at, event, digest FROM policytracker_records ORDER BY position"
            ).fetchall()
        )
        assert (
            "2"
            == conn.execute("SELECT value FROM policytracker_meta WHERE key = 'schema_version'").fetchone()[0]
        )
        assert (
            0
            == conn.execute(
                "SELECT count(*) FROM policytracker_records WHERE vt_earliest IS NULL"
            ).fetchone()[0]
        )


def test_the_valid_time_order_is_served_by_an_index(url):
    import psycopg

    with pt.open_log(url) as log:
        log.append(pt.load_events(DATASET))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")  # a tiny table would be sorted in memory otherwise
        plan = " ".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN SELECT position, event FROM policytracker_records "
                "ORDER BY vt_earliest, vt_latest, vt_rank, event_id LIMIT 1000"
            )
        )

    assert "policytracker_records_by_valid_time" in plan, plan
    assert "Sort" not in plan, plan


def test_a_changed_valid_time_column_is_refused_by_replays(url):
    import psycopg

    with pt.open_log(url, clock=StepClock()) as log:
        log.append([purchase(), purchase(amount=8), refusal()])
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE policytracker_records SET vt_latest = vt_latest + 4000 WHERE position = 1")

    with pt.open_log(url) as log:
        with pytest.raises(pt.IntegrityError, match="position 1"):
            pt.country_states(log)
        with pytest.raises(pt.IntegrityError, match="position 1"):
            pt.country_state(log, "SV")
