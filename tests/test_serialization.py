import datetime as dt
import json
import uuid

import attrs
import cattrs
import pendulum
import pytest
from hypothesis import given

import policytracker as pt
from policytracker._serialization import format_timestamp, parse_timestamp
from policytracker.testing import events


def _dates_of(obj):
    """Every date-like value inside an event, with the path to it."""
    if isinstance(obj, pt.FuzzyDate):
        yield obj
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _dates_of(item)
    elif attrs.has(type(obj)):
        for field in attrs.fields(type(obj)):
            yield from _dates_of(getattr(obj, field.name))


@given(events())
def test_decode_inverts_encode(event):
    decoded = pt.event_from_json(pt.event_to_json(event))

    assert event == decoded
    assert type(event) is type(decoded)


@given(events())
def test_dates_keep_their_types_through_a_round_trip(event):
    decoded = pt.event_from_json(pt.event_to_json(event))

    for date in _dates_of(decoded):
        assert type(date) is pt.FuzzyDate
        assert type(date.earliest) is pendulum.Date
        assert type(date.latest) is pendulum.Date


@given(events())
def test_corrections_round_trip_with_their_replacement(event):
    correction = pt.EventCorrected(occurred="2025", target=uuid.uuid4(), replacement=event)

    assert correction == pt.event_from_dict(pt.event_to_dict(correction))


@given(events())
def test_canonical_json_is_sorted_and_compact(event):
    text = pt.event_to_json(event)

    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_canonical_form_of_a_purchase():
    event = pt.ReservePurchase(
        occurred="2025-06", country="SV", amount="7.0", sources=(pt.Source(publisher="Cryptonews"),)
    )

    expected = (
        f'{{"amount":"7","country":"SV","event_id":"{event.event_id}","occurred":"2025-06",'
        '"sources":[{"publisher":"Cryptonews"}],"type":"reserve.purchase","version":1}'
    )
    assert expected == pt.event_to_json(event)


def test_an_explicit_id_survives_a_round_trip_and_stays_explicit():
    explicit = uuid.UUID("00000000-0000-4000-8000-000000000001")
    event = pt.ReservePurchase(occurred="2025", country="SV", amount=7, event_id=explicit)

    decoded = pt.event_from_json(pt.event_to_json(event))

    assert explicit == decoded.event_id
    assert explicit == attrs.evolve(decoded, amount=8).event_id


def test_a_derived_id_read_back_is_re_derived_by_evolve():
    decoded = pt.event_from_json(
        pt.event_to_json(pt.ReservePurchase(occurred="2025", country="SV", amount=7))
    )

    assert pt.ReservePurchase(occurred="2025", country="SV", amount=8).event_id == (
        attrs.evolve(decoded, amount=8).event_id
    )


def _purchase_dict(**changes):
    obj = {"type": "reserve.purchase", "version": 1, "occurred": "2025", "country": "SV", "amount": "7"}
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": 7}, "'amount'"),
        ({"amount": "7e3"}, "'amount'"),
        ({"country": "XX"}, "country"),
        ({"country": 1}, "'country'"),
        ({"occurred": "July 2025"}, "July 2025"),
        ({"extra": 1}, "extra"),
        ({"type": "reserve.nope"}, "'reserve.nope'"),
        ({"version": 2}, "schema version 2, newer"),
        ({"version": "1"}, "version"),
        ({"event_id": "nope"}, "event_id"),
        ({"sources": "Cryptonews"}, "'sources'"),
        ({"sources": [{"publisher": "x", "colour": "red"}]}, "colour"),
    ],
)
def test_bad_records_are_serialization_errors_naming_what_and_where(changes, message):
    with pytest.raises(pt.SerializationError) as info:
        pt.event_from_dict(_purchase_dict(**changes), line=7)

    assert message in str(info.value)
    assert str(info.value).startswith("line 7: ")
    assert 7 == info.value.line


def test_a_missing_field_is_named():
    obj = _purchase_dict()
    del obj["occurred"]

    with pytest.raises(pt.SerializationError, match="'occurred': required field missing"):
        pt.event_from_dict(obj)


def test_strings_are_not_coerced_to_booleans():
    obj = {"type": "crypto_ban.changed", "version": 1, "occurred": "2025", "country": "CN", "scope": "mining"}

    with pytest.raises(pt.SerializationError, match="'banned'"):
        pt.event_from_dict({**obj, "banned": "false"})


def test_malformed_json_names_the_position():
    with pytest.raises(pt.SerializationError, match="position 12: malformed JSON") as info:
        pt.event_from_json('{"type":', position=12)

    assert 12 == info.value.position


def test_a_non_object_is_refused():
    with pytest.raises(pt.SerializationError, match="expected an event object"):
        pt.event_from_json("[1, 2]")


def test_old_versions_are_upcast_in_memory():
    @pt.event_type(
        "test.grant_awarded",
        version=3,
        upcasters={
            1: lambda f: {"amount": f.pop("sum"), **f},
            2: lambda f: {**f, "currency": "USD"},
        },
    )
    @attrs.frozen(kw_only=True)
    class GrantAwarded(pt.CountryEvent):
        amount: str
        currency: str

    stored = {"type": "test.grant_awarded", "version": 1, "occurred": "2025", "country": "PK", "sum": "5"}

    event = pt.event_from_dict(stored)

    assert ("5", "USD") == (event.amount, event.currency)
    assert 1 == stored["version"]  # the stored record is never rewritten


def test_an_unreachable_old_version_is_reported():
    @pt.event_type("test.grant_v2", version=2, upcasters={})
    @attrs.frozen(kw_only=True)
    class GrantV2(pt.CountryEvent):
        pass

    with pytest.raises(pt.SerializationError, match="no upcaster from schema version 1"):
        pt.event_from_dict({"type": "test.grant_v2", "version": 1, "occurred": "2025", "country": "PK"})


def test_a_failing_upcaster_is_wrapped():
    def broken(fields):
        raise KeyError("sum")

    @pt.event_type("test.grant_broken", version=2, upcasters={1: broken})
    @attrs.frozen(kw_only=True)
    class GrantBroken(pt.CountryEvent):
        pass

    with pytest.raises(pt.SerializationError, match="upcaster from version 1 failed"):
        pt.event_from_dict({"type": "test.grant_broken", "version": 1, "occurred": "2025", "country": "PK"})


def test_make_converter_builds_a_fresh_private_converter():
    converter = pt.make_converter()

    assert converter is not cattrs.global_converter
    assert converter is not pt.make_converter()
    with pytest.raises(cattrs.BaseValidationError):
        cattrs.global_converter.structure("2025", pt.FuzzyDate)


def test_the_converter_keeps_pendulum_types():
    converter = pt.make_converter()
    moment = pendulum.datetime(2025, 7, 17, 9, 30, 0, 123456)

    assert pendulum.Date(2025, 7, 17) == converter.structure("2025-07-17", pendulum.Date)
    assert type(converter.structure("2025-07-17", pendulum.Date)) is pendulum.Date
    assert moment == converter.structure(converter.unstructure(moment), pendulum.DateTime)
    assert type(converter.structure(converter.unstructure(moment), pendulum.DateTime)) is pendulum.DateTime


def test_the_converter_structures_events_by_tag():
    converter = pt.make_converter()
    event = pt.ReservePurchase(occurred="2025", country="SV", amount=7)

    assert event == converter.structure(converter.unstructure(event), pt.Event)
    with pytest.raises(pt.SerializationError, match="expected a ReserveSale"):
        converter.structure(converter.unstructure(event), pt.ReserveSale)


def test_timestamps_are_utc_with_microseconds_and_z():
    moment = dt.datetime(2025, 7, 17, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    assert "2025-07-17T09:30:00.000000Z" == format_timestamp(moment)
    assert moment == parse_timestamp("2025-07-17T09:30:00.000000Z")


@pytest.mark.parametrize("text", ["2025-07-17T09:30:00Z", "2025-07-17T09:30:00.000000+00:00", "2025-07-17"])
def test_only_the_canonical_timestamp_form_is_read(text):
    with pytest.raises(ValueError, match="UTC timestamp"):
        parse_timestamp(text)


def test_naive_datetimes_cannot_be_formatted():
    with pytest.raises(ValueError, match="naive"):
        format_timestamp(dt.datetime(2025, 7, 17))


def test_a_source_without_a_publisher_is_a_serialization_error_naming_the_field():
    obj = pt.event_to_dict(pt.ReservePurchase(country="SV", amount="7", occurred="2025"))
    obj["sources"] = [{"url": "https://example.org"}]

    with pytest.raises(pt.SerializationError, match=r"'sources'.*publisher.*missing"):
        pt.event_from_dict(obj, line=3)


@pytest.mark.parametrize("tag", [[], {}, 1, None])
def test_a_type_tag_that_is_not_a_string_is_a_serialization_error(tag):
    obj = pt.event_to_dict(pt.ReservePurchase(country="SV", amount="7", occurred="2025"))
    obj["type"] = tag

    with pytest.raises(pt.SerializationError, match="'type' tag"):
        pt.event_from_dict(obj)


def test_changing_what_event_to_dict_returns_changes_no_other_event():
    source = pt.Source(publisher="Reuters", title="Wire")
    event = pt.ReservePurchase(occurred="2025", country="SV", amount=1, sources=(source,))
    before = pt.event_to_json(event)

    given = pt.event_to_dict(event)
    given["sources"][0]["publisher"] = "Tampered"
    given["sources"].append({"publisher": "Added"})
    unstructured = pt.make_converter().unstructure(event)
    unstructured["sources"][0]["title"] = "Tampered too"

    again = pt.ReservePurchase(occurred="2025", country="SV", amount=1, sources=(source,))
    assert again.event_id == event.event_id
    assert pt.event_to_json(again) == pt.event_to_json(event) == before


@attrs.frozen
class _Tally:
    labels: tuple[str, ...]


@pt.event_type("test.tallied")
@attrs.frozen(kw_only=True)
class _Tallied(pt.CountryEvent):
    tally: _Tally


def test_changing_a_nested_value_from_event_to_dict_changes_no_other_event():
    event = _Tallied(occurred="2025", country="SV", tally=_Tally(labels=("a", "b")))
    before = pt.event_to_json(event)

    pt.event_to_dict(event)["tally"]["labels"].append("c")

    assert pt.event_to_json(event) == before
    assert _Tallied(occurred="2025", country="SV", tally=_Tally(labels=("a", "b"))).event_id == event.event_id
