"""Installing the testing extra registers strategies with Hypothesis: st.from_type draws valid events."""

import attrs
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import policytracker as pt


@given(st.from_type(pt.ReservePurchase))
def test_from_type_draws_valid_events_of_a_built_in_type(event):
    assert isinstance(event, pt.ReservePurchase)
    assert event == pt.event_from_json(pt.event_to_json(event))


@given(st.from_type(pt.Event))
def test_from_type_of_the_base_class_draws_events(event):
    assert isinstance(event, pt.Event)


@given(st.from_type(pt.CountryEvent))
def test_from_type_of_country_events_draws_only_country_events(event):
    assert isinstance(event, pt.CountryEvent)
    assert 1 <= len(event.countries)


@given(st.from_type(pt.FuzzyDate), st.from_type(pt.Source))
def test_the_field_types_have_strategies_too(date, source):
    assert date == pt.FuzzyDate.parse(str(date))
    assert source.publisher.strip()


@pt.event_type("test.types_funds_seized")
@attrs.frozen(kw_only=True)
class _FundsSeized(pt.CountryEvent):
    agency: str


@pt.event_type("test.types_mined")
@attrs.frozen(kw_only=True)
class _Mined(pt.CountryEvent):
    pool: str


st.register_type_strategy(
    _Mined, st.builds(_Mined, occurred=st.just("2025"), country=st.just("SV"), pool=st.just("x"))
)

_FIND = settings(phases=[Phase.generate], max_examples=2000, database=None)


@pytest.mark.parametrize("cls", [pt.VisitPlanned, pt.EventCorrected, pt.EventRetracted, _FundsSeized])
def test_from_type_of_the_base_class_reaches_every_registered_type(cls):
    found = find(st.from_type(pt.Event), lambda event: isinstance(event, cls), settings=_FIND)

    assert cls is type(found)


def test_your_own_type_is_drawn_from_the_strategy_you_registered():
    found = find(st.from_type(pt.CountryEvent), lambda event: isinstance(event, _Mined), settings=_FIND)

    assert ("SV", "x") == (found.country, found.pool)


@given(st.builds(pt.ReservePurchase))
def test_builds_infers_valid_fields(event):
    # builds() calls the class with what it drew: an invalid country or amount would raise here
    assert event.amount > 0
    assert event.country == pt.ReservePurchase(occurred="2025", country=event.country, amount=1).country
    assert event == pt.event_from_json(pt.event_to_json(event))


@pytest.mark.parametrize(
    "cls", [pt.ReserveSale, pt.HoldingsReported, pt.MiningPowerAllocated, pt.LegalTenderAdopted]
)
def test_builds_infers_valid_fields_of_the_classes_of_codes_amounts_and_dates(cls):
    found = find(st.builds(cls), lambda event: True, settings=_FIND)

    assert type(found) is cls
