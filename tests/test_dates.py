import datetime as dt

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policytracker import FuzzyDate, Precision, ValidationError
from policytracker._dates import as_of_date
from policytracker.testing import fuzzy_dates


@pytest.mark.parametrize(
    ("text", "precision", "earliest", "latest"),
    [
        ("2025-07-16", Precision.DAY, (2025, 7, 16), (2025, 7, 16)),
        ("2025-07", Precision.MONTH, (2025, 7, 1), (2025, 7, 31)),
        ("2025", Precision.YEAR, (2025, 1, 1), (2025, 12, 31)),
        ("2024-02", Precision.MONTH, (2024, 2, 1), (2024, 2, 29)),
        ("0001", Precision.YEAR, (1, 1, 1), (1, 12, 31)),
    ],
)
def test_parse_reads_each_precision(text, precision, earliest, latest):
    date = FuzzyDate.parse(text)

    assert precision == date.precision
    assert pendulum.Date(*earliest) == date.earliest
    assert pendulum.Date(*latest) == date.latest
    assert text == str(date)


@pytest.mark.parametrize(
    "text",
    [
        "2025-13",
        "2025-02-30",
        "July 2025",
        "2025-7-1",
        "",
        "2025-7",
        "0000",
        "25",
        "2025-07-16T00:00",
        " 2025",
    ],
)
def test_parse_refuses_malformed_text_and_names_it(text):
    with pytest.raises(ValidationError) as info:
        FuzzyDate.parse(text)

    assert repr(text) in str(info.value)


def test_bounds_are_pendulum_dates_never_datetimes():
    date = FuzzyDate.parse("2025-07")

    assert type(date.earliest) is pendulum.Date
    assert type(date.latest) is pendulum.Date


def test_from_date_accepts_stdlib_and_pendulum_dates():
    assert FuzzyDate.parse("2025-07-16") == FuzzyDate.from_date(dt.date(2025, 7, 16))
    assert FuzzyDate.parse("2025-07-16") == FuzzyDate.from_date(pendulum.Date(2025, 7, 16))


@pytest.mark.parametrize("value", [dt.datetime(2025, 7, 16, 12), pendulum.datetime(2025, 7, 16)])
def test_datetimes_are_refused_not_truncated(value):
    with pytest.raises(ValidationError, match=r"expected a date"):
        FuzzyDate.coerce(value, field="occurred")


def test_a_day_needs_a_month():
    with pytest.raises(ValidationError, match="day needs a month"):
        FuzzyDate(year=2025, day=3)


def test_contains_spans_the_whole_period():
    july = FuzzyDate.parse("2025-07")

    assert july.contains(dt.date(2025, 7, 31))
    assert not july.contains(dt.date(2025, 8, 1))


def test_ordering_puts_narrower_periods_first_on_the_same_start():
    ordered = [FuzzyDate.parse(t) for t in ("2025-01-01", "2025-01", "2025", "2025-01-02")]

    assert ["2025-01-01", "2025-01", "2025", "2025-01-02"] == [str(d) for d in sorted(ordered)]


@given(fuzzy_dates())
def test_str_round_trips(date):
    assert date == FuzzyDate.parse(str(date))


@given(fuzzy_dates(), fuzzy_dates())
def test_ordering_is_total_and_consistent_with_equality(a, b):
    assert (a < b) + (a == b) + (a > b) == 1
    assert (a == b) == ((a.earliest, a.latest) == (b.earliest, b.latest))
    assert (a <= b) == (not a > b)


@given(fuzzy_dates(), fuzzy_dates(), fuzzy_dates())
def test_ordering_is_transitive(a, b, c):
    if a <= b and b <= c:
        assert a <= c


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)))
def test_as_of_date_of_a_day_is_that_day(day):
    assert day == as_of_date(day)


def test_as_of_date_means_the_last_day_of_a_fuzzy_date():
    assert pendulum.Date(2025, 7, 31) == as_of_date("2025-07")


def test_as_of_date_refuses_a_datetime():
    with pytest.raises(ValidationError, match="known_at"):
        as_of_date(dt.datetime(2025, 7, 1, tzinfo=dt.UTC))


def test_comparing_with_a_plain_date_is_a_type_error():
    with pytest.raises(TypeError):
        _ = FuzzyDate.parse("2025") < dt.date(2025, 1, 1)
