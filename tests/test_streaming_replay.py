"""SQLite and JSON Lines replays stream the effective history in valid-time order (SQLite through its
index, JSON Lines through sorted keys); the result is exactly the one the general path computes, for any
history, date and moment."""

import datetime as dt
import sqlite3
import tempfile
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker._log._core import ValidTimeReader
from policytracker.testing import histories
from tests.log_contract import StepClock, rechain_jsonl
from tests.test_seed_history import DATASET

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _both(history, batches, name):
    """The same appends, with the same clock, to a memory log and a log in the file *name*."""
    folder = Path(tempfile.mkdtemp())
    moments = [T0 + dt.timedelta(hours=i) for i in range(len(batches) + 1)]
    memory = pt.open_log(":memory:", clock=StepClock(*moments))
    streaming = pt.open_log(folder / name, clock=StepClock(*moments))
    for start, end in batches:
        memory.append(history[start:end])
        streaming.append(history[start:end])
    return memory, streaming


@pytest.mark.parametrize("name", ["log.db", "log.jsonl"])
@settings(max_examples=60)
@given(
    histories(max_size=25, countries=["PK", "SV", "RU"]),
    st.data(),
)
def test_streamed_replay_equals_the_general_path(name, history, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=3)))
    batches = list(zip([0, *cuts], [*cuts, len(history)], strict=True))
    as_of = data.draw(st.none() | st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2031, 1, 1)))
    known_at = data.draw(st.none() | st.integers(0, len(batches)).map(lambda h: T0 + dt.timedelta(hours=h)))
    memory, streaming = _both(history, batches, name)  # opened after the draws, so always closed
    try:
        assert isinstance(streaming, ValidTimeReader)  # the streamed path, not the general one
        assert pt.country_states(memory, as_of=as_of, known_at=known_at) == pt.country_states(
            streaming, as_of=as_of, known_at=known_at
        )
        assert pt.timeline(memory, "SV", as_of=as_of) == pt.timeline(streaming, "SV", as_of=as_of)
        assert list(streaming.valid_time_events()) == pt.effective_events(
            [event for event in memory.read_events() if not isinstance(event, AMENDMENTS)]
        )
    finally:
        memory.close()
        streaming.close()


AMENDMENTS = (pt.EventRetracted, pt.EventCorrected)


@pt.event_type("test.streamed_custom")
@attrs.frozen(kw_only=True)
class StreamedCustom(pt.CountryEvent):
    detail: str


def _custom_event():
    return StreamedCustom(occurred="2025-01", country="SV", detail="a user's own event type")


def _jsonl_with(tmp_path, events):
    path = tmp_path / "log.jsonl"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append(events)
    return path


def _views(log):
    return (
        pt.country_states(log),
        pt.timeline(log, "SV"),
        pt.holdings_history(log, "SV"),
        pt.partnership_graph(log),
    )


@pytest.mark.parametrize("name", ["log.db", "log.jsonl"])
def test_replays_and_views_stream_without_the_general_path(tmp_path, monkeypatch, name):
    with pt.open_log(tmp_path / name, clock=StepClock()) as log:
        log.append(pt.load_events(DATASET))
        expected = _views(log)

        def refuse(*_args, **_kwargs):
            raise AssertionError("the general path read every event")

        monkeypatch.setattr(type(log), "read_events", refuse)
        assert expected == _views(log)
        assert {"PK", "RU", "SV"} == set(expected[0])


def test_jsonl_events_of_unusual_shapes_are_decoded_for_their_key(tmp_path):
    # an id in urn form and a custom event class: their keys come from the decoded events
    custom = _custom_event()
    usual = pt.ReservePurchase(occurred="2025-03", country="SV", amount=1)
    odd_id = pt.ReservePurchase(occurred="2025-01-02", country="SV", amount=2)
    path = _jsonl_with(tmp_path, [usual, odd_id, custom])
    text = path.read_text()
    path.write_text(
        text.replace(f'"event_id":"{odd_id.event_id}"', f'"event_id":"urn:uuid:{odd_id.event_id}"')
    )
    rechain_jsonl(path)  # as another writer could have stored it
    with pt.open_log(path) as log:
        assert list(log.valid_time_events()) == pt.effective_events([usual, odd_id, custom])


def test_a_damaged_jsonl_line_is_named_by_a_streamed_replay(tmp_path):
    events = [pt.ReservePurchase(occurred="2025-03", country="SV", amount=n) for n in (1, 2, 3)]
    path = _jsonl_with(tmp_path, events)
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"occurred":"2025-03"', '"occurred":"2025-13"')
    path.write_text("".join(lines))
    with pytest.raises(pt.SerializationError, match=r"line 2.*occurred"), pt.open_log(path) as log:
        pt.country_states(log)


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


def test_an_as_of_replay_stops_the_index_walk_at_its_date(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        log.append(pt.load_events(DATASET))
        statements = []
        log._conn.set_trace_callback(statements.append)
        pt.country_states(log, as_of="2025-01-01")
        log._conn.set_trace_callback(None)
        (query,) = [sql for sql in statements if "ORDER BY vt_earliest" in sql]
        plan = " ".join(row[-1] for row in log._conn.execute(f"EXPLAIN QUERY PLAN {query}"))

    assert "records_by_valid_time (vt_earliest<?)" in plan, plan


def test_a_known_at_replay_passes_over_later_records_by_position(tmp_path):
    events = pt.load_events(DATASET)
    size = len(events) // 3 + 1
    moments = [T0 + dt.timedelta(hours=hour) for hour in range(3)]
    with pt.open_log(tmp_path / "log.db", clock=StepClock(*moments)) as log:
        for start in range(0, len(events), size):
            log.append(events[start : start + size])
        statements = []
        log._conn.set_trace_callback(statements.append)
        known = pt.country_states(log, known_at=moments[0])
        log._conn.set_trace_callback(None)
    with pt.open_log(":memory:") as first_batch_only:
        first_batch_only.append(events[:size])
        expected = pt.country_states(first_batch_only)

    (query,) = [sql for sql in statements if "ORDER BY vt_earliest" in sql]
    assert f"position <= {size} AND recorded_at <= " in query, query
    assert known == expected
