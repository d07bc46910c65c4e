"""Canonical JSON text and content-derived UUIDs: the byte-exact rules behind event ids and the digest chain.

Canonical JSON: objects with sorted keys, no whitespace, UTF-8 characters unescaped, no NaN or infinity.
orjson (the ``fast`` extra) writes and reads it several times faster than the standard library; both
paths give the same text. What goes *into* that text (which fields, in which form) is the codec's
business (``_codec``).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    orjson = None  # type: ignore[assignment]

__all__ = [
    "EVENT_ID_NAMESPACE",
    "USING_ORJSON",
    "canonical_json",
    "loads",
    "read_uuid",
    "stdlib_canonical_json",
    "uuid5",
]

#: Whether orjson is installed and not switched off with ``POLICYTRACKER_NO_ORJSON``.
USING_ORJSON = orjson is not None and os.environ.get("POLICYTRACKER_NO_ORJSON", "") == ""

#: Namespace of the UUIDv5 content-derived event ids. Changing it changes every derived id: never do.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c3e-5a53-4c1e-9d4b-2f0c8b8a7e10")


def canonical_json(obj: Any) -> str:
    """*obj* (already JSON-ready) as canonical JSON text.

    Raises:
        ValueError: a string holds a lone surrogate, which has no UTF-8 encoding.
    """
    if USING_ORJSON:
        try:
            return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError as exc:
            raise ValueError(f"cannot encode canonically: {exc}") from None
    return stdlib_canonical_json(obj)


def stdlib_canonical_json(obj: Any) -> str:
    """:func:`canonical_json` without orjson."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot encode canonically: {exc.reason} in {exc.object[exc.start : exc.end]!r}"
        ) from None
    return text


#: JSON text → object: orjson when installed, else the standard library. Raises ``ValueError`` (or
#: ``UnicodeDecodeError``, a ``ValueError``) on malformed text.
loads: Callable[[str | bytes], Any] = orjson.loads if USING_ORJSON else json.loads

_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
_VERSION_BITS_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5_RFC_4122 = (5 << 76) | (0x8000 << 48)
_new = object.__new__
_set_int = vars(uuid.UUID)["int"].__set__
_set_is_safe = vars(uuid.UUID)["is_safe"].__set__
_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_from_int(value: int) -> uuid.UUID:
    # uuid.UUID(int=value) without its argument handling, for a value known to be in range: ids are made
    # for every event constructed and read. The result is a plain, complete uuid.UUID.
    result = _new(uuid.UUID)
    _set_int(result, value)
    _set_is_safe(result, _UNKNOWN)
    return result


def uuid5(name: str) -> uuid.UUID:
    """``uuid.uuid5(EVENT_ID_NAMESPACE, name)``: the content-derived id of the canonical text *name*."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()
    return _uuid_from_int((int.from_bytes(digest[:16], "big") & _VERSION_BITS_CLEAR) | _VERSION_5_RFC_4122)


def read_uuid(text: Any) -> uuid.UUID | None:
    """The UUID written as *text* in any form ``uuid.UUID`` reads (hyphenated, braces, ``urn:uuid:``),
    or None when *text* is not a string of such a form."""
    if text.__class__ is not str:
        return None
    digits = text.replace("-", "")
    if len(digits) == 32:
        try:
            return _uuid_from_int(int(digits, 16))
        except ValueError:
            return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
