"""SQLite replays stream the effective history through its valid-time index; the result is exactly the one
the general path computes, for any history, date and moment."""

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import histories
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _both(history, batches):
    """The same appends, with the same clock, to a memory log and a SQLite log."""
    folder = Path(tempfile.mkdtemp())
    moments = [T0 + dt.timedelta(hours=i) for i in range(len(batches) + 1)]
    memory = pt.open_log(":memory:", clock=StepClock(*moments))
    sqlite = pt.open_log(folder / "log.db", clock=StepClock(*moments))
    for start, end in batches:
        memory.append(history[start:end])
        sqlite.append(history[start:end])
    return memory, sqlite


@settings(max_examples=60)
@given(
    histories(max_size=25, countries=["PK", "SV", "RU"]),
    st.data(),
)
def test_streamed_replay_equals_the_general_path(history, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=3)))
    batches = list(zip([0, *cuts], [*cuts, len(history)], strict=True))
    memory, sqlite = _both(history, batches)
    as_of = data.draw(st.none() | st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2031, 1, 1)))
    known_at = data.draw(st.none() | st.integers(0, len(batches)).map(lambda h: T0 + dt.timedelta(hours=h)))
    try:
        assert pt.country_states(memory, as_of=as_of, known_at=known_at) == pt.country_states(
            sqlite, as_of=as_of, known_at=known_at
        )
        assert pt.timeline(memory, "SV", as_of=as_of) == pt.timeline(sqlite, "SV", as_of=as_of)
    finally:
        memory.close()
        sqlite.close()


def test_a_version_1_file_is_migrated_without_touching_a_record(tmp_path):
    path = tmp_path / "old.db"
    with pt.open_log(path) as log:
        log.append(pt.load_events(DATASET))
        expected = pt.country_states(log)
    with sqlite3.connect(path) as conn:  # make it look like a file written before the valid-time index
        conn.execute("DROP INDEX records_by_valid_time")
        conn.execute("UPDATE records SET vt_earliest = NULL, vt_latest = NULL, vt_rank = NULL")
        conn.execute("UPDATE policytracker_meta SET value = '1' WHERE key = 'schema_version'")
        before = conn.execute("SELECT position, recorded_at, event, digest FROM records").fetchall()

    with pt.open_log(path) as log:
        assert expected == pt.country_states(log)
        assert log.verify().ok
    with sqlite3.connect(path) as conn:
        assert before == conn.execute("SELECT position, recorded_at, event, digest FROM records").fetchall()
        assert (
            "2"
            == conn.execute("SELECT value FROM policytracker_meta WHERE key = 'schema_version'").fetchone()[0]
        )
        assert 0 == conn.execute("SELECT count(*) FROM records WHERE vt_earliest IS NULL").fetchone()[0]


def test_the_streamed_replay_uses_the_valid_time_index(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        log.append(pt.load_events(DATASET))
    with sqlite3.connect(tmp_path / "log.db") as conn:
        plan = " ".join(
            row[-1]
            for row in conn.execute(
                "EXPLAIN QUERY PLAN SELECT position, event FROM records WHERE type NOT IN ('a', 'b') "
                "ORDER BY vt_earliest, vt_latest, vt_rank, event_id LIMIT 1000"
            )
        )

    assert "records_by_valid_time" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
