"""The log contract: records, results, the capabilities a store may declare, the stored-record types and
the digest chain (docs/log.md). ``_base`` implements the contract once over a few store primitives."""

from __future__ import annotations

import datetime as _dt
import hashlib
import reprlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Protocol, Self, runtime_checkable

import attrs
import pendulum

from policytracker._canonical import canonical_json
from policytracker._codec import Index, decode_event, decode_text, index_event
from policytracker._events import Event
from policytracker.exceptions import (
    IntegrityError,
    SerializationError,
)

__all__ = [
    "AppendResult",
    "Clock",
    "EventLog",
    "EventReader",
    "Recorded",
    "Repairable",
    "Repaired",
    "StateKeeper",
    "StoredIndex",
    "StoredRecord",
    "StoredState",
    "Subscribable",
    "TornTail",
    "ValidTimeReader",
    "VerifyReport",
    "chain_digest",
    "check_record",
    "record_json",
]

#: A clock returns the timezone-aware moment to stamp on the next append.
Clock = Callable[[], _dt.datetime]


@attrs.frozen(kw_only=True)
class Recorded:
    """One stored event: its gap-free ``position`` (from 1), the UTC ``recorded_at`` stamp, the ``event``
    and the chained ``digest``."""

    position: int
    recorded_at: pendulum.DateTime
    event: Event
    digest: str


@attrs.frozen(kw_only=True)
class AppendResult:
    """What one ``append`` did: the records it ``written`` (in order), the ids it found already stored with
    identical content (``unchanged``, a no-op), and the log's ``head`` afterwards."""

    head: int
    written: tuple[Recorded, ...] = ()
    unchanged: tuple[uuid.UUID, ...] = ()

    @property
    def positions(self) -> tuple[int, ...]:
        """The positions of the newly written records."""
        return tuple(record.position for record in self.written)


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The result of ``verify()``: ``ok``, how many records were ``checked``, and for a damaged log the
    ``first_bad_position`` (the position, or for a JSON Lines file the line, where the chain breaks) and a
    human-readable ``reason``.

    ``head`` and ``head_digest`` are the position and digest of the last record found intact (0 and ""
    for an empty log): keep them elsewhere as a checkpoint, and ``verify(expect=(head, head_digest))``
    later proves that nothing up to it was changed or cut off.
    """

    ok: bool
    checked: int
    first_bad_position: int | None = None
    reason: str = ""
    head: int = 0
    head_digest: str = ""

    def __bool__(self) -> bool:
        return self.ok


#: A stored event as a store returns it: its canonical JSON text, or, from a store whose own format is
#: JSON, the object already parsed from that text.
StoredEvent = str | dict[str, Any]


class StoredRecord(NamedTuple):
    """A record as a store returns it, with ``previous``, the stored digest of the record before it (""
    for position 1; None when the store holds no record there), so that a read can check the record
    against its own digest and its predecessor's."""

    position: int
    recorded_at: str
    digest: str
    event: StoredEvent
    previous: str | None


def check_record(target: str, record: StoredRecord) -> str:
    """The canonical text of *record*'s event, once the record is found to match its digest and its
    predecessor's.

    Raises:
        IntegrityError: the predecessor is missing, or the record does not match its digest.
    """
    position, recorded_at, digest, event, previous = record
    if position == 1:
        previous = ""
    elif previous is None:
        raise IntegrityError(
            f"{target}: position {position - 1} is missing (reading position {position}); run verify() "
            "for details"
        )
    text = stored_text(event)
    if not (isinstance(text, str) and isinstance(recorded_at, str) and isinstance(previous, str)):
        raise IntegrityError(
            f"{target}: the record at position {position} (or the one before it) holds a value of the wrong "
            "type: it was changed; run verify() for details"
        )
    if chain_digest(previous, position, recorded_at, text) != digest:
        raise IntegrityError(
            f"{target}: the record at position {position} does not match its digest: it was changed, or "
            "the one before it was; run verify() for details"
        )
    return text


class StoredIndex(NamedTuple):
    """What a store keeps beside a stored event to answer reads, as stored: the type tag, the event id
    (its text), the countries (in the record, in order), the valid-time columns, and the countries of the
    store's country index for the record (in any order)."""

    position: int
    tag: str
    event_id: str
    countries: tuple[str, ...]
    valid_time: tuple[int | None, int | None, int | None]
    country_index: tuple[str, ...]


class NewRecord(NamedTuple):
    """A record as the log hands it to a store to write: the event's canonical text, its index entry, and
    its event id as the text holds it (hyphenated)."""

    position: int
    recorded_at: str
    digest: str
    text: str
    entry: Index
    event_id: str


def decode_stored(event: StoredEvent, position: int | None, *, line: int | None = None) -> Event:
    """The event of a stored record (errors name *position*, or the file's *line* when given)."""
    if line is not None:
        position = None
    if isinstance(event, str):
        decoded: Event = decode_text(event, position=position, line=line)
    else:
        decoded = decode_event(event, position=position, line=line)
    return decoded


def stored_text(event: StoredEvent) -> str | None:
    """The canonical text of a stored event (a parsed object is written back canonically), or None when
    the store holds something else there (bytes, a number): a changed record, never an event."""
    if isinstance(event, str):
        return event
    if not isinstance(event, dict):
        return None
    try:
        return canonical_json(event)
    except ValueError:  # a parsed object cannot hold what canonical JSON refuses, unless it was changed
        return None


def index_stored(
    event: StoredEvent,
    position: int,
    countries_of: Callable[[uuid.UUID], tuple[str, ...]],
    *,
    line: int | None = None,
) -> Index:
    """The index of a stored event; an amendment's countries include those of its target (*countries_of*)."""
    index = index_event(decode_stored(event, position, line=line))
    if index.target is None:
        return index
    return index._replace(countries=tuple(dict.fromkeys((*index.countries, *countries_of(index.target)))))


def paged(fetch: Callable[[int], Sequence[StoredRecord]], after: int, size: int) -> Iterator[StoredRecord]:
    """Stream records with keyset pagination: *fetch* returns at most *size* records after a position, in
    position order. Each page is a fresh query, so no cursor stays open between pages."""
    while True:
        batch = fetch(after)
        yield from batch
        if len(batch) < size:
            return
        after = batch[-1][0]


def check_folder(path: Path) -> None:
    """Refuse a file log whose folder does not exist (rather than creating folders on a typo)."""
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"cannot create the log {str(path)!r}: the folder {str(path.parent)!r} does not exist"
        )


#: What the ``policytracker_meta`` table of a database store says about itself.
STORAGE_FORMAT = "policytracker-log"


def check_storage_meta(target: str, meta: Mapping[str, str], version: int) -> None:
    """Refuse a database that is not a policytracker log, or whose storage schema is newer than this
    version of policytracker knows."""
    if meta.get("format") != STORAGE_FORMAT:
        raise SerializationError(f"{target}: not a policytracker log (format {meta.get('format')!r})")
    if schema_version(target, meta) > version:
        raise SerializationError(
            f"{target}: the log's storage schema version {meta['schema_version']} is newer than the version "
            f"{version} this policytracker knows; upgrade policytracker"
        )


def schema_version(target: str, meta: Mapping[str, str]) -> int:
    """The storage schema version *meta* records (0 when none: the first logs recorded none).

    Raises:
        SerializationError: it is not a whole number written in ASCII digits.
    """
    value = meta.get("schema_version", "0")
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9):
        raise SerializationError(
            f"{target}: the log's storage schema version {reprlib.repr(value)} is not a version number "
            "(digits only): its metadata was changed"
        )
    return int(value)


def record_json(position: int, recorded_at: str, event_json: str) -> str:
    """The canonical record that the digest chain hashes (docs/log.md): ``{"event":…,"position":n,
    "recorded_at":"…"}``, sorted keys, no whitespace. *event_json* must already be canonical; it is
    embedded as is."""
    return f'{{"event":{event_json},"position":{position},"recorded_at":"{recorded_at}"}}'


_sha256 = hashlib.sha256


def chain_digest(previous: str, position: int, recorded_at: str, event_json: str) -> str:
    """``sha256_hex(previous + canonical_record)``: the digest of record *position* (``previous`` is the
    empty string for position 1)."""
    return _sha256((previous + record_json(position, recorded_at, event_json)).encode("utf-8")).hexdigest()


@runtime_checkable
class EventLog(Protocol):
    """The append-only log of policy events; every store keeps this contract (see docs/log.md)."""

    @property
    def head(self) -> int:
        """The last position (0 when empty), read live from the store."""
        ...

    def append(self, events: Iterable[Event], *, expected_position: int | None = None) -> AppendResult:
        """Append *events* atomically: all or nothing."""
        ...

    def read(
        self,
        *,
        after: int = 0,
        country: str | None = None,
        types: Iterable[type[Event] | str] | None = None,
    ) -> Iterator[Recorded]:
        """Stored records after position *after*, in position order, streaming."""
        ...

    def verify(self, *, expect: tuple[int, str] | None = None) -> VerifyReport:
        """Recompute the digest chain and report the first record that does not match (or, with *expect*,
        a ``(position, digest)`` checkpoint the log no longer holds)."""
        ...

    def close(self) -> None:
        """Release the store's resources; the log cannot be used afterwards."""
        ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Recorded]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class ValidTimeReader(Protocol):
    """A store that hands over its standalone events in valid-time order, streaming (projections use it to
    fold without sorting the log in memory)."""

    def valid_time_events(
        self,
        *,
        last_day: int | None = None,
        known_at: _dt.datetime | None = None,
        country: str | None = None,
        types: frozenset[str] | None = None,
        gaps_checked: bool = False,
    ) -> Iterator[Event]:
        """The standalone events (no retractions or corrections) in valid-time order: those recorded at or
        before *known_at*, whose last day (a proleptic Gregorian ordinal) is on or before *last_day* and,
        when *country* (an alpha-2 code) is given, that are about that country, and when *types* (type
        tags) are given, of those types. A store checks first that no record is missing among those it
        passes over, unless *gaps_checked* says the caller has just done so."""
        ...


@runtime_checkable
class EventReader(Protocol):
    """A store that hands over bare events in position order, without their ``Recorded`` wrapping."""

    def read_events(self, *, after: int = 0) -> Iterator[Event]:
        """The stored events after position *after*, in position order."""
        ...


class StoredState(NamedTuple):
    """A projection's state kept in the store beside the records (see ``StateKeeper``): its ``name``, the
    ``position`` and ``digest`` of the last record it folds in, and its ``content`` (JSON text, in the
    projection's own documented format)."""

    name: str
    position: int
    digest: str
    content: str


@runtime_checkable
class StateKeeper(Protocol):
    """A store that keeps projection states beside its records: written only on request (a state is
    derived data, never a record), checked whenever it is read, and ignored when it does not match."""

    def load_state(self, name: str) -> StoredState | None:
        """The state stored under *name*, or None when there is none or it does not match the log: its
        content does not match the digest stored with it, or the log does not hold the record it was taken
        at with that record's digest."""
        ...

    def save_state(self, state: StoredState) -> None:
        """Store *state* under its name, replacing any earlier one."""
        ...

    def index_countries(self, event_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, tuple[str, ...]]:
        """The countries the store's index gives each record of *event_ids* (a retraction's or
        correction's include its target's); ids not in the log are left out."""
        ...


@runtime_checkable
class Subscribable(Protocol):
    """A store that pushes new records to readers as they are committed."""

    def subscribe(self, *, after: int = 0, timeout: float | None = None) -> Iterator[Recorded]:
        """Every record after *after*, waiting for new ones; stops after *timeout* quiet seconds."""
        ...


@runtime_checkable
class Repairable(Protocol):
    """A store in which a crash can leave an append half-written, and which can remove it on request."""

    def repair(self) -> Repaired | None:
        """Remove a half-written final append and say what was removed (None: there was nothing to
        remove)."""
        ...


@attrs.frozen(kw_only=True)
class TornTail:
    """An incomplete final write: its 1-based ``line`` number, its ``size`` in bytes and (the start of) its
    ``text``."""

    line: int
    size: int
    text: str


@attrs.frozen(kw_only=True)
class Repaired:
    """What ``repair()`` removed from the end of a log: the ``positions`` of the complete records of an
    append cut by a crash (first and last, or () when there were none), ``batch_size``, how many records
    that append wrote (None when there were none), the ``torn`` final line, if any, and ``size``, the
    bytes removed in all."""

    positions: tuple[int, int] | tuple[()]
    batch_size: int | None
    torn: TornTail | None
    size: int

    def __str__(self) -> str:
        parts = []
        if self.positions:
            first, last = self.positions
            where = f"position {first}" if first == last else f"positions {first} to {last}"
            parts.append(
                f"{where}, the first {last - first + 1} of its {self.batch_size} records of an append cut "
                "off by a crash"
            )
        if self.torn is not None:
            parts.append(f"a torn final line (line {self.torn.line}, {self.torn.size} bytes)")
        return f"removed {' and '.join(parts)}: {self.size} bytes in all"
