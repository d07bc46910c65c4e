"""The testing kit: strategies check arguments early; the laws pass sound projections, catch unsound ones."""

import datetime as dt
import itertools
import random
import subprocess
import sys

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker.testing import (
    LAWS,
    check_projection_laws,
    country_codes,
    events,
    fuzzy_dates,
    histories,
)

# -- the built-in projection obeys every law ------------------------------------------------------------


def test_the_built_in_country_projection_obeys_every_law():
    check_projection_laws(pt.COUNTRY_STATES, max_examples=60)


# -- sound and unsound user projections -----------------------------------------------------------------

COUNT = pt.Projection(name="count", initial=0, apply=lambda n, event: n + 1)


def test_a_sound_projection_passes():
    check_projection_laws(COUNT, max_examples=30)


def _counter_projection():
    calls = itertools.count()
    return pt.Projection(name="hidden counter", initial=0, apply=lambda n, event: next(calls))


def _random_projection():
    return pt.Projection(name="random", initial=0.0, apply=lambda x, event: x + random.random())


def _mutating_projection():
    def apply(seen, event):
        seen.append(event.event_id)  # mutates the state it was given, including the shared initial one
        return seen

    return pt.Projection(name="in-place", initial=[], apply=apply)


def _order_dependent_projection():
    return pt.Projection(name="first wins", initial=None, apply=lambda first, event: first or event.event_id)


@pytest.mark.parametrize(
    ("make", "law"),
    [
        (_counter_projection, "deterministic"),
        (_random_projection, "deterministic"),
        (_mutating_projection, "deterministic"),
    ],
)
def test_impure_projections_fail_naming_the_law(make, law):
    with pytest.raises(pt.ProjectionLawError) as info:
        check_projection_laws(make(), max_examples=50)

    assert law == info.value.law
    assert f"breaks the law {law!r}" in str(info.value)
    assert "shrunk counter-example" in str(info.value)


def test_a_failure_shows_a_small_shrunk_example():
    with pytest.raises(pt.ProjectionLawError) as info:
        check_projection_laws(_counter_projection(), max_examples=50)

    assert 1 == len(info.value.example)
    assert isinstance(info.value, AssertionError)


def test_two_step_fold_catches_a_projection_that_cannot_be_resumed():
    resumable = pt.Projection(
        name="count until reset",
        initial=0,
        apply=lambda n, e: n + 1,
        fold_many=lambda n, events: sum(1 for _ in events),  # forgets the state it starts from
    )

    with pytest.raises(pt.ProjectionLawError, match="two-step fold"):
        check_projection_laws(resumable, laws=["two-step fold"], max_examples=50)


def test_an_order_dependent_projection_of_sorted_events_still_passes_append_order():
    # The valid-time order makes "first" well defined: such a projection is sound.
    check_projection_laws(_order_dependent_projection(), laws=["append order"], max_examples=30)


def test_unknown_laws_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="unknown laws"):
        check_projection_laws(COUNT, laws=["purity"])
    with pytest.raises(ValueError, match="max_examples"):
        check_projection_laws(COUNT, max_examples=0)


def test_the_laws_are_named():
    assert [
        "deterministic",
        "append order",
        "two-step fold",
        "serialisation round trip",
        "retraction equals absence",
        "projector equals replay",
    ] == list(LAWS)


# -- strategies --------------------------------------------------------------------------------------------


@given(histories(max_size=12, countries=["PK", "SV"]))
def test_histories_point_retractions_and_corrections_at_earlier_events(history):
    seen = set()
    for event in history:
        if isinstance(event, pt.EventRetracted | pt.EventCorrected):
            assert event.target in seen
        seen.add(event.event_id)


@given(histories(min_size=3, max_size=3, countries=["PK"]))
def test_histories_respect_sizes_and_countries(history):
    assert 3 == len(history)
    assert {"PK"} >= {code for event in history for code in event.countries}


@given(fuzzy_dates(min_value=dt.date(2025, 7, 1), max_value=dt.date(2025, 7, 31)))
def test_fuzzy_dates_stay_within_their_bounds(date):
    assert dt.date(2025, 7, 1) <= date.earliest
    assert date.latest <= dt.date(2025, 7, 31)


@given(country_codes(countries=["pk", "sv"]))
def test_country_codes_normalise_the_given_codes(code):
    assert code in {"PK", "SV"}


@given(events(types=[pt.ReservePurchase], countries=["SV"]))
def test_events_can_be_limited_to_types_and_countries(event):
    assert isinstance(event, pt.ReservePurchase)
    assert "SV" == event.country


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: histories(min_size=3, max_size=2), "min_size"),
        (lambda: histories(max_size=-1), "max_size"),
        (lambda: histories(countries=["XX"]), "'XX'"),
        (lambda: country_codes(countries="PK"), "string"),
        (lambda: fuzzy_dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2025, 1, 1)), "after"),
        (lambda: fuzzy_dates(min_value=dt.datetime(2025, 1, 1)), "min_value"),
        (lambda: events(types=[]), "empty"),
        (lambda: events(types=[pt.EventRetracted]), "histories"),
        (lambda: events(types=[pt.PartnershipFormed], countries=["PK"]), "no strategy"),
    ],
)
def test_strategies_check_their_arguments_when_built(make, message):
    with pytest.raises(pt.ValidationError, match=message):
        make()


def test_using_the_kit_without_hypothesis_names_the_extra():
    script = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "try:\n    from policytracker.testing import events\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout

    assert "pip install 'policytracker[testing]'" in output


# -- your own event types ------------------------------------------------------------------------------------


@pt.event_type("test.kit_sanctions_evaded")
@attrs.frozen(kw_only=True)
class _SanctionsEvaded(pt.CountryEvent):
    method: str


_EVADED = st.builds(
    _SanctionsEvaded,
    occurred=fuzzy_dates(),
    country=st.sampled_from(["RU", "IR"]),
    method=st.sampled_from(["p2p"]),
)


@given(events(types=[_SanctionsEvaded], custom={_SanctionsEvaded: _EVADED}))
def test_events_draw_your_own_types_from_your_strategies(event):
    assert isinstance(event, _SanctionsEvaded)


@given(histories(min_size=30, max_size=30, countries=["PK"], custom={_SanctionsEvaded: _EVADED}))
def test_histories_mix_in_your_own_types(history):
    for event in history:
        if isinstance(event, _SanctionsEvaded):
            assert event.country in {"RU", "IR"}  # your strategy chose these
            assert "p2p" == event.method
        elif not isinstance(event, pt.EventRetracted | pt.EventCorrected):
            assert {"PK"} == set(event.countries)  # the built-in types keep to the countries given


def test_your_own_types_do_appear_in_histories():
    from hypothesis import Phase, find, settings

    found = find(
        histories(min_size=5, max_size=10, custom={_SanctionsEvaded: _EVADED}),
        lambda history: any(isinstance(event, _SanctionsEvaded) for event in history),
        settings=settings(phases=[Phase.generate], max_examples=500, database=None),
    )

    assert any(isinstance(event, _SanctionsEvaded) for event in found)


def test_a_projection_of_your_own_types_passes_the_laws():
    evasions = pt.Projection(
        name="evasions",
        initial=frozenset(),
        apply=lambda seen, e: seen | {e.country} if isinstance(e, _SanctionsEvaded) else seen,
    )

    check_projection_laws(
        evasions, max_examples=25, histories=histories(max_size=10, custom={_SanctionsEvaded: _EVADED})
    )


@pytest.mark.parametrize(
    "custom",
    [{str: _EVADED}, {_SanctionsEvaded: "not a strategy"}, {pt.EventRetracted: _EVADED}, ["x"]],
)
def test_bad_custom_strategies_are_refused_when_built(custom):
    with pytest.raises(pt.ValidationError, match=r"custom|strategy|target"):
        events(custom=custom)


def test_events_draw_keys_too_both_plain_and_awkward():
    from hypothesis import Phase, find, settings

    options = settings(phases=[Phase.generate], max_examples=500, database=None)
    keyed = find(events(), lambda event: event.key != "", settings=options)
    awkward = find(events(), lambda event: any(mark in event.key for mark in ",;'\"é"), settings=options)

    assert keyed.key == keyed.key.strip()
    assert "\n" not in keyed.key
    assert any(mark in awkward.key for mark in ",;'\"é")


@given(histories(min_size=5, max_size=15))
def test_keyed_events_of_a_history_round_trip_through_the_log(history):
    log = pt.open_log(":memory:")
    log.append(history)

    assert [record.event.key for record in log.read()] == [event.key for event in dict.fromkeys(history)]
