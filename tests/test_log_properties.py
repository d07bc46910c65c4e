"""Properties over any sequence of appends, in every store."""

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import events
from tests.log_contract import StepClock

batches = st.lists(st.lists(events(countries=["PK", "SV", "RU"]), max_size=4), max_size=5)


def _append_everywhere(batches, folder):
    moments = [dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i) for i in range(len(batches))]
    logs = [
        pt.open_log(target, clock=StepClock(*moments))
        for target in (":memory:", folder / "a.db", folder / "a.jsonl")
    ]
    try:
        for batch in batches:
            for log in logs:
                log.append(batch)
        return [list(log.read()) for log in logs], [log.verify() for log in logs]
    finally:
        for log in logs:
            log.close()


@settings(max_examples=40)
@given(batches)
def test_reading_back_yields_the_appended_events_in_order(batches):
    expected = list({event.event_id: event for batch in batches for event in batch}.values())
    with tempfile.TemporaryDirectory() as folder:
        stores, reports = _append_everywhere(batches, Path(folder))

    for records in stores:
        assert expected == [record.event for record in records]
    assert all(report.ok for report in reports)


@settings(max_examples=40)
@given(batches)
def test_every_store_computes_the_same_records_and_digests(batches):
    with tempfile.TemporaryDirectory() as folder:
        (memory, sqlite, jsonl), _ = _append_everywhere(batches, Path(folder))

    assert memory == sqlite == jsonl
