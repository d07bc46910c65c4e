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
import json
import uuid
from decimal import Decimal
from typing import Any

import attrs

from policytracker._dates import FuzzyDate

__all__ = ["EVENT_ID_NAMESPACE", "canonical_json", "derive_event_id", "encode_event", "encode_value"]

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


def _content(instance: Any) -> dict[str, Any]:
    return {
        name: encode_value(value)
        for name, default in _fields(type(instance))
        if not _is_default(value := getattr(instance, name), default)
    }


def encode_event(event: Any) -> dict[str, Any]:
    """The canonical event object: type tag, schema version, ``event_id`` and non-default fields."""
    cls = type(event)
    content = _content(event)
    content["type"] = cls.__event_tag__
    content["version"] = cls.__event_version__
    content["event_id"] = str(event.event_id)
    return content


def canonical_json(obj: Any) -> str:
    """*obj* (already JSON-ready) as canonical JSON text: sorted keys, no whitespace, no ASCII escaping."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def derive_event_id(event: Any) -> uuid.UUID:
    """The content-derived id of *event*: UUIDv5 of the canonical JSON of its type tag and every field
    but ``event_id``, fields at their default left out (so a defaulted field added later keeps old ids)."""
    content = _content(event)
    content["type"] = type(event).__event_tag__
    return uuid.uuid5(EVENT_ID_NAMESPACE, canonical_json(content))
