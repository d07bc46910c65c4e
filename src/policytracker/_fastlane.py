"""Fast lanes: decoders generated once per built-in event class for records in their stored form.

The general decoder (``_serialization._EventStructurer``) checks each JSON value's shape, gathers keyword
arguments and calls the event class, whose ``attrs`` converters and validators check every value. That
costs about 20 µs per event, most of it in layers of calls. A fast lane does the same checks for the form
policytracker writes (canonical JSON: known keys only, defaults left out, the stored ``event_id``) in one
generated function:

- each present key gets the same shape check as the general decoder, then the field's own converter;
  converters of small domains (countries, assets, dates, enums) are memoised, since they are pure;
- a canonical decimal string is turned into a ``Decimal`` directly (it is what the converter returns) and
  memoised too, in one memo for every amount field (amounts recur: ``"7"``, ``"2000"``);
- each validator is replaced by a cheap sufficient test (an ASCII string is encodable), and called for
  real whenever that test does not pass;
- the instance is built without the keyword-argument round trip, setting the same slots ``attrs`` would
  set, through the slots' own setters.

A lane never raises and never guesses: when anything is unusual (an unknown or missing key, a value of the
wrong shape, a value a converter or validator refuses, a non-canonical form) it returns ``None`` and the
general decoder decodes the object again, returning the same event or raising its specific error. Only
built-in classes get a lane; users' own classes, whose validators may do anything, always take the general
path. ``tests/test_fastlane.py`` checks that both paths agree on every event the strategies draw and on
damaged objects.
"""

from __future__ import annotations

import re
import types
import typing
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from policytracker import _events
from policytracker import _validation as v
from policytracker._canonical import slot_setter, uuid_from_int
from policytracker._events import FROM_STORAGE, Event, EventCorrected, Source, write_given_id
from policytracker.exceptions import PolicyTrackerError

__all__ = ["fast_lane", "memo", "stored_uuid"]

Lane = Callable[[dict[str, Any]], Event | None]

_MISSING = object()
_MEMO_LIMIT = 65536
# A decimal string that ``to_decimal`` returns unchanged: at most 60 characters, no sign, no leading
# zero, no trailing fractional zero (zero itself only where the field allows it).
_CANONICAL_DECIMAL = re.compile(r"(?=[0-9.]{1,60}\Z)(?:[1-9][0-9]*|0)(?:\.[0-9]*[1-9])?")

#: Converters that are pure functions of a string from a small domain: their results are memoised.
_MEMOISED = {
    _events._country,
    _events._host,
    _events._asset,
    _events._stage,
    _events._status,
    _events._occurred,
    _events._published,
    _events._ends,
}
_DECIMALS = {
    _events._amount: False,
    _events._megawatts: False,
    _events._price_usd: False,
    _events._amount_usd: False,
    _events._reported_amount: True,
}
#: A sufficient test per validator (when it passes, the validator would pass); else the validator runs.
_VALIDATOR_TESTS = {
    v.text: "({x}.__class__ is str and {x}.isascii())",
    v.non_empty_text: "({x}.__class__ is str and {x}.isascii() and {x}.strip())",
    v.optional_text: "({x} is None or ({x}.__class__ is str and {x}.isascii() and {x}.strip()))",
    v.strict_bool: "({x}.__class__ is bool)",
    v.positive_int: "({x}.__class__ is int and {x} > 0)",
}


#: One memo per converter, shared by every lane that uses it (``occurred`` is one converter for all
#: classes, so each date is parsed once per process, not once per class).
_MEMOS: dict[Callable[[Any], Any], tuple[dict[str, Any], Callable[[str], Any]]] = {}


def memo(convert: Callable[[Any], Any]) -> tuple[dict[str, Any], Callable[[str], Any]]:
    """The shared memo of *convert* and the function that fills it: *convert*, keeping its truthy results
    by exact string (a lane reads the memo first; failures are never kept)."""
    entry = _MEMOS.get(convert)
    if entry is None:
        cache: dict[str, Any] = {}

        def fill(value: str) -> Any:
            result = convert(value)
            if result and len(cache) < _MEMO_LIMIT:
                cache[value] = result
            return result

        entry = _MEMOS[convert] = (cache, fill)
    return entry


#: Canonical, non-zero decimal strings → their ``Decimal``, shared by every amount field of every lane
#: (what ``to_decimal`` returns for them, whichever field; ``Decimal`` is immutable).
_DECIMAL_MEMO: dict[str, Decimal] = {}


def _decimal_fill(convert: Callable[[Any], Any], zero_allowed: bool) -> Callable[[str], Any]:
    """The amount converter *convert* for a lane, as a function filling :data:`_DECIMAL_MEMO`: a canonical
    decimal string is read directly and kept; anything else goes to *convert* (which may refuse it)."""
    canonical = _CANONICAL_DECIMAL.fullmatch
    cache = _DECIMAL_MEMO

    def fill(text: str) -> Any:
        if canonical(text) and (zero_allowed or text != "0"):
            result = Decimal(text)
            if result and len(cache) < _MEMO_LIMIT:
                cache[text] = result
            return result
        return convert(text)

    return fill


_SOURCE_MEMOS: dict[tuple[Callable[[Any], Any], Callable[[Any], Source]], Callable[[list[Any]], Any]] = {}


def _sources_memo(
    convert: Callable[[Any], Any], source: Callable[[Any], Source]
) -> Callable[[list[Any]], Any]:
    """The ``sources`` converter applied to a JSON list of source objects, memoised on their items (a few
    sources recur across most events). Only lists of string-valued objects are kept, so two keys that
    compare equal always hold the same strings. Shared, like :func:`memo`, by every lane decoding with
    the same *convert* and *source*."""
    shared = _SOURCE_MEMOS.get((convert, source))
    if shared is not None:
        return shared
    cache: dict[tuple[tuple[tuple[str, Any], ...], ...], Any] = {}

    def decode(items: list[Any]) -> Any:
        key: tuple[tuple[tuple[str, Any], ...], ...]
        try:
            if len(items) == 1:  # the common case, without a comprehension's frame
                key = (tuple(items[0].items()),)
            else:
                key = tuple([tuple(item.items()) for item in items])
            return cache[key]
        except (AttributeError, TypeError):  # not objects, or unhashable values: no key
            return convert([source(item) for item in items])
        except KeyError:
            result = convert([source(item) for item in items])
            if len(cache) < _MEMO_LIMIT:
                cache[key] = result
            return result

    _SOURCE_MEMOS[convert, source] = decode
    return decode


def stored_uuid(text: Any) -> uuid.UUID | None:
    """``uuid.UUID(text)`` for a string of 32 hex digits and hyphens (as stored), else None.

    ``uuid.UUID`` removes the hyphens and reads the 32 characters left with ``int(hex, 16)``; so does
    this, skipping the rest of its argument handling. Other forms (braces, ``urn:uuid:``) step aside.
    """
    if text.__class__ is not str:
        return None
    digits = text.replace("-", "")
    if len(digits) != 32:
        return None
    try:
        return uuid_from_int(int(digits, 16))
    except ValueError:
        return None


def fast_lane(cls: type[Event], source: Callable[[Any], Source]) -> Lane | None:
    """The generated fast lane of the built-in class *cls* (None for other classes), decoding sources
    with *source* (the general decoder's shared, interning ``Source`` decoder)."""
    if cls.__module__ != _events.__name__ or cls is EventCorrected:
        return None
    if getattr(cls, "__attrs_post_init__", None) is not Event.__attrs_post_init__:
        return None  # a class with checks of its own across fields (VisitPlanned): general path
    hints = typing.get_type_hints(cls)
    names: dict[str, Any] = {
        "_MISSING": _MISSING,
        "_new": object.__new__,
        "_set_given_id": write_given_id,
        "_FROM_STORAGE": FROM_STORAGE,
        "_set_id": slot_setter(cls, "event_id"),
        "_cls": cls,
        "_uuid": stored_uuid,
        "_source": source,
        "_Refused": (PolicyTrackerError, ValueError, TypeError),
    }
    read: list[str] = []
    build: list[str] = []
    checks: list[str] = []
    known = ["type", "version", "event_id"]
    for index, field in enumerate(attrs.fields(cls)):
        if field.name == "event_id" or field.alias == "event_id":
            continue
        if not field.init:
            return None  # a derived field this generator does not know how to fill
        x = f"x{index}"
        known.append(field.alias)
        hint = hints[field.name]
        converter = field.converter
        lines = [f"    {x} = get({field.alias!r}, _MISSING)", f"    if {x} is _MISSING:"]
        if field.default is attrs.NOTHING:
            lines.append("        return None")
        else:
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                return None
            names[f"d{index}"] = converter(default) if callable(converter) else default
            lines.append(f"        {x} = d{index}")
        lines.append("    else:")
        body = _convert(x, index, hint, converter, names)
        if body is None:
            return None
        lines.extend("        " + line for line in body)
        read.extend(lines)
        names[f"s{index}"] = slot_setter(cls, field.name)
        build.append(f"    s{index}(self, {x})")
        if field.validator is not None:
            test = _VALIDATOR_TESTS.get(field.validator)
            if test is None:
                return None
            names[f"v{index}"] = field.validator
            names[f"a{index}"] = field
            checks.append(f"    if not {test.format(x=x)}:")
            checks.append(f"        v{index}(self, a{index}, {x})")
    names["_known"] = frozenset(known)
    source_lines = [
        "def lane(obj):",
        "    if not _known.issuperset(obj):",
        "        return None",
        "    get = obj.get",
        "    uid = _uuid(get('event_id'))",
        "    if uid is None:",
        "        return None",
        "    try:",
        *("    " + line for line in read),
        "        self = _new(_cls)",
        *("    " + line for line in build),
        *("    " + line for line in checks),
        "    except _Refused:",
        "        return None",
        "    _set_given_id(self, _FROM_STORAGE)",  # as Event.__attrs_post_init__ does for a StoredId
        "    _set_id(self, uid)",
        "    return self",
    ]
    code = "\n".join(source_lines)
    exec(compile(code, f"<policytracker fast lane {cls.__event_tag__}>", "exec"), names)
    lane: Lane = names["lane"]
    lane.__doc__ = code
    return lane


def _convert(x: str, index: int, hint: Any, converter: Any, names: dict[str, Any]) -> list[str] | None:
    """Lines turning the JSON value in *x* into the field value: ``return None`` on a value of the wrong
    shape, and the converter's own exception on a value it refuses. None: a field type without a lane."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    lines: list[str] = []
    indent = ""
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if len(args) != 2:
            return None
        hint = next(arg for arg in args if arg is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        lines.append(f"if {x} is not None:")
        indent = "    "
    names[f"c{index}"] = converter
    if converter in _MEMOISED:
        names[f"m{index}"], names[f"c{index}"] = memo(converter)
        shape, value = "str", f"m{index}.get({x}) or c{index}({x})"
    elif converter in _DECIMALS:
        names[f"m{index}"], names[f"c{index}"] = _DECIMAL_MEMO, _decimal_fill(converter, _DECIMALS[converter])
        shape, value = "str", f"m{index}.get({x}) or c{index}({x})"
    elif origin is tuple and args == (Source, Ellipsis) and converter is not None:
        names[f"c{index}"] = _sources_memo(converter, names["_source"])
        shape, value = "list", f"c{index}({x})"
    elif origin is tuple and args == (str, Ellipsis) and converter is not None:
        lines.append(f"{indent}if {x}.__class__ is not list or not all(i.__class__ is str for i in {x}):")
        lines.append(f"{indent}    return None")
        shape, value = "list", f"c{index}({x})"
    elif hint is uuid.UUID and converter is not None:
        shape, value = "str", f"c{index}({x})"
    elif hint in (str, bool, int) and converter is None:
        shape, value = hint.__name__, x
    else:
        return None
    lines.append(f"{indent}if {x}.__class__ is not {shape}:")
    lines.append(f"{indent}    return None")
    if value != x:
        lines.append(f"{indent}{x} = {value}")
    return lines
