"""Event files: curated datasets of events, one per line (JSON Lines) or row (CSV), without positions or
digests. ``load_events`` reads and checks a whole file before anything is written anywhere;
``dump_events`` writes the canonical JSON Lines form.

CSV files have a header row. ``type`` (the event type tag) and ``occurred`` are required; every other
column is a field name of the event types in the file (``country``, ``amount``, ``asset``, ``countries``,
``topics``, ``target``, ...). An empty cell means "not given". Tuple fields (``countries``, ``areas``,
``topics``) separate their items with ``;``. Booleans are ``true`` / ``false``. One source per row comes
from the columns ``source_publisher``, ``source_title``, ``source_url`` and ``source_published``. An
optional ``version`` column gives the schema version (default: the current one). Corrections carry a whole
replacement event, so they need JSON Lines.
"""

from __future__ import annotations

import csv
import enum
import functools
import io
import types
import typing
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import attrs

from policytracker._canonical import canonical_json
from policytracker._dates import FuzzyDate
from policytracker._events import Event, Source, event_class
from policytracker._serialization import event_from_dict, event_from_json, event_to_dict
from policytracker.exceptions import SerializationError

__all__ = ["CSV_SOURCE_COLUMNS", "dump_events", "load_events"]

CSV_SOURCE_COLUMNS = ("source_publisher", "source_title", "source_url", "source_published")
_MAX_LISTED = 20


def load_events(source: str | Path | IO[str], *, format: str | None = None) -> list[Event]:
    """Read every event of an event file (``.jsonl`` / ``.json`` lines or ``.csv``), checking all of them.

    *source* is a path or an open text stream; *format* (``"jsonl"`` or ``"csv"``) overrides the guess from
    the file name (streams default to ``"jsonl"``). Blank lines are skipped.

    Raises:
        SerializationError: one or more rows are bad; the message lists them (line numbers, tags, fields)
            and ``errors`` holds one error per bad row. Nothing has been written anywhere.
        SerializationError: the file is not UTF-8 text.
        FileNotFoundError: *source* does not exist.
    """
    kind = _format_of(source, format)
    name = str(source) if isinstance(source, str | Path) else getattr(source, "name", "<stream>")
    try:
        if isinstance(source, str | Path):
            with open(source, encoding="utf-8-sig", newline="") as stream:
                return _load(stream, kind, name)
        return _load(source, kind, name)
    except UnicodeDecodeError as exc:
        raise SerializationError(
            f"{name}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8"
        ) from None


def _format_of(source: Any, format: str | None) -> str:
    if format is not None:
        if format not in ("jsonl", "csv"):
            raise ValueError(f"format must be 'jsonl' or 'csv', got {format!r}")
        return format
    if isinstance(source, str | Path):
        suffix = Path(source).suffix.lower()
        if suffix == ".csv":
            return "csv"
        if suffix in (".jsonl", ".json", ".ndjson"):
            return "jsonl"
        raise ValueError(
            f"cannot tell the format of {str(source)!r}: name it .jsonl or .csv, or give the format"
        )
    return "jsonl"


def _load(stream: IO[str], kind: str, name: str) -> list[Event]:
    events: list[Event] = []
    errors: list[SerializationError] = []
    rows = _jsonl_rows(stream) if kind == "jsonl" else _csv_rows(stream)
    for line, parse in rows:
        try:
            events.append(parse())
        except SerializationError as exc:
            errors.append(
                exc if exc.line is not None else SerializationError(f"line {line}: {exc}", line=line)
            )
    if errors:
        listed = "\n".join(f"  {error}" for error in errors[:_MAX_LISTED])
        more = f"\n  … and {len(errors) - _MAX_LISTED} more" if len(errors) > _MAX_LISTED else ""
        raise SerializationError(
            f"{name}: {len(errors)} bad row{'s' if len(errors) != 1 else ''}; nothing was imported\n"
            f"{listed}{more}",
            errors=tuple(errors),
        )
    return events


def _jsonl_rows(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    for number, text in enumerate(stream, start=1):
        if text.strip():
            yield number, functools.partial(event_from_json, text, line=number)


def _csv_rows(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(stream)
    if reader.fieldnames is None:
        return
    missing = {"type", "occurred"} - set(reader.fieldnames)
    if missing:
        raise SerializationError(f"line 1: the CSV header lacks the columns {sorted(missing)}", line=1)
    for row in reader:
        number = reader.line_num
        yield number, functools.partial(_event_from_row, row, number)


def _event_from_row(row: dict[str, str | None], line: int) -> Event:
    if None in row:
        raise SerializationError(f"line {line}: more cells than header columns", line=line)
    tag = (row.get("type") or "").strip()
    try:
        cls = event_class(tag)
    except LookupError as exc:
        raise SerializationError(f"line {line}: {exc}", line=line, tag=tag) from None
    types = _field_types(cls)
    obj: dict[str, Any] = {"type": tag, "version": cls.__event_version__}
    for column, cell in row.items():
        value = (cell or "").strip()
        if not value or column == "type" or column in CSV_SOURCE_COLUMNS:
            continue
        if column == "version":
            obj["version"] = _int(value, column, line, tag)
            continue
        if column not in types:
            raise SerializationError(
                f"line {line}: column {column!r} is not a field of {tag!r} (its fields: {', '.join(types)})",
                line=line,
                tag=tag,
            )
        obj[column] = _cell(value, types[column], column, line, tag)
    source = _source(row, line)
    if source is not None:
        obj["sources"] = [source]
    return event_from_dict(obj, line=line)


_FIELD_TYPES: dict[type[Event], dict[str, Any]] = {}


def _field_types(cls: type[Event]) -> dict[str, Any]:
    found = _FIELD_TYPES.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELD_TYPES[cls] = {
            field.alias: hints[field.name] for field in attrs.fields(cls) if field.init
        }
    return found


def _cell(value: str, type_: Any, column: str, line: int, tag: str) -> Any:
    args = [arg for arg in typing.get_args(type_) if arg is not type(None)]
    if typing.get_origin(type_) in (typing.Union, types.UnionType) and args:
        type_ = args[0]
    if typing.get_origin(type_) is tuple:
        if typing.get_args(type_)[0] is Source:
            raise SerializationError(f"line {line}: give sources in the source_* columns", line=line, tag=tag)
        return [item.strip() for item in value.split(";") if item.strip()]
    if type_ is int:
        return _int(value, column, line, tag)
    if type_ is bool:
        if value.lower() not in ("true", "false"):
            raise SerializationError(
                f"line {line}: {column} must be true or false, got {value!r}", line=line, tag=tag
            )
        return value.lower() == "true"
    if isinstance(type_, type) and issubclass(type_, Event):
        raise SerializationError(
            f"line {line}: {column} holds a whole event; write corrections as JSON Lines", line=line, tag=tag
        )
    if type_ in (str, Decimal, FuzzyDate, uuid.UUID) or (
        isinstance(type_, type) and issubclass(type_, enum.Enum)
    ):
        return value
    raise SerializationError(f"line {line}: column {column!r} cannot be given in CSV", line=line, tag=tag)


def _int(value: str, column: str, line: int, tag: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SerializationError(
            f"line {line}: {column} must be a whole number, got {value!r}", line=line, tag=tag
        ) from None


def _source(row: dict[str, str | None], line: int) -> dict[str, str] | None:
    cells = {column.removeprefix("source_"): (row.get(column) or "").strip() for column in CSV_SOURCE_COLUMNS}
    given = {key: value for key, value in cells.items() if value}
    if not given:
        return None
    if "publisher" not in given:
        raise SerializationError(f"line {line}: a source needs source_publisher", line=line)
    return given


def dump_events(events: Iterable[Event], target: IO[str]) -> int:
    """Write *events* to *target* as canonical JSON Lines (ids included); return how many were written."""
    count = 0
    for event in events:
        target.write(canonical_json(event_to_dict(event)))
        target.write("\n")
        count += 1
    return count


def dumps_events(events: Iterable[Event]) -> str:
    """*events* as canonical JSON Lines text."""
    buffer = io.StringIO()
    dump_events(events, buffer)
    return buffer.getvalue()
