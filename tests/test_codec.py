"""The codec: one generated encoder, decoder and index per event class, as strict as the classes."""

import copy
import json
import linecache
import pickle
import traceback
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker._canonical import canonical_json
from policytracker._codec import codec_for, encode_event, event_text, event_text_and_id, index_event
from policytracker.testing import events

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["0", "7.00", "-1", "BTC", "sv", "2025-02-30", "2025"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
HEADER = ("type", "version", "event_id")


def _rebuilt(event):
    """The event its class's own __init__ makes from the decoded event's field values and id."""
    fields = {f.alias: getattr(event, f.name) for f in attrs.fields(type(event)) if f.init}
    return type(event)(**{**fields, "event_id": event.event_id})


def _decoded_or_refused(obj):
    try:
        return pt.event_from_dict(obj)
    except pt.SerializationError:
        return None


@given(events())
def test_an_event_decodes_to_itself_with_its_stored_id(event):
    decoded = pt.event_from_dict(pt.event_to_dict(event))

    assert event == decoded
    assert type(event) is type(decoded)
    assert event.event_id == decoded.event_id
    assert pt.event_to_json(event) == pt.event_to_json(decoded)


@given(events(), st.data())
def test_a_damaged_field_decodes_to_what_the_class_itself_accepts_or_is_refused(event, data):
    obj = pt.event_to_dict(event)
    key = data.draw(st.sampled_from(sorted(set(obj) - set(HEADER))), label="key")
    obj[key] = data.draw(json_values, label="value")

    decoded = _decoded_or_refused(obj)
    if decoded is not None:  # every converter and validator passed: __init__ agrees, value for value
        assert _rebuilt(decoded) == decoded
        assert obj[key] is None or type(obj[key]) in (str, bool, int, list, dict)


@given(events(), st.data())
def test_a_missing_or_extra_key_is_refused_unless_the_field_has_a_default(event, data):
    obj = pt.event_to_dict(event)
    if data.draw(st.booleans(), label="remove"):
        key = data.draw(st.sampled_from(sorted(set(obj) - {"type"})), label="key")
        del obj[key]
        decoded = _decoded_or_refused(obj)
        field = attrs.fields_dict(type(event)).get(key)
        if key == "event_id":
            assert event == decoded  # the id is derived again, as for an event file without ids
        elif field is not None and field.default is attrs.NOTHING:
            assert decoded is None
    else:
        extra = data.draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in obj), label="extra key")
        obj[extra] = data.draw(json_values)
        with pytest.raises(pt.SerializationError, match="extra fields") as raised:
            pt.event_from_dict(obj)
        # Only the extra one is named, not the type, version and id every stored event has.
        assert str(raised.value).endswith(f"extra fields found ({extra})")


@given(events())
def test_a_read_back_event_evolves_like_the_event_it_was_written_from_after_pickling_or_copying(event):
    event_read = pt.event_from_dict(pt.event_to_dict(event))
    expected = attrs.evolve(event, note="changed").event_id  # re-derived, unless the id was given

    for twin in (event_read, pickle.loads(pickle.dumps(event_read)), copy.copy(event_read)):
        assert expected == attrs.evolve(twin, note="changed").event_id
        assert event == twin
    assert expected == attrs.evolve(copy.deepcopy(event_read), note="changed").event_id
    assert event.event_id == event_read.event_id


def _made(event):
    """The event its class's own __init__ makes from *event*'s field values, its id derived."""
    return type(event)(**{f.alias: getattr(event, f.name) for f in attrs.fields(type(event)) if f.init})


@given(events())
def test_an_event_just_made_stores_the_same_text_as_one_read_back_copied_or_stored_before(event):
    made = _made(event)
    expected = canonical_json(encode_event(made))  # the event encoded afresh, field by field

    kept = getattr(made, "_id_text", None)  # the text its id was derived from, kept for its first store
    assert isinstance(kept, str) == codec_for(type(made)).unchanging
    assert event_text_and_id(made) == (expected, str(made.event_id))
    assert getattr(made, "_id_text", None) is None  # released once stored
    assert event_text(made) == expected
    for twin in (
        pt.event_from_json(expected),
        copy.copy(_made(event)),
        pickle.loads(pickle.dumps(_made(event))),
    ):
        assert not hasattr(twin, "_id_text")
        assert event_text(twin) == expected
        assert twin == made


def test_an_event_just_made_stores_its_own_classs_version():
    @pt.event_type("test.codec.versioned", version=3, upcasters={1: dict, 2: dict})
    @attrs.frozen(kw_only=True)
    class Versioned(pt.CountryEvent):
        level: int = 0

    made = Versioned(country="PK", occurred="2025", level=4)
    text = event_text(made)

    assert json.loads(text)["version"] == 3
    assert text == canonical_json(encode_event(made))


def test_a_stored_id_that_is_not_the_derived_one_survives_evolve():
    explicit = uuid.UUID(int=7)
    event = pt.ReserveSale(country="SV", amount="1", occurred="2025", event_id=explicit)
    decoded = pt.event_from_json(pt.event_to_json(event))

    assert explicit == decoded.event_id
    assert explicit == attrs.evolve(decoded, amount="2").event_id


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("amount", "7.00", "7"),  # converted as the class converts it
        ("country", "sv", "SV"),
        ("asset", "btc", "BTC"),
        ("event_id", "12345678123456781234567812345678", None),
        ("event_id", "urn:uuid:12345678-1234-5678-1234-567812345678", None),
    ],
)
def test_values_the_class_converts_decode_as_the_class_converts_them(field, value, expected):
    event = pt.ReservePurchase(country="SV", amount="7", occurred="2025-07", sources=pt.Source(publisher="X"))
    obj = {**pt.event_to_dict(event), field: value}

    decoded = pt.event_from_dict(obj)

    if expected is not None:
        assert expected == str(getattr(decoded, field))
    else:
        assert uuid.UUID(value) == decoded.event_id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "amount.*greater than zero"),
        ("amount", "-1", "amount"),
        ("amount", 7, "amount.*decimal number as a string"),
        ("amount", "1" * 61, "more than 60 digits"),
        ("country", "XX", "country"),
        ("occurred", "2025-02-30", "occurred"),
        ("note", "\ud800", "note.*surrogate"),
        ("note", 5, "note.*expected a string"),
        ("event_id", "not a uuid", "event_id"),
        ("sources", [{"publisher": ""}], "sources.*publisher"),
        ("sources", [{"publisher": "X", "extra": "y"}], "sources.*extra"),
        ("sources", "X", "sources.*list"),
        ("sources", ["X"], "sources.*Source object"),
    ],
)
def test_values_the_class_refuses_are_refused_naming_the_tag_and_the_field(field, value, message):
    event = pt.ReservePurchase(country="SV", amount="7", occurred="2025-07", sources=pt.Source(publisher="X"))
    obj = {**pt.event_to_dict(event), field: value}

    with pytest.raises(pt.SerializationError, match=rf"'reserve\.purchase'.*{message}") as info:
        pt.event_from_dict(obj, position=3)

    assert "reserve.purchase" == info.value.tag
    assert 3 == info.value.position


def test_a_users_own_class_is_decoded_through_its_own_validators_and_checks():
    @pt.event_type("test.codec.custom")
    @attrs.frozen(kw_only=True)
    class Custom(pt.CountryEvent):
        level: int = attrs.field(validator=attrs.validators.gt(3))

        def __attrs_post_init__(self):
            if self.level == 13:
                raise ValueError("level 13 is unlucky")
            super().__attrs_post_init__()

    stored = json.loads(pt.event_to_json(Custom(country="PK", occurred="2025", level=4)))
    assert Custom(country="PK", occurred="2025", level=4) == pt.event_from_dict(stored)

    with pytest.raises(pt.SerializationError, match=r"test\.codec\.custom.*level"):
        pt.event_from_dict({**stored, "level": 2})  # a user's validator raising ValueError
    with pytest.raises(pt.SerializationError, match=r"test\.codec\.custom.*unlucky"):
        pt.event_from_dict({**stored, "level": 13})  # the class's own check across fields


def test_a_class_with_a_factory_default_is_decoded_through_its_init():
    @pt.event_type("test.codec.factory")
    @attrs.frozen(kw_only=True)
    class WithFactory(pt.CountryEvent):
        tags: tuple[str, ...] = attrs.field(factory=tuple)

    event = WithFactory(country="PK", occurred="2025", tags=("a",))
    decoded = pt.event_from_json(pt.event_to_json(event))

    assert event == decoded
    assert event.event_id == decoded.event_id
    assert attrs.evolve(event, note="x").event_id == attrs.evolve(decoded, note="x").event_id


def test_a_refused_value_keeps_the_generated_line_and_the_users_validator_in_its_traceback():
    @pt.event_type("test.codec.chained")
    @attrs.frozen(kw_only=True)
    class Grant(pt.CountryEvent):
        amount: int = attrs.field()

        @amount.validator
        def _positive(self, attribute, value):
            if value <= 0:
                raise ValueError(f"grants must be positive, got {value}")

    stored = {"type": "test.codec.chained", "version": 1, "occurred": "2025", "country": "PK", "amount": 0}
    with pytest.raises(pt.SerializationError, match=r"line 1: .*grants must be positive") as info:
        pt.event_from_dict(stored, line=1)

    cause = info.value.__cause__
    names = [frame.filename for frame in traceback.extract_tb(cause.__traceback__)]
    assert "<policytracker codec test.codec.chained>" in names
    assert any(frame.name == "_positive" for frame in traceback.extract_tb(cause.__traceback__))


def test_the_generated_source_shows_in_tracebacks():
    @pt.event_type("test.codec.traceback")
    @attrs.frozen(kw_only=True)
    class Checked(pt.CountryEvent):
        level: int = attrs.field()

        @level.validator
        def _check(self, attribute, value):
            if value == 99:
                raise RuntimeError("a bug in a user's validator")

    stored = {"type": "test.codec.traceback", "version": 1, "occurred": "2025", "country": "PK", "level": 99}
    with pytest.raises(RuntimeError) as info:
        pt.event_from_dict(stored)

    frames = [frame for frame in traceback.extract_tb(info.tb) if "policytracker codec" in frame.filename]
    assert ["<policytracker codec test.codec.traceback>"] == [frame.filename for frame in frames]
    assert "v" in frames[0].line  # linecache gives the generated line: the validator call
    assert linecache.getline(frames[0].filename, frames[0].lineno).strip() == frames[0].line


@given(events())
def test_the_index_is_what_the_event_says(event):
    index = index_event(event)

    assert (event.tag, event.event_id, event.countries, None) == (
        index.tag,
        index.event_id,
        index.countries,
        index.target,
    )
    assert (event.occurred.earliest.toordinal(), event.occurred.latest.toordinal()) == index.valid_time[:2]
    assert (1 if isinstance(event, pt.HoldingsReported) else 0) == index.valid_time[2]


def test_an_amendments_index_names_its_target_and_reaches_its_countries():
    partnership = pt.PartnershipFormed(occurred="2025-07", countries=["PK", "SV"])
    retraction = pt.EventRetracted(occurred="2025-08", target=partnership.event_id)
    correction = pt.EventCorrected(
        occurred="2025-08",
        target=partnership.event_id,
        replacement=pt.VisitPlanned(occurred="2025-07", country="SV", host="RU", official="Bukele"),
    )

    assert (partnership.event_id, ("PK", "SV")) == (
        index_event(retraction, ("PK", "SV")).target,
        index_event(retraction, ("PK", "SV")).countries,
    )
    assert ("SV", "RU", "PK") == index_event(correction, ("PK", "SV")).countries


def test_codecs_are_generated_once_per_class():
    assert codec_for(pt.ReservePurchase) is codec_for(pt.ReservePurchase)


def test_a_users_fields_of_value_types_read_back_as_those_types():
    import decimal
    import enum

    class Size(enum.Enum):
        SMALL = "small"
        LARGE = "large"

    @pt.event_type("test.codec.typed")
    @attrs.frozen(kw_only=True)
    class Typed(pt.CountryEvent):
        amount: decimal.Decimal
        due: pt.FuzzyDate | None = None
        ref: uuid.UUID | None = None
        size: Size = Size.SMALL

    event = Typed(
        occurred="2025",
        country="PK",
        amount=decimal.Decimal("0.5"),
        due=pt.FuzzyDate.parse("2026-03"),
        ref=uuid.UUID(int=5),
        size=Size.LARGE,
    )
    decoded = pt.event_from_json(pt.event_to_json(event))

    assert event == decoded
    assert (decimal.Decimal, pt.FuzzyDate, uuid.UUID, Size) == tuple(
        type(value) for value in (decoded.amount, decoded.due, decoded.ref, decoded.size)
    )
    with pytest.raises(pt.SerializationError, match=r"'amount'.*decimal"):
        pt.event_from_dict({**pt.event_to_dict(event), "amount": "1e5"})
    with pytest.raises(pt.SerializationError, match=r"'size'.*'small', 'large'"):
        pt.event_from_dict({**pt.event_to_dict(event), "size": "medium"})


@pytest.mark.parametrize("value", [1e-10, 0.1, __import__("decimal").Decimal("Infinity")])
def test_a_users_decimal_field_refuses_floats_and_infinities(value):
    import decimal

    @pt.event_type(f"test.codec.decimal_{abs(hash(repr(value)))}")
    @attrs.frozen(kw_only=True)
    class Priced(pt.CountryEvent):
        price: decimal.Decimal

    with pytest.raises(pt.ValidationError, match=r"price.*finite Decimal"):
        Priced(occurred="2025", country="PK", price=value)


def test_an_event_whose_content_changed_after_it_was_made_stores_its_content_as_it_is():
    @attrs.define
    class Detail:
        text: str = ""

    @pt.event_type("test.codec.mutable_detail")
    @attrs.frozen(kw_only=True)
    class WithDetail(pt.CountryEvent):
        detail: Detail

    @pt.event_type("test.codec.normalised")
    @attrs.frozen(kw_only=True)
    class Normalised(pt.CountryEvent):
        label: str = ""

        def __attrs_post_init__(self):
            super().__attrs_post_init__()
            object.__setattr__(self, "label", self.label.strip())

    changed = WithDetail(occurred="2025", country="SV", detail=Detail("draft"))
    changed.detail.text = "final"
    normalised = Normalised(occurred="2025", country="SV", label="  hi  ")

    for event in (changed, normalised):
        expected = canonical_json(encode_event(event))  # the event as it is now, encoded afresh
        assert event_text(event) == expected
        with pt.open_log(":memory:") as log:
            log.append([event])
            assert pt.event_to_json(next(log.read()).event) == expected
    assert '"final"' in event_text(changed)
    assert '"label":"hi"' in event_text(normalised)
    assert not codec_for(WithDetail).unchanging
    assert not codec_for(Normalised).unchanging
    assert codec_for(pt.ReservePurchase).unchanging  # settled once made: its first store reuses its text


def test_a_bool_in_a_users_int_field_is_refused_when_the_event_is_made():
    @pt.event_type("test.codec.int_field")
    @attrs.frozen(kw_only=True)
    class Counted(pt.CountryEvent):
        level: int = 0

    with pytest.raises(
        pt.ValidationError, match=r"^Counted\.level: expected a whole number, got True"
    ) as caught:
        Counted(occurred="2025", country="SV", level=True)
    assert caught.value.field == "level"
    assert Counted(occurred="2025", country="SV", level=3).level == 3


def test_a_refused_value_shows_the_generated_init_line_in_its_traceback():
    with pytest.raises(pt.ValidationError) as caught:
        pt.ReservePurchase(occurred="2025", country="SV", amount=-1)

    frames = traceback.extract_tb(caught.value.__traceback__)
    wrapper = [frame for frame in frames if frame.filename == "<policytracker init ReservePurchase>"]
    assert wrapper
    assert wrapper[0].line.startswith("raise _ValidationError")  # the source line, not an empty one


def test_a_users_plain_fields_take_subclasses_json_writes_as_their_base():
    class Label(str):
        pass

    class Level(int):
        pass

    @pt.event_type("test.codec.plain_fields")
    @attrs.frozen(kw_only=True)
    class Plain(pt.CountryEvent):
        label: str = ""
        level: int = 0
        flag: bool = False

    made = Plain(occurred="2025", country="SV", label=Label("x"), level=Level(3), flag=True)
    read_back = pt.event_from_json(pt.event_to_json(made))

    assert read_back == made
    assert (type(read_back.label), type(read_back.level)) == (str, int)
    for field, value, kind in (
        ("label", 7, "a string"),
        ("level", "3", "a whole number"),
        ("flag", 1, "True or False"),
    ):
        with pytest.raises(pt.ValidationError, match=rf"^Plain\.{field}: expected {kind}, got"):
            Plain(occurred="2025", country="SV", **{field: value})
