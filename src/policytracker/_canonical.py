"""Canonical JSON: the one byte-exact encoding behind content-derived ids and the digest chain.

Rules: objects with sorted keys, no whitespace, UTF-8 (no ASCII escaping); ``Decimal`` as a plain decimal
string (never an exponent); dates as EDTF strings; UUIDs as lower-case hyphenated strings; enums by value;
tuples and frozensets as arrays (frozensets sorted); attrs classes as objects of their fields, leaving out
fields still at their default. An event is an object with its ``type`` tag, its ``version`` and its
``event_id`` besides its fields.

This module sits below ``_events``: it recognises events by their ``__event_tag__`` class attribute.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import hashlib
import json
import os
import types
import typing
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from policytracker._dates import FuzzyDate

try:  # orjson (the ``fast`` extra) writes the same bytes as the stdlib fallback, several times faster
    import orjson

    _ORJSON = os.environ.get("POLICYTRACKER_NO_ORJSON", "") == ""
except ImportError:  # pragma: no cover - exercised when the extra is not installed
    _ORJSON = False

__all__ = [
    "EVENT_ID_NAMESPACE",
    "canonical_json",
    "derive_event_id",
    "encode_event",
    "encode_value",
    "stdlib_canonical_json",
]

#: Namespace of the UUIDv5 content-derived event ids. Changing it changes every derived id: never do.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d3c3e-5a53-4c1e-9d4b-2f0c8b8a7e10")

_NO_DEFAULT = attrs.NOTHING
_FIELD_CACHE: dict[type, tuple[tuple[str, Any], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    cached = _FIELD_CACHE.get(cls)
    if cached is None:
        cached = tuple(
            (field.name, field.default)
            for field in attrs.fields(cls)
            if field.init and field.alias != "event_id"
        )
        _FIELD_CACHE[cls] = cached
    return cached


def _is_default(value: Any, default: Any) -> bool:
    if default is _NO_DEFAULT:
        return False
    return value is default or (type(value) is type(default) and value == default)


def encode_value(value: Any) -> Any:
    """The canonical JSON-ready form of one field value."""
    if value is None or type(value) in (str, int, bool):
        return value
    if type(value) is FuzzyDate:
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [encode_value(item) for item in value]
    if isinstance(value, frozenset):
        return sorted(encode_value(item) for item in value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if hasattr(type(value), "__event_tag__"):
        return encode_event(value)
    if attrs.has(type(value)):
        return _content(value)
    raise TypeError(f"cannot encode {type(value).__name__} value {value!r} canonically")


Encoder = Callable[[Any], Any]
_ENCODERS: dict[type, tuple[tuple[str, Any, Encoder], ...]] = {}


def _content(instance: Any) -> dict[str, Any]:
    """The canonical object of an attrs instance's non-default fields, through encoders generated once per
    class from its field types (falling back to :func:`encode_value` for types it does not know)."""
    cls = type(instance)
    plan = _ENCODERS.get(cls)
    if plan is None:
        plan = _ENCODERS[cls] = _plan(cls)
    out = {}
    for name, default, encode in plan:
        value = getattr(instance, name)
        if value is default or (
            default is not _NO_DEFAULT and type(value) is type(default) and value == default
        ):
            continue
        out[name] = encode(value)
    return out


def _plan(cls: type) -> tuple[tuple[str, Any, Encoder], ...]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: encode generically
        hints = {}
    return tuple((name, default, _encoder(hints.get(name))) for name, default in _fields(cls))


def _identity(value: Any) -> Any:
    return value


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _encoder(hint: Any) -> Encoder:
    if hint in (str, int, bool):
        return _identity
    if hint is FuzzyDate or hint is uuid.UUID:
        return str
    if hint is Decimal:
        return _decimal
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        inner = _encoder(next(arg for arg in args if arg is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _encoder(args[0])
        if item is _identity:
            return list
        return lambda value: [item(entry) for entry in value]
    if isinstance(hint, type) and attrs.has(hint) and not _is_event_class(hint):
        return _cached_content
    return encode_value  # events (dispatched on their runtime class) and anything unforeseen


def _is_event_class(cls: type) -> bool:
    # The event base class only annotates __event_tag__; registered subclasses also set it.
    return any("__event_tag__" in vars(klass).get("__annotations__", {}) for klass in cls.__mro__)


def _enum_value(value: enum.Enum) -> Any:
    return value.value


def _cached_content(value: Any) -> dict[str, Any]:
    """The content of a small frozen value (a ``Source``, say), encoded once and handed out as a copy:
    what ``event_to_dict`` returns is the caller's to change, and a change must never reach the ids or the
    stored form of other events."""
    content, flat = _content_once(value)
    return dict(content) if flat else _json_copy(content)


@functools.lru_cache(maxsize=4096)
def _content_once(value: Any) -> tuple[dict[str, Any], bool]:
    # Sources repeat across events: encode each once. Never handed out: _cached_content copies it.
    content = _content(value)
    return content, not any(type(item) in (dict, list) for item in content.values())


def _json_copy(value: Any) -> Any:
    if type(value) is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_json_copy(item) for item in value]
    return value


def encode_event(event: Any) -> dict[str, Any]:
    """The canonical event object: type tag, schema version, ``event_id`` and non-default fields."""
    cls = type(event)
    content = _content(event)
    content["type"] = cls.__event_tag__
    content["version"] = cls.__event_version__
    content["event_id"] = str(event.event_id)
    return content


def canonical_json(obj: Any) -> str:
    """*obj* (already JSON-ready) as canonical JSON text: sorted keys, no whitespace, no ASCII escaping.

    Uses orjson when it is installed (the ``fast`` extra); the stdlib fallback writes the same text.

    Raises:
        ValueError: a string holds a lone surrogate, which has no UTF-8 encoding.
    """
    if _ORJSON:
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


def derive_event_id(event: Any) -> uuid.UUID:
    """The content-derived id of *event*: UUIDv5 of the canonical JSON of its type tag and every field
    but ``event_id``, fields at their default left out (so a defaulted field added later keeps old ids)."""
    content = _content(event)
    content["type"] = type(event).__event_tag__
    return uuid5(canonical_json(content))


_NAMESPACE_BYTES = EVENT_ID_NAMESPACE.bytes
_VERSION_BITS_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_5_RFC_4122 = (5 << 76) | (0x8000 << 48)


def uuid5(name: str) -> uuid.UUID:
    """``uuid.uuid5(EVENT_ID_NAMESPACE, name)``, built without ``UUID.__init__``'s argument handling
    (about 3x faster; ids are derived for every event constructed). The result is a plain ``uuid.UUID``,
    equal to the stdlib's in every attribute; a test checks it against ``uuid.uuid5``.
    """
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()
    return uuid_from_int((int.from_bytes(digest[:16], "big") & _VERSION_BITS_CLEAR) | _VERSION_5_RFC_4122)


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """A function setting attribute *name* of an instance of *cls*, even a frozen one: the ``__set__`` of
    the slot that holds it (about twice as fast as ``object.__setattr__``, which looks the name up on
    every call), or ``object.__setattr__`` bound to *name* when *cls* keeps it elsewhere."""
    for klass in cls.__mro__:
        if name in vars(klass):
            slot = vars(klass)[name]
            if isinstance(slot, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = slot.__set__
                return setter
            break
    return lambda instance, value: object.__setattr__(instance, name, value)


_new = object.__new__
_UUID = uuid.UUID
_set_int = slot_setter(_UUID, "int")
_set_is_safe = slot_setter(_UUID, "is_safe")
_UNKNOWN = uuid.SafeUUID.unknown  # looked up once: an enum member access is a descriptor call


def uuid_from_int(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` for a *value* known to be in range, without the argument handling."""
    result = _new(_UUID)
    _set_int(result, value)
    _set_is_safe(result, _UNKNOWN)
    return result
