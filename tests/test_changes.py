"""``changes``: what the log learned between two moments of record time, and the state then beside now."""

import datetime as dt

import pytest

import policytracker as pt
from tests.log_contract import StepClock

JULY_18 = dt.datetime(2025, 7, 18, tzinfo=dt.UTC)
AUGUST_1 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
AUGUST_15 = dt.datetime(2025, 8, 15, tzinfo=dt.UTC)

BOUGHT = pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)
REPORTED = pt.HoldingsReported(occurred="2025-07-17", country="SV", amount=6238)
PARTNERS = pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV"))
FIXED = pt.ReservePurchase(occurred="2025-06", country="SV", amount=8)
CORRECTION = pt.EventCorrected(occurred="2025-08", target=BOUGHT.event_id, replacement=FIXED)
RETRACTION = pt.EventRetracted(occurred="2025-08", target=REPORTED.event_id, reason="misread")
REFUSAL = pt.IMFRefusal(occurred="2025-08", country="PK", proposal="a subsidy")


@pytest.fixture
def log():
    """Recorded on 18 July: a purchase, a report, a partnership. On 1 August: a correction of the purchase
    and a retraction of the report. On 15 August: an IMF refusal for Pakistan."""
    log = pt.open_log(":memory:", clock=StepClock(JULY_18, AUGUST_1, AUGUST_15))
    log.append([BOUGHT, REPORTED, PARTNERS])
    log.append([CORRECTION, RETRACTION])
    log.append([REFUSAL])
    return log


def test_the_window_holds_the_records_after_since_up_to_until(log):
    result = pt.changes(log, since=JULY_18, until=AUGUST_1)

    assert [4, 5] == [record.position for record in result.recorded]
    assert (CORRECTION,) == tuple(r.event for r in result.corrections)
    assert (RETRACTION,) == tuple(r.event for r in result.retractions)
    assert () == result.added


def test_without_until_the_window_runs_to_the_last_record(log):
    result = pt.changes(log, since="2025-07-18T00:00:00Z")

    assert [4, 5, 6] == [record.position for record in result.recorded]
    assert (REFUSAL,) == tuple(r.event for r in result.added)
    assert result.until is None


def test_the_targets_of_amendments_are_found_however_old(log):
    result = pt.changes(log, since=JULY_18)

    assert {BOUGHT.event_id: BOUGHT, REPORTED.event_id: REPORTED} == dict(result.targets)


def test_before_and_after_are_the_states_known_then_and_now(log):
    result = pt.changes(log, since=JULY_18)

    assert ("PK", "SV") == result.countries
    for code in result.countries:
        assert pt.country_state(log, code, known_at=JULY_18) == result.before[code]
        assert pt.country_state(log, code) == result.after[code]
    assert 6238 == result.before["SV"].holdings["BTC"]
    assert 8 == result.after["SV"].holdings["BTC"]
    assert ("PK", "SV") == result.changed


def test_a_retraction_touches_the_countries_of_what_it_retracts():
    log = pt.open_log(":memory:", clock=StepClock(JULY_18, AUGUST_1))
    log.append([PARTNERS])
    log.append([pt.EventRetracted(occurred="2025-08", target=PARTNERS.event_id)])

    result = pt.changes(log, since=JULY_18)

    assert ("PK", "SV") == result.changed
    assert frozenset({"SV"}) == result.before["PK"].partners
    assert frozenset() == result.after["PK"].partners


def test_retracting_a_correction_touches_the_original_and_the_replacement():
    moved = pt.ReservePurchase(occurred="2025-06", country="PK", amount=7)
    correction = pt.EventCorrected(occurred="2025-08", target=BOUGHT.event_id, replacement=moved)
    log = pt.open_log(":memory:", clock=StepClock(JULY_18, AUGUST_1, AUGUST_15))
    log.append([BOUGHT])
    log.append([correction])
    log.append([pt.EventRetracted(occurred="2025-08", target=correction.event_id)])

    result = pt.changes(log, since=AUGUST_1)

    assert ("PK", "SV") == result.countries
    assert correction == result.targets[correction.event_id]
    assert 7 == result.after["SV"].holdings["BTC"]
    assert not result.before["SV"].holdings


def test_as_of_fixes_the_valid_time_of_both_states(log):
    result = pt.changes(log, since=JULY_18, as_of="2025-06")

    assert 7 == result.before["SV"].holdings["BTC"]
    assert 8 == result.after["SV"].holdings["BTC"]


def test_nothing_recorded_in_the_window_is_an_empty_result(log):
    result = pt.changes(log, since=AUGUST_15)

    assert () == result.recorded
    assert () == result.countries
    assert () == result.changed


def test_until_before_since_is_refused(log):
    with pytest.raises(pt.ValidationError, match=r"until: .* is before since"):
        pt.changes(log, since=AUGUST_1, until=JULY_18)


@pytest.mark.parametrize(
    ("since", "fragment"),
    [
        (dt.datetime(2025, 7, 18), "since: .* is naive"),
        ("2025-07-18", "since: .* has no time zone|since: .*naive"),
        (dt.date(2025, 7, 18), "since: expected a timezone-aware datetime"),
    ],
)
def test_since_must_be_a_moment_with_a_time_zone(log, since, fragment):
    with pytest.raises(pt.ValidationError, match=fragment):
        pt.changes(log, since=since)


def test_the_result_shows_as_an_html_table_with_the_changed_cells_marked(log):
    page = pt.changes(log, since=JULY_18)._repr_html_()

    assert "1 new fact, 1 retraction, 1 correction; 2 countries touched, 2 changed" in page
    assert "<mark>6,238 BTC (report of 2025-07-17)</mark>" in page
    assert "<mark>8 BTC net, no holdings report</mark>" in page
    assert "misread" in page
    assert "2025-07-18 00:00:00 UTC" in page
