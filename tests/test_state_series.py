"""``state_series``: a country's state on many dates, in one pass, equal to one ``country_state`` each."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import fuzzy_dates, histories

COUNTRIES = ["PK", "SV", "RU"]
DATES = st.one_of(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)),
    fuzzy_dates(),
    fuzzy_dates().map(str),
)


def recorded_log(history):
    log = pt.open_log(":memory:")
    for event in history:  # one append each: known_at can cut between any two of them
        log.append([event])
    return log


@given(histories(max_size=30, countries=COUNTRIES), st.lists(DATES, max_size=8), st.sampled_from(COUNTRIES))
def test_each_state_equals_country_state_as_of_that_date(history, dates, country):
    log = recorded_log(history)

    series = pt.state_series(log, country, dates)

    assert list(dict.fromkeys(dates)) == list(series)
    for date in dates:
        assert pt.country_state(log, country, as_of=date) == series[date]


@given(histories(min_size=1, max_size=20, countries=COUNTRIES), st.lists(DATES, max_size=5), st.data())
def test_known_at_applies_to_every_date(history, dates, data):
    log = recorded_log(history)
    records = list(log.read())
    moment = data.draw(st.sampled_from(records)).recorded_at

    series = pt.state_series(log, "SV", dates, known_at=moment)

    for date in dates:
        assert pt.country_state(log, "SV", as_of=date, known_at=moment) == series[date]


def test_a_year_dated_fact_counts_only_from_the_end_of_its_year():
    log = pt.open_log(":memory:")
    source = pt.Source(publisher="Example", title="Example")
    log.append(
        [
            pt.MiningPowerAllocated(country="PK", occurred="2025", megawatts=2000, sources=[source]),
            pt.MiningPowerAllocated(country="PK", occurred="2025-05-28", megawatts=10, sources=[source]),
        ]
    )

    series = pt.state_series(log, "pk", ["2025-06-30", dt.date(2025, 12, 31), "2024"])

    assert ["2025-06-30", dt.date(2025, 12, 31), "2024"] == list(series)
    assert [10, 2010, 0] == [state.mining_megawatts for state in series.values()]
    assert {"PK"} == {state.country for state in series.values()}


def test_no_dates_give_an_empty_mapping():
    assert {} == pt.state_series(pt.open_log(":memory:"), "SV", [])


def test_a_bad_date_is_named_by_its_place():
    with pytest.raises(pt.ValidationError, match=r"dates\[1\]: expected a date"):
        pt.state_series(pt.open_log(":memory:"), "SV", ["2025-01", 2025])


def test_an_unknown_country_is_refused():
    with pytest.raises(pt.ValidationError, match="ZZ"):
        pt.state_series(pt.open_log(":memory:"), "ZZ", ["2025"])


def test_a_single_date_is_refused_with_a_hint():
    with pytest.raises(pt.ValidationError, match="wrap it in a list"):
        pt.state_series(pt.open_log(":memory:"), "SV", "2025")


def test_a_known_at_string_without_a_zone_is_named_as_given():
    with pytest.raises(pt.ValidationError, match="'2025-01-01' has no time zone"):
        pt.state_series(pt.open_log(":memory:"), "SV", ["2025"], known_at="2025-01-01")
