"""Canonical JSON text and content-derived UUIDs: the byte-exact rules behind event ids and the digest chain.

Canonical JSON: objects with sorted keys, no whitespace, UTF-8 characters unescaped, no NaN or infinity.
orjson (the ``fast`` extra) writes and reads it several times faster than the standard library. Both paths
keep one grammar, orjson's: they give the same text, read the same values, and refuse the same inputs:

- writing: integers outside -2**63 .. 2**64-1, keys that are not strings, nesting deeper than
  ``MAX_WRITE_DEPTH`` levels, lone surrogates;
- reading: text that is not UTF-8 (or starts with a byte order mark), lone surrogates (raw or escaped),
  ``NaN`` / ``Infinity`` and numbers too large for a float, nesting deeper than ``MAX_READ_DEPTH`` levels.
  An integer literal outside the 64-bit range is read as the nearest float, as orjson reads it (no event
  field accepts a float, and no such integer is ever written).

What goes *into* that text (which fields, in which form) is the codec's business (``_codec``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    orjson = None  # type: ignore[assignment]

__all__ = [
    "EVENT_ID_NAMESPACE",
    "MAX_READ_DEPTH",
    "MAX_WRITE_DEPTH",
    "USING_ORJSON",
    "canonical_json",
    "loads",
    "read_uuid",
    "stdlib_canonical_json",
    "stdlib_loads",
    "uuid5",
    "uuid_from_int",
]

#: Whether orjson is installed and not switched off with ``POLICYTRACKER_NO_ORJSON``.
USING_ORJSON = orjson is not None and os.environ.get("POLICYTRACKER_NO_ORJSON", "") == ""

#: Namespace of the UUIDv5 content-derived event ids. Changing it changes every derived id: never do.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c3e-5a53-4c1e-9d4b-2f0c8b8a7e10")


#: The deepest nesting of arrays and objects either path writes (``[]`` is one level), as orjson does.
MAX_WRITE_DEPTH = 254
#: The deepest nesting either path reads, as orjson does.
MAX_READ_DEPTH = 1024
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def canonical_json(obj: Any) -> str:
    """*obj* (JSON-ready: None, bools, ints, strs, lists, tuples and dicts with str keys) as canonical JSON
    text.

    Raises:
        ValueError: an integer outside -2**63 .. 2**64-1, a key that is not a string, nesting deeper than
            ``MAX_WRITE_DEPTH``, or a string holding a lone surrogate, which has no UTF-8 encoding.
    """
    if USING_ORJSON:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"cannot encode canonically: {exc}") from None
    return stdlib_canonical_json(obj)


def stdlib_canonical_json(obj: Any) -> str:
    """:func:`canonical_json` without orjson."""
    _check_writable(obj, 0)
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot encode canonically: {exc.reason} in {exc.object[exc.start : exc.end]!r}"
        ) from None
    return text


def _check_writable(obj: Any, depth: int) -> None:
    """Refuse what orjson refuses to write, with its words."""
    if isinstance(obj, int) and not isinstance(obj, bool):
        if not _INT_MIN <= obj <= _INT_MAX:
            raise ValueError("cannot encode canonically: Integer exceeds 64-bit range")
    elif isinstance(obj, list | tuple | dict):
        if depth >= MAX_WRITE_DEPTH:
            raise ValueError("cannot encode canonically: Recursion limit reached")
        if isinstance(obj, dict):
            if not all(isinstance(key, str) for key in obj):
                raise ValueError("cannot encode canonically: Dict key must be str")
            for key in sorted(obj):  # orjson checks every key, then writes the values in key order
                _check_writable(obj[key], depth + 1)
        else:
            for item in obj:
                _check_writable(item, depth + 1)


def stdlib_loads(text: str | bytes) -> Any:
    """:func:`loads` without orjson: the standard library held to orjson's grammar."""
    if isinstance(text, str):
        text.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
    else:
        text = bytes(text).decode("utf-8")  # strict: no BOM sniffing, no UTF-16
    depth = _depth(text) if text.count("[") + text.count("{") > _SAFE_DEPTH else 0
    if depth > MAX_READ_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_READ_DEPTH} levels")
    if depth <= _SAFE_DEPTH:
        obj = _STDLIB_DECODER.decode(text)
    else:
        with _RECURSION:
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(limit + depth)
            try:
                obj = _STDLIB_DECODER.decode(text)
            finally:
                sys.setrecursionlimit(limit)
    if "\\ud" in text or "\\uD" in text:
        _check_escaped_surrogates(obj)
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _read_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise ValueError(f"number is infinity when parsed as double: {literal[:40]}")
    return number


def _read_int(literal: str) -> int | float:
    if len(literal) < 19:
        return int(literal)
    number = int(literal)
    return number if _INT_MIN <= number <= _INT_MAX else _read_float(literal)


_STDLIB_DECODER = json.JSONDecoder(
    parse_float=_read_float, parse_int=_read_int, parse_constant=_refuse_constant
)
# The standard library's decoder recurses once per level: it reads this deep within the default
# recursion limit, and deeper texts (up to MAX_READ_DEPTH) with the limit raised for the call.
_SAFE_DEPTH = 200
_RECURSION = threading.Lock()
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _depth(text: str) -> int:
    deepest = depth = 0
    for match in _NESTING.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _check_escaped_surrogates(obj: Any) -> None:
    if isinstance(obj, str):
        obj.encode("utf-8")  # UnicodeEncodeError, a ValueError
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _check_escaped_surrogates(key)
            _check_escaped_surrogates(value)
    elif isinstance(obj, list):
        for item in obj:
            _check_escaped_surrogates(item)


#: JSON text → object: orjson when installed, else :func:`stdlib_loads`; both read the same grammar.
#: Raises ``ValueError`` (or ``UnicodeDecodeError``, a ``ValueError``) on text outside it.
loads: Callable[[str | bytes], Any] = orjson.loads if USING_ORJSON else stdlib_loads

_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
_VERSION_BITS_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5_RFC_4122 = (5 << 76) | (0x8000 << 48)
_new = object.__new__
_set_int = vars(uuid.UUID)["int"].__set__
_set_is_safe = vars(uuid.UUID)["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_from_int(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` without its argument handling, for a *value* known to be in range (0 to
    2**128 - 1): ids are made for every event constructed and read. The result is a plain, complete
    ``uuid.UUID``."""
    result = _new(uuid.UUID)
    _set_int(result, value)
    _set_is_safe(result, _UNKNOWN)
    return result


def uuid5(name: str) -> uuid.UUID:
    """``uuid.uuid5(EVENT_ID_NAMESPACE, name)``: the content-derived id of the canonical text *name*."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()
    return uuid_from_int((int.from_bytes(digest[:16], "big") & _VERSION_BITS_CLEAR) | _VERSION_5_RFC_4122)


def read_uuid(text: Any) -> uuid.UUID | None:
    """The UUID written as *text* in any form ``uuid.UUID`` reads (hyphenated, braces, ``urn:uuid:``),
    or None when *text* is not a string of such a form."""
    if text.__class__ is not str:
        return None
    digits = text.replace("-", "")
    if len(digits) == 32:
        try:
            return uuid_from_int(int(digits, 16))
        except ValueError:
            return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
