"""A clock value the log could not read back is refused before anything is written, on every store."""

import datetime as dt

import pytest

import policytracker as pt
from tests.log_contract import T0, StepClock, purchase

FIVE_HOURS_WEST = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture(params=[":memory:", "history.db", "history.jsonl"])
def opener(request, tmp_path):
    target = request.param if request.param == ":memory:" else tmp_path / request.param
    return lambda clock=None: pt.open_log(target, clock=clock)


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(999, 12, 31, 23, 59, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 0, tzinfo=FIVE_HOURS_WEST),  # the next year, in UTC
        dt.datetime(1000, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # the year 999, in UTC
        dt.datetime(2025, 7, 17, 9, 30),
        dt.date(2025, 7, 17),
        "2025-07-17T09:30:00Z",
        None,
    ],
)
def test_a_clock_value_the_log_cannot_store_is_refused_before_anything_is_written(opener, moment):
    with opener(StepClock(T0, moment)) as log:
        log.append([purchase(1)])
        with pytest.raises(pt.ValidationError, match="clock") as info:
            log.append([purchase(2)])

        assert repr(moment) in str(info.value)
        assert [1] == [record.position for record in log.read()]
        assert log.verify().ok


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(1000, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2025, 7, 17, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ],
)
def test_a_clock_value_at_the_ends_of_the_range_is_stored_in_utc(opener, moment):
    with opener(lambda: moment) as log:
        (record,) = log.append([purchase()]).written

        assert (moment, dt.timedelta(0)) == (record.recorded_at, record.recorded_at.utcoffset())
        assert [record] == list(log.read())
