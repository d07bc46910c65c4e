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
import functools
import json
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, get_args, get_origin

import attrs
import cattrs

try:
    import orjson
except ImportError:  # pragma: no cover - without the fast extra
    orjson = None  # type: ignore[assignment]
import pendulum
from cattrs.gen import make_dict_structure_fn

from policytracker._canonical import _ORJSON, canonical_json, encode_event, encode_value
from policytracker._dates import FuzzyDate
from policytracker._events import Event, Source, StoredId, event_class, upcasters_for
from policytracker._fastlane import Lane, fast_lane
from policytracker.exceptions import PolicyTrackerError, SerializationError, ValidationError

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
    converter.register_structure_hook_func(lambda t: isinstance(t, type) and issubclass(t, Event), _STRUCTURE)

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


_Check = Callable[[Any], Any]
_SOURCES: dict[tuple[tuple[str, Any], ...], Source] = {}


class _Plan:
    """How to decode one event class, generated once: per JSON key, the init argument and a strict check
    of the JSON value's shape (the event class's own converters then validate the value itself)."""

    __slots__ = ("checks", "cls", "required")

    def __init__(self, cls: type[Event], structure: _EventStructurer) -> None:
        self.cls = cls
        hints = typing.get_type_hints(cls)
        self.checks: dict[str, _Check] = {}
        self.required: list[str] = []
        for field in attrs.fields(cls):
            if not field.init or field.alias == "event_id":
                continue
            self.checks[field.alias] = _check_for(hints[field.name], structure)
            if field.default is attrs.NOTHING:
                self.required.append(field.alias)


def _check_for(hint: Any, structure: _EventStructurer) -> _Check:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        inner = _check_for(next(arg for arg in args if arg is not type(None)), structure)
        return lambda value: None if value is None else inner(value)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _check_for(args[0], structure)

        def items(value: Any) -> Any:
            if type(value) is not list:
                raise _FieldError(f"expected a list, got {_short(value)}")
            return [item(entry) for entry in value]

        return items
    if hint is Source:
        return _source
    if isinstance(hint, type) and issubclass(hint, Event):
        return lambda value: structure(value, hint)
    if hint is bool:
        return lambda value: _bool(value, bool)
    if hint is int:
        return lambda value: _int(value, int)
    if hint is Decimal:
        return _decimal_text
    if hint in (str, FuzzyDate, uuid.UUID) or (isinstance(hint, type) and issubclass(hint, enum.Enum)):
        return _text  # the event class's converter parses and validates the text
    raise TypeError(f"no decoder for fields of type {hint!r}")


def _text(value: Any) -> str:
    if type(value) is not str:
        raise _FieldError(f"expected a string, got {_short(value)}")
    return value


def _decimal_text(value: Any) -> str:
    if type(value) is not str:
        raise _FieldError(f'expected a decimal number as a string such as "6238", got {_short(value)}')
    return value


def _source(value: Any) -> Source:
    """A ``Source`` from its object; equal sources are decoded once and shared (they repeat a lot)."""
    if type(value) is not dict:
        raise _FieldError(f"expected a source object, got {_short(value)}")
    key = tuple(value.items())  # canonical JSON is key-sorted already; other orders just miss the cache
    try:
        found = _SOURCES.get(key)
    except TypeError:  # an unhashable value: let the checks below say what is wrong
        found = None
    if found is not None:
        return found
    unknown = set(value) - {"publisher", "url", "title", "published"}
    if unknown:
        raise _FieldError(f"unknown source fields {sorted(unknown)}")
    if "publisher" not in value:
        raise _FieldError("source publisher: required field missing")
    for name, item in value.items():
        if type(item) is not str:
            raise _FieldError(f"source {name}: expected a string, got {_short(item)}")
    source = Source(**value)
    if len(_SOURCES) < 65536:
        _SOURCES[key] = source
    return source


class _EventStructurer:
    """Decode a tagged event object: tag lookup, version check, upcasting, then the class's plan."""

    def __init__(self, *, lanes: bool = True) -> None:
        # lanes=False: the general path only (the reference the fast lanes are tested against).
        self._plans: dict[type[Event], _Plan] = {}
        self._lanes: dict[type[Event], Lane | None] = {}
        self._use_lanes = lanes

    def __call__(self, obj: Any, expected: Any = Event) -> Event:
        if type(obj) is not dict:
            raise SerializationError(f"expected an event object, got {_short(obj)}")
        tag = obj.get("type")
        if type(tag) is not str:
            raise SerializationError(f"event object has no string 'type' tag: {_short(obj)}")
        try:
            cls = event_class(tag)
        except LookupError as exc:
            raise SerializationError(str(exc), tag=tag) from None
        if expected is not Event and isinstance(expected, type) and not issubclass(cls, expected):
            raise SerializationError(f"expected a {expected.__name__}, got an event of type {tag!r}", tag=tag)
        version = obj.get("version")
        if version == cls.__event_version__:
            try:
                lane = self._lanes[cls]
            except KeyError:
                lane = self._lanes[cls] = fast_lane(cls, _source) if self._use_lanes else None
                if lane is not None:
                    _TAG_LANES[tag] = (cls.__event_version__, lane)
            if lane is not None:
                event = lane(obj)
                if event is not None:
                    return event
            fields = obj
        else:
            fields = _upcast(cls, tag, obj)
        plan = self._plans.get(cls)
        if plan is None:
            plan = self._plans[cls] = _Plan(cls, self)
        checks = plan.checks
        kwargs: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("type", "version"):
                continue
            if key == "event_id":
                kwargs["event_id"] = StoredId(_uuid_or_error(value, tag))
                continue
            check = checks.get(key)
            if check is None:
                extra = sorted(set(fields) - set(checks) - {"type", "version", "event_id"})
                raise SerializationError(f"event {tag!r}: extra fields found ({', '.join(extra)})", tag=tag)
            try:
                kwargs[key] = check(value)
            except (_FieldError, ValidationError) as exc:
                raise SerializationError(f"event {tag!r}: field {key!r}: {exc}", tag=tag) from None
            except SerializationError as exc:
                raise SerializationError(f"event {tag!r}: field {key!r}: {exc}", tag=tag) from None
        if len(kwargs) - ("event_id" in kwargs) < len(checks):
            for name in plan.required:
                if name not in kwargs:
                    raise SerializationError(
                        f"event {tag!r}: field {name!r}: required field missing", tag=tag
                    )
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            where = f"field {exc.field!r}: " if exc.field else ""
            raise SerializationError(f"event {tag!r}: {where}{exc}", tag=tag) from None
        except (TypeError, ValueError) as exc:  # a user's own validator may raise anything of these
            raise SerializationError(f"event {tag!r}: {exc}", tag=tag) from None


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


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_STRUCTURE = _EventStructurer()


def event_to_dict(event: Event) -> dict[str, Any]:
    """The canonical, JSON-ready object of *event* (``type``, ``version``, ``event_id``, fields)."""
    return encode_event(event)


def event_to_json(event: Event) -> str:
    """The canonical JSON text of *event*: sorted keys, no whitespace, UTF-8 characters unescaped."""
    return canonical_json(encode_event(event))


#: JSON text → object: orjson when installed (the ``fast`` extra), else the stdlib.
_loads: Callable[[str | bytes], Any] = orjson.loads if _ORJSON else json.loads


def _where(line: int | None, position: int | None) -> str:
    if position is not None:
        return f"position {position}: "
    if line is not None:
        return f"line {line}: "
    return ""


#: tag → (schema version, fast lane) of the built-in classes met so far: the first thing decoding tries.
_TAG_LANES: dict[Any, tuple[int, Lane]] = {}


def _through_lane(obj: Any) -> Event | None:
    """The event decoded by the fast lane of *obj*'s tag, or None (no lane yet, or it stepped aside).
    Callers write ``_through_lane(obj) or _general(...)``: built-in events, the only ones with lanes, are
    always true."""
    if type(obj) is dict:
        tag = obj.get("type")
        entry = _TAG_LANES.get(tag) if type(tag) is str else None
        if entry is not None and obj.get("version") == entry[0]:
            return entry[1](obj)
    return None


def event_from_dict(obj: Mapping[str, Any], *, line: int | None = None, position: int | None = None) -> Event:
    """Decode a tagged event object (as :func:`event_to_dict` makes), upcasting old schema versions.

    *line* / *position* only say where *obj* came from, for error messages.

    Raises:
        SerializationError: unknown tag, future or unreachable version, missing, extra or ill-typed field,
            or a value the event class refuses; the message names the tag, the field and *line*/*position*.
    """
    return _through_lane(obj) or _general(obj, line, position)


def _general(obj: Any, line: int | None, position: int | None) -> Event:
    """The general decoder's event of *obj*, its error naming *line* / *position*."""
    try:
        return _STRUCTURE(obj)
    except SerializationError as exc:
        raise SerializationError(
            f"{_where(line, position)}{exc}", tag=exc.tag, line=line, position=position
        ) from exc.__cause__


def event_from_json(text: str | bytes, *, line: int | None = None, position: int | None = None) -> Event:
    """Decode one event from JSON text; see :func:`event_from_dict`.

    Raises:
        SerializationError: malformed JSON, or anything :func:`event_from_dict` refuses.
    """
    try:
        obj = _loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(
            f"{_where(line, position)}malformed JSON: {exc}", line=line, position=position
        ) from exc
    return _through_lane(obj) or _general(obj, line, position)
