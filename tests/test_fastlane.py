"""The fast lanes decode exactly as the general decoder does, or step aside for it."""

import copy
import json
import pickle
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker import _events
from policytracker._fastlane import fast_lane, stored_uuid
from policytracker._serialization import _EventStructurer, _source
from policytracker.testing import events

GENERAL = _EventStructurer(lanes=False)
LANE_CLASSES = [
    cls
    for cls in pt.registered_event_types().values()
    if cls.__module__ == _events.__name__ and cls not in (pt.VisitPlanned, pt.EventCorrected)
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["0", "7.00", "-1", "BTC"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _general(obj):
    """The general decoder's answer: ("ok", event) or ("error", message)."""
    try:
        return "ok", GENERAL(obj)
    except pt.SerializationError as exc:
        return "error", str(exc)


def _public(obj):
    try:
        return "ok", pt.event_from_dict(obj)
    except pt.SerializationError as exc:
        return "error", str(exc)


def _same(left, right):
    assert left[0] == right[0]
    if left[0] == "ok":
        assert left[1] == right[1]
        assert type(left[1]) is type(right[1])
        assert left[1].event_id == right[1].event_id
    else:
        assert left[1] == right[1]


def test_every_built_in_class_but_two_has_a_lane():
    assert 18 == len(LANE_CLASSES)
    for cls in LANE_CLASSES:
        assert fast_lane(cls, _source) is not None, cls
    assert fast_lane(pt.VisitPlanned, _source) is None  # it checks host against country itself
    assert fast_lane(pt.EventCorrected, _source) is None  # it nests an event


@given(events())
def test_a_stored_event_takes_its_lane_and_decodes_as_the_general_path_does(event):
    obj = pt.event_to_dict(event)
    lane = fast_lane(type(event), _source)

    general = GENERAL(obj)
    if lane is not None:
        decoded = lane(obj)
        assert decoded is not None  # the stored form never needs the general path
        assert general == decoded
        assert general.event_id == decoded.event_id
        assert attrs.evolve(general, note="changed") == attrs.evolve(decoded, note="changed")
        assert attrs.evolve(general, note="x").event_id == attrs.evolve(decoded, note="x").event_id
    assert general == pt.event_from_dict(obj)


@given(events())
def test_a_read_back_event_evolves_like_the_event_it_was_written_from_after_pickling_or_copying(event):
    obj = pt.event_to_dict(event)
    lane = fast_lane(type(event), _source)
    decoded = [GENERAL(obj), pt.event_from_dict(obj)] + ([lane(obj)] if lane is not None else [])
    expected = attrs.evolve(event, note="changed").event_id  # re-derived, unless the id was given

    for event_read in decoded:
        for twin in (event_read, pickle.loads(pickle.dumps(event_read)), copy.copy(event_read)):
            assert expected == attrs.evolve(twin, note="changed").event_id
            assert event == twin
        assert expected == attrs.evolve(copy.deepcopy(event_read), note="changed").event_id
        assert event.event_id == event_read.event_id  # reading the id never changes it


@given(events(), st.data())
def test_a_damaged_field_gives_the_same_event_or_the_same_error(event, data):
    obj = pt.event_to_dict(event)
    key = data.draw(st.sampled_from(sorted(obj)), label="key")
    obj[key] = data.draw(json_values, label="value")

    _same(_general(obj), _public(obj))


@given(events(), st.data())
def test_a_missing_or_extra_key_gives_the_same_event_or_the_same_error(event, data):
    obj = pt.event_to_dict(event)
    if data.draw(st.booleans(), label="remove"):
        del obj[data.draw(st.sampled_from(sorted(obj)), label="key")]
    else:
        obj[data.draw(st.text(min_size=1, max_size=6), label="extra key")] = data.draw(json_values)

    _same(_general(obj), _public(obj))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "7.00"),  # not canonical: the converter makes it 7
        ("amount", "0"),  # refused for a purchase
        ("amount", "-1"),
        ("amount", 7),
        ("amount", "1" * 60),
        ("amount", "1" * 61),  # more than 60 digits: refused
        ("amount", "1" * 30 + "." + "1" * 30),
        ("amount", "1" * 31 + "." + "1" * 30),
        ("amount", "0.000"),
        ("country", "sv"),  # normalised to SV
        ("country", "XX"),
        ("asset", "btc"),
        ("occurred", "2025-02-30"),
        ("note", "\ud800"),
        ("event_id", "{12345678-1234-5678-1234-567812345678}"),
        ("event_id", "not a uuid"),
        ("event_id", "12345678123456781234567812345678"),  # no hyphens: still a UUID
        ("event_id", "urn:uuid:12345678-1234-5678-1234-567812345678"),
        ("event_id", "12345678-1234-5678-1234-56781234567X"),
        ("event_id", "+2345678-1234-5678-1234-567812345678"),
        ("event_id", "1_345678-1234-5678-1234-567812345678"),
        ("event_id", "12345678-1234-5678-1234-5678123456789"),
        ("event_id", "12345678-1234-5678-1234-56781234567"),
        ("event_id", "ABCDEF78-1234-5678-1234-567812345678"),
        ("sources", [{"publisher": ""}]),
        ("sources", [{"publisher": "X", "extra": "y"}]),
        ("sources", "X"),
    ],
)
def test_unusual_values_in_a_purchase_decode_as_the_general_path_decodes_them(field, value):
    event = pt.ReservePurchase(country="SV", amount="7", occurred="2025-07", sources=pt.Source(publisher="X"))
    obj = pt.event_to_dict(event)
    obj[field] = value

    _same(_general(obj), _public(obj))


def test_a_lane_steps_aside_for_anything_unusual():
    event = pt.ReservePurchase(country="SV", amount="7", occurred="2025-07")
    obj = pt.event_to_dict(event)
    lane = fast_lane(pt.ReservePurchase, _source)

    assert lane({**obj, "extra": 1}) is None
    assert lane({key: value for key, value in obj.items() if key != "event_id"}) is None
    assert lane({**obj, "country": "XX"}) is None
    assert lane({**obj, "amount": "-7"}) is None
    assert lane(obj) == event
    assert event == lane({**obj, "amount": "7.00"})  # converted as the general path converts it


def test_users_own_classes_have_no_lane():
    @pt.event_type("test.fastlane.custom")
    @attrs.frozen(kw_only=True)
    class Custom(pt.CountryEvent):
        level: int = attrs.field(validator=attrs.validators.gt(3))

    assert fast_lane(Custom, _source) is None
    stored = json.loads(pt.event_to_json(Custom(country="PK", occurred="2025", level=4)))
    stored["level"] = 2
    with pytest.raises(pt.SerializationError, match=r"test\.fastlane\.custom.*level"):
        pt.event_from_dict(stored)  # a user's validator raising ValueError still gives a clear error


@given(st.text(alphabet="0123456789abcdefABCDEF-+_ {}:urnid", min_size=30, max_size=45))
def test_event_ids_read_by_a_lane_are_read_as_uuid_does(text):
    try:
        expected = ("ok", uuid.UUID(text))
    except ValueError:
        expected = ("error", None)
    lane_result = stored_uuid(text)

    if lane_result is not None:
        assert expected == ("ok", lane_result)
        assert expected[1].is_safe == lane_result.is_safe


def test_a_stored_id_that_is_not_the_derived_one_survives_evolve_through_the_lane():
    explicit = uuid.UUID(int=7)
    event = pt.ReserveSale(country="SV", amount="1", occurred="2025", event_id=explicit)
    decoded = pt.event_from_json(pt.event_to_json(event))

    assert explicit == decoded.event_id
    assert explicit == attrs.evolve(decoded, amount="2").event_id
