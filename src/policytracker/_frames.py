"""DataFrames of the effective history and of country state: ``events_frame``, ``states_frame`` and
``state_series_frame`` (the ``frames`` extra: ``pip install "policytracker[frames]"``).

pandas is imported inside the functions, never when policytracker is imported. Every cell holds a plain,
exact Python value: amounts are ``Decimal`` objects (never floats), days are ``datetime.date`` objects
(never midnight timestamps), a fuzzy date is kept as written beside its first and last day and its
precision. docs/frames.md lists every column and its dtype.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import types
import typing
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from policytracker._countries import country_name, normalize_country
from policytracker._dates import FuzzyDate
from policytracker._events import Event, EventCorrected, Source, registered_event_types
from policytracker._log._core import EventLog, Recorded
from policytracker._projections import CountryState, country_states, effective_events, state_series
from policytracker._projections._history import AsOf, KnownAt, check_as_of

if TYPE_CHECKING:
    import pandas

__all__ = ["events_frame", "state_series_frame", "states_frame"]

INSTALL = 'pip install "policytracker[frames]"'

# dtypes of the columns, by the kind of value they hold.
_TEXT = "string"
_OBJECT = "object"
_INT = "int64"
_NULLABLE_INT = "Int64"
_NULLABLE_BOOL = "boolean"
_MOMENT = "datetime64[us, UTC]"

# The columns every row of events_frame has, before the event's own fields, and after them.
_LEADING = {
    "position": _INT,
    "recorded_at": _MOMENT,
    "event_id": _TEXT,
    "type": _TEXT,
    "countries": _OBJECT,
    "occurred": _TEXT,
    "occurred_earliest": _OBJECT,
    "occurred_latest": _OBJECT,
    "occurred_precision": _TEXT,
}
_TRAILING = {"key": _TEXT, "note": _TEXT, "publishers": _TEXT, "sources": _OBJECT}
# Fields shown by the leading and trailing columns (PartnershipFormed's own ``countries`` included).
_SHOWN = frozenset({"occurred", "event_id", "countries", "key", "note", "sources"})


def _require_pandas(what: str) -> None:
    """Raise a clear ``ImportError`` unless pandas can be imported."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            f"{what} needs pandas, which is not installed; install the frames extra: {INSTALL}",
            name="pandas",
        ) from exc
    del pandas


# -- values -----


def _day(value: _dt.date) -> _dt.date:
    """*value* as a plain ``datetime.date`` (not a pendulum subclass), as frames and Arrow expect."""
    return _dt.date(value.year, value.month, value.day)


def _date_cells(name: str, value: FuzzyDate | None) -> dict[str, Any]:
    """The four columns of a fuzzy date: as written, its first and last day, its precision."""
    if value is None:
        return {name: None, f"{name}_earliest": None, f"{name}_latest": None, f"{name}_precision": None}
    return {
        name: str(value),
        f"{name}_earliest": _day(value.earliest),
        f"{name}_latest": _day(value.latest),
        f"{name}_precision": value.precision.value,
    }


def _date_dtypes(name: str) -> dict[str, str]:
    return {name: _TEXT, f"{name}_earliest": _OBJECT, f"{name}_latest": _OBJECT, f"{name}_precision": _TEXT}


def _plain(value: Any) -> Any:
    """*value* as plain, exact Python data: ``Decimal`` and ints as they are, dates as written (EDTF),
    ids as text, enums as their values, mappings as dicts, sets as sorted tuples, events and other attrs
    records as dicts of their public fields."""
    if value is None or isinstance(value, str | bool | int | Decimal):
        return value
    if isinstance(value, FuzzyDate | uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _day(value)
    if isinstance(value, Mapping):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, frozenset | set):
        return tuple(sorted((_plain(item) for item in value), key=str))
    if isinstance(value, tuple | list):
        return tuple(_plain(item) for item in value)
    if isinstance(value, Event):
        return _event_record(value)
    if attrs.has(type(value)):
        return {
            field.name: _plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if not field.name.startswith("_")
        }
    return value


def _event_record(event: Event) -> dict[str, Any]:
    """An event inside a state cell: its id, type tag, date as written and own fields (no sources)."""
    record: dict[str, Any] = {
        "event_id": str(event.event_id),
        "type": event.tag,
        "occurred": str(event.occurred),
    }
    for field in _own_fields(type(event)):
        record[field.name] = _plain(getattr(event, field.name))
    return record


def _source(source: Source) -> dict[str, Any]:
    return {
        "publisher": source.publisher,
        "url": source.url,
        "title": source.title,
        "published": None if source.published is None else str(source.published),
    }


# -- the event's own fields -----


@attrs.frozen
class _Field:
    name: str
    kind: str  # "text", "decimal", "int", "bool", "date", or "object"


def _kind(annotation: Any) -> str:
    options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(options) == 1:
        annotation = options[0]
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is Decimal:
        return "decimal"
    if annotation is FuzzyDate:
        return "date"
    if annotation in (str, uuid.UUID) or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return "text"
    return "object"


_OWN_FIELDS: dict[type[Event], tuple[_Field, ...]] = {}


def _own_fields(cls: type[Event]) -> tuple[_Field, ...]:
    """The public attrs fields of *cls* that the leading and trailing columns do not already show."""
    found = _OWN_FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _OWN_FIELDS[cls] = tuple(
            _Field(field.name, _kind(hints[field.name]))
            for field in attrs.fields(cls)
            if not field.name.startswith("_") and field.name not in _SHOWN
        )
    return found


_KIND_DTYPES = {"text": _TEXT, "decimal": _OBJECT, "int": _NULLABLE_INT, "bool": _NULLABLE_BOOL}


def _dtypes(kind: str, name: str) -> dict[str, str]:
    """The columns, with their dtypes, of a field of *kind* shown under *name*."""
    return _date_dtypes(name) if kind == "date" else {name: _KIND_DTYPES.get(kind, _OBJECT)}


def _field_cells(event: Event, field: _Field, name: str) -> dict[str, Any]:
    value = getattr(event, field.name)
    if field.kind == "date":
        return _date_cells(name, value)
    if field.kind == "text" and value is not None:
        return {name: str(value.value if isinstance(value, enum.Enum) else value)}
    if field.kind in ("decimal", "int", "bool"):
        return {name: value}
    return {name: _plain(value)}


def _column_name(name: str) -> str:
    """A field's column: its name, with ``_`` added when a leading or trailing column has it."""
    return f"{name}_" if name in _LEADING or name in _TRAILING else name


# -- frames -----


def _frame(rows: list[dict[str, Any]], dtypes: Mapping[str, str]) -> pandas.DataFrame:
    import pandas as pd

    def dtype(name: str) -> Any:
        return pd.DatetimeTZDtype(unit="us", tz="UTC") if name == _MOMENT else name

    columns = {
        name: pd.Series([row.get(name) for row in rows], dtype=dtype(kind)) for name, kind in dtypes.items()
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def events_frame(
    log: EventLog, *, country: str | None = None, as_of: AsOf = None, known_at: KnownAt = None
) -> pandas.DataFrame:
    """The effective history of *log* as a pandas DataFrame: one row per effective event, in valid-time
    order, exactly the events of :func:`effective_events` (with *country*, of :func:`timeline`).

    Columns: ``position`` and ``recorded_at`` (tz-aware UTC) of the record that put the effective version
    into the log (for a correction's replacement, the correction's record), ``event_id``, ``type`` (the
    type tag), ``countries`` (a tuple), ``occurred`` as written with ``occurred_earliest`` /
    ``occurred_latest`` (``datetime.date``) and ``occurred_precision``; then the events' own fields, one
    column each (amounts as ``Decimal``, never float; a fuzzy date as four columns like ``occurred``);
    then ``key`` (the curator's key, ``""`` when none), ``note``, ``publishers`` (the sources'
    publishers, joined by ``"; "``) and ``sources`` (a tuple of dicts with ``publisher``, ``url``,
    ``title``, ``published``). docs/frames.md lists every dtype.

    Reads the whole log once (up to *known_at*).

    Raises:
        ImportError: pandas is not installed (``pip install "policytracker[frames]"``).
        ValidationError: *country* is not a known code, or *as_of* / *known_at* are invalid.
    """
    _require_pandas("events_frame")
    code = None if country is None else normalize_country(country)
    origins: dict[uuid.UUID, Recorded] = {}
    events = effective_events(_noting_origins(log.read(), origins), as_of=as_of, known_at=known_at)
    if code is not None:
        events = [event for event in events if code in event.countries]
    rows = [_event_row(event, origins[event.event_id]) for event in events]
    dtypes = dict(_LEADING)
    dtypes.update(_field_dtypes({type(event) for event in events}))
    dtypes.update(_TRAILING)
    return _frame(rows, dtypes)


def _event_row(event: Event, record: Recorded) -> dict[str, Any]:
    row: dict[str, Any] = {
        "position": record.position,
        "recorded_at": record.recorded_at,
        "event_id": str(event.event_id),
        "type": event.tag,
        "countries": tuple(event.countries),
        **_date_cells("occurred", event.occurred),
        "key": event.key,
        "note": event.note,
        "publishers": "; ".join(dict.fromkeys(source.publisher for source in event.sources)),
        "sources": tuple(_source(source) for source in event.sources),
    }
    for field in _own_fields(type(event)):
        row.update(_field_cells(event, field, _column_name(field.name)))
    return row


def _field_dtypes(classes: Iterable[type[Event]]) -> dict[str, str]:
    """The own-field columns of the event types *classes*, in the order the types were registered (the
    built-in ones first), each type's fields in their order."""
    order = {cls: index for index, cls in enumerate(registered_event_types().values())}
    dtypes: dict[str, str] = {}
    for cls in sorted(classes, key=lambda cls: order.get(cls, len(order))):
        for field in _own_fields(cls):
            for column, dtype in _dtypes(field.kind, _column_name(field.name)).items():
                # A name two event types use for different kinds of value holds objects.
                dtypes[column] = dtype if dtypes.get(column, dtype) == dtype else _OBJECT
    return dtypes


def _noting_origins(records: Iterable[Recorded], origins: dict[uuid.UUID, Recorded]) -> Iterator[Recorded]:
    """*records*, noting for each event (and each correction's replacement) the first record that holds
    it."""
    for record in records:
        event = record.event
        origins.setdefault(event.event_id, record)
        if isinstance(event, EventCorrected):
            origins.setdefault(event.replacement.event_id, record)
        yield record


@functools.cache
def _state_kinds() -> dict[str, str]:
    """The kind of each ``CountryState`` field but ``country`` (a plain int is never missing)."""
    hints = typing.get_type_hints(CountryState)
    return {
        field.name: "count" if hints[field.name] is int else _kind(hints[field.name])
        for field in attrs.fields(CountryState)
        if field.name != "country"
    }


@functools.cache
def _state_dtypes() -> dict[str, str]:
    dtypes = {"country": _TEXT, "country_name": _TEXT}
    for name, kind in _state_kinds().items():
        dtypes.update({name: _INT} if kind == "count" else _dtypes(kind, name))
    return dtypes


def _storable_states(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """*rows* with each mapping column that is empty in every row made missing (None): Arrow, and so
    Parquet, has no struct without fields. A column with any entry keeps ``{}`` for the empty ones."""
    for name in _state_kinds():
        cells = [row.get(name) for row in rows]
        if cells and all(isinstance(cell, dict) and not cell for cell in cells):
            for row in rows:
                row[name] = None
    return rows


def _state_row(state: CountryState) -> dict[str, Any]:
    row: dict[str, Any] = {"country": state.country, "country_name": country_name(state.country)}
    for name, kind in _state_kinds().items():
        value = getattr(state, name)
        row.update(_date_cells(name, value) if kind == "date" else {name: _plain(value)})
    return row


def states_frame(log: EventLog, *, as_of: AsOf = None, known_at: KnownAt = None) -> pandas.DataFrame:
    """:func:`country_states` as a pandas DataFrame: one row per country, sorted by code.

    Columns: ``country``, ``country_name``, then one per ``CountryState`` field, named after it: mappings
    as dicts, sets as sorted tuples, events (``regulators``, ``imf_programs``, ``holdings_reports``'
    values, ...) as dicts of their id, type, date and own fields; amounts as ``Decimal``;
    ``reported_assets`` says which ``holdings`` figures rest on a holdings report. ``last_occurred`` is
    four columns, as written, first and last day, precision. docs/frames.md lists every dtype.

    Raises:
        ImportError: pandas is not installed (``pip install "policytracker[frames]"``).
        ValidationError: *as_of* or *known_at* are invalid.
    """
    _require_pandas("states_frame")
    states = country_states(log, as_of=as_of, known_at=known_at)
    return _frame(_storable_states([_state_row(state) for state in states.values()]), _state_dtypes())


def state_series_frame(
    log: EventLog, country: str, dates: Iterable[FuzzyDate | _dt.date | str], *, known_at: KnownAt = None
) -> pandas.DataFrame:
    """:func:`state_series` as a pandas DataFrame: one row per date (in the order given; a date given
    twice appears once), in one pass over the country's history.

    Column ``as_of`` is the day each row's state is for (``datetime.date``: a ``FuzzyDate`` or EDTF string
    counts as its last day); the other columns are those of :func:`states_frame`.

    Raises:
        ImportError: pandas is not installed (``pip install "policytracker[frames]"``).
        ValidationError: *country* is not a known code, a date is not a date, or *known_at* is invalid.
    """
    _require_pandas("state_series_frame")
    series = state_series(log, country, dates, known_at=known_at)
    rows = [
        {"as_of": _day(check_as_of(date, field="dates")), **_state_row(state)}
        for date, state in series.items()
    ]
    return _frame(_storable_states(rows), {"as_of": _OBJECT, **_state_dtypes()})
