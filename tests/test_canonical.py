"""Canonical JSON is the same bytes with and without orjson, and refuses what UTF-8 cannot hold."""

import copy
import json
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
    MAX_READ_DEPTH,
    MAX_WRITE_DEPTH,
    USING_ORJSON,
    canonical_json,
    loads,
    read_uuid,
    stdlib_canonical_json,
    stdlib_loads,
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


# -- one grammar on both paths ----------------------------------------------------------------------------

needs_orjson = pytest.mark.skipif(not USING_ORJSON, reason="orjson (the fast extra) is not installed")

edge_integers = st.sampled_from(
    [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30, -(10**30)]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | edge_integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
wide_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(-2, 2), children, max_size=3)
    ),
    max_leaves=10,
)
number_literals = (
    st.sampled_from(
        ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "-0.0", "1" * 400, "1" * 5000]
    )
    | st.integers().map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
)
escapes = st.sampled_from(['"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"\\u0000"', '"\\uD800\\u0041"'])


def _nested(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _text(value):
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _joined(parts):
    return "[" + ",".join(parts) + "]"


json_texts = st.one_of(
    wide_values.filter(lambda v: _writable_by_stdlib(v)).map(_text),
    st.lists(number_literals | escapes, min_size=1, max_size=4).map(_joined),
    st.text(alphabet=' \t[]{}",:0123456789-+.eEtrufalsnNI\\\ufeff', max_size=20),
    st.integers(1, 1100).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 1100).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
)
json_inputs = (
    json_texts | json_texts.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary(max_size=12)
)


def _writable_by_stdlib(value):
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return False
    return True


def _typed(value):
    """*value* as a flat list of tokens, floats and ints told apart (1.0 == 1 in Python, not in JSON), keys
    sorted, however deep it is nested."""
    tokens, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            tokens.append("{")
            stack.append("}")
            for key in sorted(item, reverse=True):
                stack.extend([item[key], ("key", key)])
        elif isinstance(item, list):
            tokens.append("[")
            stack.append("]")
            stack.extend(reversed(item))
        elif isinstance(item, tuple) or item in ("}", "]"):
            tokens.append(item)
        else:
            tokens.append((type(item).__name__, repr(item)))
    return tokens


def _outcome(function, argument):
    try:
        return ("read", _typed(function(argument)))
    except ValueError:
        return ("refused",)


@needs_orjson
@given(json_inputs)
def test_both_paths_read_and_refuse_the_same_json(text):
    assert _outcome(stdlib_loads, text) == _outcome(loads, text)


def _written(function, value):
    try:
        return ("written", function(value))
    except ValueError as exc:
        return ("refused", str(exc))


#: What the codec hands to canonical_json: no floats (amounts are decimal strings), whose shortest forms the
#: two paths write differently (``6.103515625e-05`` and ``0.00006103515625``).
writable_values = st.recursive(
    st.none() | st.booleans() | st.integers() | edge_integers | st.text(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(-2, 2), children, max_size=3)
    ),
    max_leaves=10,
)


@needs_orjson
@given(writable_values | st.integers(1, 300).map(lambda depth: _nested(depth)))
def test_both_paths_write_and_refuse_the_same_values(value):
    assert _written(stdlib_canonical_json, value) == _written(canonical_json, value)


@pytest.mark.parametrize("encode", [canonical_json, stdlib_canonical_json])
@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30])
def test_integers_outside_64_bits_are_not_written(encode, number):
    with pytest.raises(ValueError, match="cannot encode canonically: Integer exceeds 64-bit range"):
        encode({"holders": number})


@pytest.mark.parametrize("encode", [canonical_json, stdlib_canonical_json])
@pytest.mark.parametrize("number", [2**64 - 1, -(2**63)])
def test_integers_at_the_ends_of_the_range_are_written(encode, number):
    assert f'{{"holders":{number}}}' == encode({"holders": number})


@pytest.mark.parametrize("encode", [canonical_json, stdlib_canonical_json])
def test_nesting_deeper_than_the_write_limit_is_not_written(encode):
    assert "[" * MAX_WRITE_DEPTH + "]" * MAX_WRITE_DEPTH == encode(_nested(MAX_WRITE_DEPTH))
    with pytest.raises(ValueError, match="cannot encode canonically"):
        encode(_nested(MAX_WRITE_DEPTH + 1))


@pytest.mark.parametrize("read", [loads, stdlib_loads])
def test_nesting_deeper_than_the_read_limit_is_refused_as_a_value_error(read):
    deepest = "[" * MAX_READ_DEPTH + "]" * MAX_READ_DEPTH

    assert _typed(_nested(MAX_READ_DEPTH)) == _typed(read(deepest))
    assert ("refused",) == _outcome(read, "[" + deepest + "]")


@pytest.mark.parametrize("read", [loads, stdlib_loads])
@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "[Infinity]",
        "-Infinity",
        "1e400",
        '"\\ud800"',
        '"\\udc00"',
        "\ufeff[]",
        b"\xef\xbb\xbf[]",
        b'"\xff"',
        "[1]".encode("utf-16"),
    ],
)
def test_text_outside_the_grammar_is_refused(read, text):
    assert ("refused",) == _outcome(read, text)


@pytest.mark.parametrize("read", [loads, stdlib_loads])
def test_an_integer_outside_64_bits_is_read_as_the_nearest_float(read):
    assert _typed([float(2**64), -(2**63)]) == _typed(read(f"[{2**64},{-(2**63)}]"))
