"""CSV for spreadsheets: events in the event-file CSV layout, and tables of rows.

Every CSV written here opens correctly in a spreadsheet: it starts with a UTF-8 byte-order mark (so Excel
reads it as UTF-8), cells are quoted where they hold a comma, a quote or a line break, and a text cell that
a spreadsheet would run as a formula (one beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is written with a leading apostrophe. Numbers are written in full, without thousands separators.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

import attrs

from policytracker._eventfiles import CSV_SOURCE_COLUMNS
from policytracker._events import Event, registered_event_types
from policytracker._serialization import event_to_dict

__all__ = ["BOM", "EventsWritten", "protect", "write_events", "write_rows"]

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Fields with columns of their own in the event-file layout, or none (the id is derived again on import).
_NOT_FIELD_COLUMNS = frozenset({"occurred", "sources", "note", "event_id"})


def protect(text: str) -> str:
    """*text* with a leading apostrophe when a spreadsheet would run it as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    """One cell: numbers as they are, anything else protected against formula injection."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    return protect(str(value))


def write_rows(header: Sequence[str], rows: Iterable[Sequence[Any]], target: IO[str]) -> int:
    """Write a byte-order mark, *header* and *rows* (cells as :func:`_cell` writes them) to *target*;
    return how many rows were written."""
    target.write(BOM)
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow([protect(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        count += 1
    return count


@attrs.frozen(kw_only=True)
class EventsWritten:
    """What :func:`write_events` wrote: how many events, and how many will not re-import unchanged."""

    count: int
    several_sources: int  # events with more than one source: the CSV keeps the first
    protected: int  # events with a text cell protected against formula injection
    not_in_csv: int  # events with a field the CSV layout cannot hold (written as JSON)

    @property
    def lossless(self) -> bool:
        """Whether importing the CSV gives back the very same events."""
        return not (self.several_sources or self.protected or self.not_in_csv)


def _field_columns(classes: Iterable[type[Event]]) -> list[str]:
    order = {cls: index for index, cls in enumerate(registered_event_types().values())}
    columns: dict[str, None] = {}
    for cls in sorted(set(classes), key=lambda cls: order.get(cls, len(order))):
        for field in attrs.fields(cls):
            if field.init and not field.name.startswith("_") and field.alias not in _NOT_FIELD_COLUMNS:
                columns[field.alias] = None
    return list(columns)


def write_events(events: Sequence[Event], target: IO[str]) -> EventsWritten:
    """Write *events* to *target* in the event-file CSV layout (``load_events`` reads it back): ``type``,
    ``occurred``, one column per field of the event types present, ``note``, and the ``source_*`` columns
    of the first source. Tuple fields join their items with ``;``."""
    fields = _field_columns(type(event) for event in events)
    header = ["type", "occurred", *fields, "note", *CSV_SOURCE_COLUMNS]
    several = protected = not_in_csv = 0
    rows = []
    for event in events:
        encoded = event_to_dict(event)
        sources = encoded.get("sources") or [{}]
        cells: list[Any] = [event.tag, encoded["occurred"]]
        as_json = False
        for name in fields:
            value = encoded.get(name)
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                value = ";".join(value)
            elif isinstance(value, dict | list):
                value, as_json = json.dumps(value, sort_keys=True), True
            elif isinstance(value, str) and isinstance(getattr(event, name, None), int | Decimal):
                value = getattr(event, name)  # a number, never protected
            cells.append(value)
        cells.append(encoded.get("note"))
        cells.extend(sources[0].get(column.removeprefix("source_")) for column in CSV_SOURCE_COLUMNS)
        several += len(sources) > 1
        not_in_csv += as_json
        protected += any(isinstance(cell, str) and protect(cell) != cell for cell in cells)
        rows.append(cells)
    count = write_rows(header, rows, target)
    return EventsWritten(count=count, several_sources=several, protected=protected, not_in_csv=not_in_csv)
