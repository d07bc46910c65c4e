"""Serialisation for users: the event functions of the public API, record timestamps, and
``make_converter()``, a strict cattrs converter for policytracker's types.

The stored form of an event, and its one encoder and decoder, belong to the codec (``_codec``); this
module only names them for users.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, get_args, get_origin

import cattrs
import pendulum
from cattrs.gen import make_dict_structure_fn

from policytracker._codec import CLASSES, decode_event, decode_text, encode_event, encode_value, event_text
from policytracker._dates import FuzzyDate
from policytracker._events import Event, Source
from policytracker.exceptions import PolicyTrackerError, SerializationError

__all__ = [
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
    "format_timestamp",
    "make_converter",
    "parse_timestamp",
]

_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class _FieldError(ValueError):
    """A JSON value of the wrong shape for its field (a message for people, wrapped by the caller)."""


def format_timestamp(moment: _dt.datetime) -> str:
    """A UTC moment as ISO 8601 with microseconds and ``Z``: ``2025-07-17T09:30:00.000000Z``.

    Raises:
        ValueError: *moment* is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got the naive {moment!r}")
    utc = moment.astimezone(_dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}Z"


@functools.lru_cache(maxsize=8192)
def parse_timestamp(text: str) -> pendulum.DateTime:
    """Read a timestamp in the form :func:`format_timestamp` writes, as a UTC ``pendulum.DateTime``.

    Raises:
        ValueError: *text* is not of that form.
    """
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise ValueError(f"expected a UTC timestamp like '2025-07-17T09:30:00.000000Z', got {text!r}")
    # Memoised: one append shares one stamp, so reads meet the same text many times in a row.
    parsed = _dt.datetime.fromisoformat(text[:-1])
    return pendulum.DateTime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=pendulum.UTC,
    )


# --- strict structure hooks -----------------------------------------------------------------------------


def _str(value: Any, _type: Any) -> str:
    if type(value) is not str:
        raise _FieldError(f"expected a string, got {value!r}")
    return value


def _int(value: Any, _type: Any) -> int:
    if type(value) is not int:
        raise _FieldError(f"expected a whole number, got {value!r}")
    return value


def _bool(value: Any, _type: Any) -> bool:
    if type(value) is not bool:
        raise _FieldError(f"expected true or false, got {value!r}")
    return value


def _decimal(value: Any, _type: Any) -> Decimal:
    if type(value) is not str or not _DECIMAL_TEXT.fullmatch(value):
        raise _FieldError(f'expected a decimal number as a string such as "6238", got {value!r}')
    return Decimal(value)


def _fuzzy_date(value: Any, _type: Any) -> FuzzyDate:
    if type(value) is not str:
        raise _FieldError(f'expected a date string such as "2025-07", got {value!r}')
    return FuzzyDate.parse(value)


def _uuid(value: Any, _type: Any) -> uuid.UUID:
    if type(value) is str:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise _FieldError(f"expected a UUID string, got {value!r}")


def _pendulum_date(value: Any, _type: Any) -> pendulum.Date:
    if type(value) is str:
        try:
            parsed = _dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return pendulum.Date(parsed.year, parsed.month, parsed.day)
    raise _FieldError(f'expected a date string such as "2025-07-17", got {value!r}')


def _pendulum_datetime(value: Any, _type: Any) -> pendulum.DateTime:
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise _FieldError(str(exc)) from None


def _enum_hook(enum_cls: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    def structure(value: Any, _type: Any) -> enum.Enum:
        for member in enum_cls:
            if type(value) is type(member.value) and member.value == value:
                return member
        choices = ", ".join(repr(member.value) for member in enum_cls)
        raise _FieldError(f"expected one of {choices}, got {value!r}")

    return structure


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook(type_: Any, converter: cattrs.Converter) -> Callable[[Any, Any], tuple[Any, ...]]:
    item_type = get_args(type_)[0]
    structure_item = converter.get_structure_hook(item_type)

    def structure(value: Any, _type: Any) -> tuple[Any, ...]:
        if type(value) is not list:
            raise _FieldError(f"expected a list, got {value!r}")
        return tuple(structure_item(item, item_type) for item in value)

    return structure


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, _FieldError | PolicyTrackerError):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    return cattrs.v.format_exception(exc, type_)


def _describe(exc: BaseException) -> str:
    if not isinstance(exc, cattrs.BaseValidationError):
        return str(exc)
    parts = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format_exception):
        message, _, path = line.rpartition(" @ ")
        field = path.removeprefix("$").lstrip(".")
        parts.append(f"field {field!r}: {message}" if field else message)
    return "; ".join(parts)


# --- the converter ----------------------------------------------------------------------------------------


def make_converter() -> cattrs.Converter:
    """Build a new, private cattrs converter for policytracker's types (the global one is never touched).

    Structure hooks it registers, all strict (no coercion; a value of the wrong JSON type is an error):

    - ``str``, ``int`` (not ``bool``), ``bool``;
    - ``Decimal`` from a decimal string (``"6238"``, ``"0.5"``), never from a JSON number;
    - ``FuzzyDate`` from an EDTF string; ``uuid.UUID`` from its string;
    - ``pendulum.Date`` from ``YYYY-MM-DD`` and ``pendulum.DateTime`` from a UTC ``...Z`` timestamp, keeping
      the pendulum types (never plain ``datetime``);
    - every ``Enum`` from its value; homogeneous ``tuple[X, ...]`` from a JSON list only;
    - ``Source`` from an object without unknown keys;
    - ``Event`` (and every registered event class) from a tagged event object: see :func:`event_from_dict`.

    Unstructure hooks: ``Event`` subclasses to their canonical tagged object; ``Source``, ``FuzzyDate``,
    ``Decimal``, ``uuid.UUID``, enums and pendulum dates and times to their canonical JSON forms.
    """
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for type_, hook in (
        (str, _str),
        (int, _int),
        (bool, _bool),
        (Decimal, _decimal),
        (FuzzyDate, _fuzzy_date),
        (uuid.UUID, _uuid),
        (pendulum.Date, _pendulum_date),
        (pendulum.DateTime, _pendulum_datetime),
    ):
        converter.register_structure_hook(type_, hook)
    converter.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), _enum_hook
    )
    converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_hook)
    converter.register_structure_hook(
        Source, make_dict_structure_fn(Source, converter, _cattrs_forbid_extra_keys=True)
    )
    converter.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Event), _structure_event
    )

    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Event), encode_event
    )
    converter.register_unstructure_hook(pendulum.DateTime, format_timestamp)
    for value_type in (Source, FuzzyDate, Decimal, uuid.UUID, pendulum.Date):
        converter.register_unstructure_hook(value_type, encode_value)
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), encode_value
    )
    return converter


def _structure_event(obj: Any, expected: Any) -> Event:
    if isinstance(expected, type) and expected is not Event and type(obj) is dict:
        cls = CLASSES.get(obj.get("type"))  # type: ignore[arg-type]
        if cls is not None and not issubclass(cls, expected):
            raise SerializationError(
                f"expected a {expected.__name__}, got an event of type {obj.get('type')!r}",
                tag=obj.get("type"),
            )
    event: Event = decode_event(obj)
    return event


def event_to_dict(event: Event) -> dict[str, Any]:
    """The canonical, JSON-ready object of *event* (``type``, ``version``, ``event_id``, fields)."""
    return encode_event(event)


def event_to_json(event: Event) -> str:
    """The canonical JSON text of *event*: sorted keys, no whitespace, UTF-8 characters unescaped."""
    return event_text(event)


def event_from_dict(obj: Mapping[str, Any], *, line: int | None = None, position: int | None = None) -> Event:
    """Decode a tagged event object (as :func:`event_to_dict` makes), upcasting old schema versions.

    *line* / *position* only say where *obj* came from, for error messages.

    Raises:
        SerializationError: unknown tag, future or unreachable version, missing, extra or ill-typed field,
            or a value the event class refuses; the message names the tag, the field and *line*/*position*.
    """
    event: Event = decode_event(obj, line=line, position=position)
    return event


def event_from_json(text: str | bytes, *, line: int | None = None, position: int | None = None) -> Event:
    """Decode one event from JSON text; see :func:`event_from_dict`.

    Raises:
        SerializationError: malformed JSON, or anything :func:`event_from_dict` refuses.
    """
    event: Event = decode_text(text, line=line, position=position)
    return event
