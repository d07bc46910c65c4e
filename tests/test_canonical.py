"""Canonical JSON is the same bytes with and without orjson, and refuses what UTF-8 cannot hold."""

import copy
import pickle
import subprocess
import sys
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker._canonical import (
    EVENT_ID_NAMESPACE,
    USING_ORJSON,
    canonical_json,
    read_uuid,
    stdlib_canonical_json,
    uuid5,
)
from policytracker._codec import encode_event
from policytracker.testing import events

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.skipif(not USING_ORJSON, reason="orjson (the fast extra) is not installed")
@given(events())
def test_orjson_and_the_stdlib_write_the_same_events(event):
    obj = encode_event(event)

    assert stdlib_canonical_json(obj) == canonical_json(obj)


@pytest.mark.skipif(not USING_ORJSON, reason="orjson (the fast extra) is not installed")
@given(json_values.filter(lambda v: "\\ud800" not in repr(v)))
def test_orjson_and_the_stdlib_write_the_same_json(value):
    try:
        expected = stdlib_canonical_json(value)
    except ValueError:
        with pytest.raises(ValueError, match="cannot encode"):
            canonical_json(value)
        return

    assert expected == canonical_json(value)


@pytest.mark.parametrize("encode", [canonical_json, stdlib_canonical_json])
def test_lone_surrogates_are_refused(encode):
    with pytest.raises(ValueError, match="cannot encode"):
        encode({"note": "\ud800"})


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("text", {"text": "bad \udc80 text"}),
        ("note", {"text": "fine", "note": "\ud800"}),
        ("topics", {"text": "fine", "topics": ("ok", "\udfff")}),
    ],
)
def test_an_event_with_a_lone_surrogate_is_refused_naming_the_field(field, fields):
    with pytest.raises(pt.ValidationError, match="surrogate") as info:
        pt.PolicyStatement(occurred="2025", country="PK", **fields)

    assert field == info.value.field


def test_the_library_works_without_orjson():
    script = (
        "import policytracker as pt\n"
        "from policytracker._canonical import USING_ORJSON\n"
        "assert not USING_ORJSON\n"
        "e = pt.ReservePurchase(occurred='2025-06', country='SV', amount=7)\n"
        "assert pt.event_from_json(pt.event_to_json(e)) == e\n"
        "print(e.event_id)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"POLICYTRACKER_NO_ORJSON": "1", "PATH": ""},
        check=True,
    )

    assert (
        str(pt.ReservePurchase(occurred="2025-06", country="SV", amount=7).event_id) == result.stdout.strip()
    )


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_the_fast_uuid5_is_the_stdlib_uuid5_in_every_respect(name):
    expected = uuid.uuid5(EVENT_ID_NAMESPACE, name)
    derived = uuid5(name)

    assert expected == derived
    assert hash(expected) == hash(derived)
    assert str(expected) == str(derived)
    assert (5, uuid.RFC_4122, uuid.SafeUUID.unknown) == (derived.version, derived.variant, derived.is_safe)
    assert expected == pickle.loads(pickle.dumps(derived))
    assert expected == copy.deepcopy(derived)


uuid_texts = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: u.hex.upper()),
    st.uuids().map(lambda u: f"{{{u}}}"),
    st.uuids().map(lambda u: f"urn:uuid:{u}"),
    st.text(alphabet="0123456789abcdefABCDEF-+_ {}:urnid", min_size=30, max_size=45),
)


@given(uuid_texts)
def test_stored_ids_are_read_exactly_as_uuid_reads_them(text):
    try:
        expected = uuid.UUID(text)
    except ValueError:
        expected = None

    assert expected == read_uuid(text)
    if expected is not None:
        assert (expected.int, expected.is_safe) == (read_uuid(text).int, read_uuid(text).is_safe)


@pytest.mark.parametrize("value", [None, 7, b"12345678123456781234567812345678", ["x"]])
def test_a_stored_id_that_is_not_a_string_is_not_read(value):
    assert None is read_uuid(value)
