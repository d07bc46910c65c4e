"""Serialisation: a private cattrs converter with strict hooks, tagged by the stable event type tag.

The stored form of an event is its canonical JSON object (see ``_canonical``): ``type`` tag, ``version``,
``event_id`` and the fields not at their default. Decoding is strict (no coercion of ``1`` to ``"1"`` or of
``"false"`` to ``True``), upcasts old schema versions in memory through the registered upcasters, and turns
every failure into a :class:`~policytracker.exceptions.SerializationError` naming the tag, the field and,
when the caller knows them, the line or log position.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs
import cattrs
import pendulum
from cattrs.gen import make_dict_structure_fn, override

from policytracker._canonical import canonical_json, encode_event, encode_value
from policytracker._dates import FuzzyDate
from policytracker._events import Event, Source, event_class, upcasters_for
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


def parse_timestamp(text: str) -> pendulum.DateTime:
    """Read a timestamp in the form :func:`format_timestamp` writes, as a UTC ``pendulum.DateTime``.

    Raises:
        ValueError: *text* is not of that form.
    """
    if not isinstance(text, str) or not _TIMESTAMP.fullmatch(text):
        raise ValueError(f"expected a UTC timestamp like '2025-07-17T09:30:00.000000Z', got {text!r}")
    parsed = _dt.datetime.fromisoformat(text[:-1])
    return pendulum.instance(parsed.replace(tzinfo=_dt.UTC), tz=pendulum.UTC)


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
    structure_event = _EventStructurer(converter)
    converter.register_structure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Event), structure_event
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


class _EventStructurer:
    """Structure a tagged event object: tag lookup, version check, upcasting, strict field hooks."""

    def __init__(self, converter: cattrs.Converter) -> None:
        self._converter = converter
        self._hooks: dict[type[Event], Callable[[Mapping[str, Any], Any], Event]] = {}

    def _hook(self, cls: type[Event]) -> Callable[[Mapping[str, Any], Any], Event]:
        hook = self._hooks.get(cls)
        if hook is None:
            hook = make_dict_structure_fn(
                cls,
                self._converter,
                _cattrs_forbid_extra_keys=True,
                _given_event_id=override(omit=True),
            )
            self._hooks[cls] = hook
        return hook

    def __call__(self, obj: Any, expected: Any) -> Event:
        if type(obj) is not dict:
            raise SerializationError(f"expected an event object, got {_short(obj)}")
        tag = obj.get("type")
        if type(tag) is not str:
            raise SerializationError(f"event object has no string 'type' tag: {_short(obj)}")
        try:
            cls = event_class(tag)
        except LookupError as exc:
            raise SerializationError(str(exc), tag=tag) from None
        if isinstance(expected, type) and not issubclass(cls, expected):
            raise SerializationError(f"expected a {expected.__name__}, got an event of type {tag!r}", tag=tag)
        fields = _upcast(cls, tag, obj)
        raw_id = fields.pop("event_id", None)
        stored_id = _uuid_or_error(raw_id, tag) if raw_id is not None else None
        try:
            event = self._hook(cls)(fields, cls)
        except Exception as exc:  # cattrs wraps field errors in exception groups
            raise SerializationError(f"event {tag!r}: {_describe(exc)}", tag=tag) from exc
        if stored_id is not None and stored_id != event.event_id:
            # The stored id was given explicitly when the event was made: keep it, and keep it explicit.
            event = _with_explicit_id(event, stored_id)
        return event


def _upcast(cls: type[Event], tag: str, obj: dict[str, Any]) -> dict[str, Any]:
    version = obj.get("version")
    current = cls.__event_version__
    if type(version) is not int or version < 1:
        raise SerializationError(
            f"event {tag!r}: 'version' must be a whole number >= 1, got {version!r}", tag=tag
        )
    if version > current:
        raise SerializationError(
            f"event {tag!r} has schema version {version}, newer than the version {current} this "
            "policytracker knows; upgrade policytracker to read it",
            tag=tag,
        )
    fields = {key: value for key, value in obj.items() if key not in ("type", "version")}
    steps = upcasters_for(tag)
    while version < current:
        step = steps.get(version)
        if step is None:
            raise SerializationError(
                f"event {tag!r}: no upcaster from schema version {version} to {version + 1}", tag=tag
            )
        try:
            fields = step(dict(fields))
        except Exception as exc:
            raise SerializationError(
                f"event {tag!r}: upcaster from version {version} failed: {exc!r}", tag=tag
            ) from exc
        if type(fields) is not dict:
            raise SerializationError(
                f"event {tag!r}: upcaster from version {version} returned {type(fields).__name__}, "
                "not a dict",
                tag=tag,
            )
        version += 1
    return fields


def _uuid_or_error(raw: Any, tag: str) -> uuid.UUID:
    try:
        return _uuid(raw, uuid.UUID)
    except _FieldError as exc:
        raise SerializationError(f"event {tag!r}: event_id: {exc}", tag=tag) from None


def _with_explicit_id(event: Event, event_id: uuid.UUID) -> Event:
    return attrs.evolve(event, event_id=event_id)


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_CONVERTER = make_converter()


def event_to_dict(event: Event) -> dict[str, Any]:
    """The canonical, JSON-ready object of *event* (``type``, ``version``, ``event_id``, fields)."""
    return encode_event(event)


def event_to_json(event: Event) -> str:
    """The canonical JSON text of *event*: sorted keys, no whitespace, UTF-8 characters unescaped."""
    return canonical_json(encode_event(event))


def _where(line: int | None, position: int | None) -> str:
    if position is not None:
        return f"position {position}: "
    if line is not None:
        return f"line {line}: "
    return ""


def event_from_dict(obj: Mapping[str, Any], *, line: int | None = None, position: int | None = None) -> Event:
    """Decode a tagged event object (as :func:`event_to_dict` makes), upcasting old schema versions.

    *line* / *position* only say where *obj* came from, for error messages.

    Raises:
        SerializationError: unknown tag, future or unreachable version, missing, extra or ill-typed field,
            or a value the event class refuses; the message names the tag, the field and *line*/*position*.
    """
    try:
        event: Event = _CONVERTER.structure(obj, Event)
    except SerializationError as exc:
        raise SerializationError(
            f"{_where(line, position)}{exc}", tag=exc.tag, line=line, position=position
        ) from exc.__cause__
    return event


def event_from_json(text: str | bytes, *, line: int | None = None, position: int | None = None) -> Event:
    """Decode one event from JSON text; see :func:`event_from_dict`.

    Raises:
        SerializationError: malformed JSON, or anything :func:`event_from_dict` refuses.
    """
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(
            f"{_where(line, position)}malformed JSON: {exc}", line=line, position=position
        ) from exc
    return event_from_dict(obj, line=line, position=position)
