"""``BaseLog``: the log contract implemented once, over a handful of store primitives.

``BaseLog`` implements the whole of ``EventLog`` (validation, idempotent re-appends, duplicate and
concurrency checks, positions, ``recorded_at`` stamps, the digest chain, reading and verifying) on top of a
handful of store primitives, so that every store behaves the same way by construction. A store supplies:

- ``_transaction()``: a context manager holding the store's write lock (a SQLite ``BEGIN IMMEDIATE``, an OS
  file lock, a mutex) for the duration of one append;
- ``_tail()``: ``(head, last digest, last recorded_at text)``, read inside the transaction;
- ``_lookup(ids)``: the stored event and countries of those of *ids* (each id with its hyphenated text)
  that are in the log;
- ``_write(records)``: store :class:`NewRecord` s, their text and their index, inside the transaction;
- ``_scan(after, country, tags)``: :class:`StoredRecord` s in position order, streaming;
- ``_head()`` and ``close()``.

Stores store and return; they never parse or interpret an event. What they keep beside its text to answer
reads (its countries, tag, id and valid-time columns) is the codec's :class:`~policytracker._codec.Index`,
derived here.
"""

from __future__ import annotations

import abc
import datetime as _dt
import hashlib
import reprlib
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from policytracker._codec import Index, decode_text, index_event, stored_form, valid_time_columns
from policytracker._countries import normalize_country
from policytracker._dates import day_ordinals
from policytracker._events import AMENDMENT_TAGS, Event, EventCorrected, EventRetracted, event_class
from policytracker._gcpause import collector_paused
from policytracker._log._core import (
    STORAGE_FORMAT,
    AppendResult,
    Clock,
    NewRecord,
    Recorded,
    StoredEvent,
    StoredIndex,
    StoredRecord,
    StoredState,
    VerifyReport,
    chain_digest,
    check_record,
    check_storage_meta,
    decode_stored,
    index_stored,
    schema_version,
    stored_text,
)
from policytracker._serialization import format_timestamp, parse_timestamp
from policytracker.exceptions import (
    ConcurrencyError,
    DuplicateEventError,
    IntegrityError,
    SerializationError,
    ValidationError,
)

__all__ = [
    "BaseLog",
    "DigestTable",
    "IndexedLog",
    "UnreadableStates",
    "ValidTimeOrdered",
    "copy_records",
    "records_to_copy",
]

T = TypeVar("T")


def _system_clock() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class BaseLog(abc.ABC):
    """Implements ``EventLog`` over the store primitives described in the module docstring."""

    #: Human-readable name of the target, used in error messages.
    target: str

    def __init__(self, target: str, clock: Clock | None) -> None:
        self.target = target
        self._clock: Clock = clock if clock is not None else _system_clock
        self._mutex = threading.RLock()
        self._closed = False

    # -- store primitives ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def _transaction(self) -> AbstractContextManager[None]: ...

    @abc.abstractmethod
    def _tail(self) -> tuple[int, str, str | None]: ...

    @abc.abstractmethod
    def _lookup(
        self, ids: Mapping[uuid.UUID, str]
    ) -> Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]]: ...

    @abc.abstractmethod
    def _write(self, records: Sequence[NewRecord]) -> None: ...

    @abc.abstractmethod
    def _scan(
        self, after: int, country: str | None, tags: frozenset[str] | None
    ) -> Iterator[StoredRecord]: ...

    @abc.abstractmethod
    def _head(self) -> int: ...

    @abc.abstractmethod
    def _close(self) -> None:
        """Release store resources (the base marks the log closed)."""

    def _read_states(self) -> list[tuple[str, int, str, str, str]]:
        """Every stored state as ``(name, position, digest, content, content digest)``, as stored (none by
        default).

        Raises:
            UnreadableStates: the store's states cannot be read at all.
        """
        return []

    def _write_state(self, row: tuple[str, int, str, str, str]) -> None:
        """Store a state row (see :meth:`_read_states`) under its name, replacing any earlier one, inside
        the caller's transaction."""
        raise NotImplementedError(f"{type(self).__name__} does not keep stored states")

    # -- the contract -----------------------------------------------------------------------------------

    @property
    def head(self) -> int:
        """The last position (0 when empty), read live from the store, so other writers' appends count."""
        self._check_open()
        return self._head()

    def __len__(self) -> int:
        return self.head

    def __iter__(self) -> Iterator[Recorded]:
        return self.read()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.target!r} ({state})>"

    def _repr_html_(self) -> str:
        from policytracker._html import log_html

        return log_html(self)

    def close(self) -> None:
        """Release the store's resources. Closing twice is harmless; a closed log raises ``ValueError``."""
        if not self._closed:
            self._closed = True
            self._close()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the log {self.target!r} is closed")

    def append(self, events: Iterable[Event], *, expected_position: int | None = None) -> AppendResult:
        """Append *events* atomically, in the order given: all are written, or none.

        *expected_position* is the ``head`` the caller last saw; when another writer has appended since,
        :class:`ConcurrencyError` is raised. An event whose ``event_id`` is already stored with identical
        content is skipped and listed in ``unchanged``; the same id with different content is a
        :class:`DuplicateEventError`. A retraction or correction must name an event already in the log (or
        earlier in *events*), else :class:`ValidationError`. One append shares one ``recorded_at`` stamp,
        which never goes backwards. Nothing is written when anything is refused.
        """
        self._check_open()
        with collector_paused():
            return self._append(events, expected_position)

    def _append(self, events: Iterable[Event], expected_position: int | None) -> AppendResult:
        batch = self._prepare(events)
        if expected_position is not None and (type(expected_position) is not int or expected_position < 0):
            raise ValidationError(
                f"expected_position must be an int >= 0, got {expected_position!r}", field="expected_position"
            )
        with self._mutex, self._transaction():
            head, digest, last_stamp = self._tail()
            if expected_position is not None and expected_position != head:
                raise ConcurrencyError(
                    f"{self.target}: expected the head at position {expected_position}, but it is at {head}; "
                    "another writer appended first. Re-read the log and retry.",
                    expected=expected_position,
                    actual=head,
                )
            wanted = {event.event_id: id_text for event, _, id_text in batch}
            for event, _, _ in batch:
                if isinstance(event, EventRetracted | EventCorrected) and event.target not in wanted:
                    wanted[event.target] = str(event.target)
            stored = self._lookup(wanted)
            stamp = self._next_stamp(last_stamp) if batch else ""
            rows, unchanged = self._plan(batch, stored, head, digest, stamp)
            if rows:
                self._write([row for row, _ in rows.values()])
        if not rows:
            return AppendResult(head=head, written=(), unchanged=tuple(unchanged))
        recorded_at = parse_timestamp(stamp)  # one append shares one stamp
        written = tuple(
            Recorded(position=row.position, recorded_at=recorded_at, event=event, digest=row.digest)
            for row, event in rows.values()
        )
        return AppendResult(head=head + len(written), written=written, unchanged=tuple(unchanged))

    def _prepare(self, events: Iterable[Event]) -> list[tuple[Event, str, str]]:
        if isinstance(events, Event):
            raise ValidationError("append takes an iterable of events; wrap a single event in a list")
        batch = []
        for index, event in enumerate(events):
            if not isinstance(event, Event):
                raise ValidationError(f"events[{index}]: expected an Event, got {event!r}")
            if event.event_id.__class__ is not uuid.UUID:  # set anew past the frozen class
                raise ValidationError(
                    f"events[{index}]: event_id: expected a UUID, got {event.event_id!r}", field="event_id"
                )
            try:
                batch.append(stored_form(event))
            except ValidationError as exc:
                raise ValidationError(f"events[{index}]: {exc}", field=exc.field) from None
        return batch

    def _next_stamp(self, last_stamp: str | None) -> str:
        moment = self._clock()
        if not isinstance(moment, _dt.datetime) or moment.tzinfo is None or moment.utcoffset() is None:
            raise ValidationError(f"the log's clock must return a timezone-aware datetime, got {moment!r}")
        try:
            stamp = format_timestamp(moment)
            parse_timestamp(stamp)  # what is written must read back: four-digit years, in UTC
        except (ValueError, OverflowError):
            raise ValidationError(
                f"the log's clock returned {moment!r}, which is not a UTC moment in the years 1000 to 9999 "
                "that a log can store; check the clock"
            ) from None
        # Fixed-width UTC text compares like the moments it names; never let recorded_at go backwards.
        return max(stamp, last_stamp) if last_stamp is not None else stamp

    def _plan(
        self,
        batch: list[tuple[Event, str, str]],
        stored: Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]],
        head: int,
        digest: str,
        stamp: str,
    ) -> tuple[dict[uuid.UUID, tuple[NewRecord, Event]], list[uuid.UUID]]:
        """The records to write for *batch* after record *head* (of digest *digest*), stamped *stamp*, and
        the ids of the events already stored with the same content."""
        rows: dict[uuid.UUID, tuple[NewRecord, Event]] = {}
        unchanged: list[uuid.UUID] = []
        position = head
        for number, (event, text, id_text) in enumerate(batch):
            event_id = event.event_id
            if event_id in stored or event_id in rows:
                previous = rows[event_id][1] if event_id in rows else decode_stored(stored[event_id][0], 0)
                if previous != event:
                    raise DuplicateEventError(
                        f"events[{number}]: event_id {event_id} is already in {self.target} with different "
                        "content; record a change as an EventCorrected, or give the new event its own id"
                    )
                unchanged.append(event_id)
                continue
            index = index_event(event, self._target_countries(number, event, stored, rows))
            position += 1
            digest = chain_digest(digest, position, stamp, text)
            rows[event_id] = (NewRecord(position, stamp, digest, text, index, id_text), event)
        return rows, unchanged

    def _target_countries(
        self,
        number: int,
        event: Event,
        stored: Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]],
        rows: Mapping[uuid.UUID, tuple[NewRecord, Event]],
    ) -> tuple[str, ...]:
        """The countries of the event an amendment targets (refusing a target not in the log, and a
        correction of a retraction); () for a standalone event."""
        if not isinstance(event, EventRetracted | EventCorrected):
            return ()
        target = event.target
        if target in rows:
            target_event: Event | None = rows[target][1]
            target_countries = rows[target][0].entry.countries
        elif target in stored:
            target_event = None
            target_countries = stored[target][1]
        else:
            raise ValidationError(
                f"events[{number}]: {type(event).__name__} targets {target}, which is not in {self.target}; "
                "append the event it refers to first",
                field="target",
            )
        if isinstance(event, EventCorrected):
            if target_event is None:
                target_event = decode_stored(stored[target][0], 0)
            if isinstance(target_event, EventRetracted):
                raise ValidationError(
                    f"events[{number}]: an EventCorrected cannot target the retraction {target}; to undo a "
                    "retraction, retract it",
                    field="target",
                )
        return target_countries

    def _gap_free(self, after: int) -> Iterator[StoredRecord]:
        """Every stored record after *after*, refusing a gap in positions."""
        expected = after + 1
        for row in self._scan(after, None, None):
            if row.position != expected:
                raise self._gap(expected, row.position)
            expected += 1
            yield row

    def read(
        self,
        *,
        after: int = 0,
        country: str | None = None,
        types: Iterable[type[Event] | str] | None = None,
    ) -> Iterator[Recorded]:
        """Stored records with a position greater than *after*, in position order, streaming.

        *country* keeps the records that touch that country (a retraction or correction touches its
        target's countries); *types* keeps the records of those event classes or type tags.

        Raises:
            ValidationError: an unknown country code or type, or a negative *after*.
            SerializationError: a stored record cannot be decoded (the message names its position).
            IntegrityError: positions are not gap-free.
        """
        self._check_open()
        if type(after) is not int or after < 0:
            raise ValidationError(f"after must be an int >= 0, got {after!r}", field="after")
        code = None if country is None else normalize_country(country, field="country")
        tags = None if types is None else _tags(types)
        if code is not None or tags is not None:
            # It passes over the records of other countries or types, so it would not notice one removed
            # among them: the positions are checked first (a whole read notices a gap itself).
            self._check_positions()
        return self._read(after, code, tags)

    def _read(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[Recorded]:
        # The hottest loop of the library: the gap check is inlined rather than a generator layer.
        expected = after + 1
        check_gaps = country is None and tags is None
        target = self.target
        for record in self._scan(after, country, tags):
            position = record.position
            if check_gaps and position != expected:
                raise self._gap(expected, position)
            expected = position + 1
            event = decode_stored(check_record(target, record), position)
            if not check_gaps:
                self._check_selected(event, position, country, tags)
            yield Recorded(
                position=position,
                recorded_at=parse_timestamp(record.recorded_at),
                event=event,
                digest=record.digest,
            )

    def _check_selected(
        self, event: Event, position: int, country: str | None, tags: frozenset[str] | None
    ) -> None:
        """Refuse a record that a filtered read's index selected although the event says otherwise (the
        stored index was changed): its type, or, for a standalone event, its countries."""
        wrong = ""
        if tags is not None and event.tag not in tags:
            wrong = f"type {event.tag!r}"
        elif country is not None and event.tag not in AMENDMENT_TAGS and country not in event.countries:
            wrong = f"countries {event.countries!r}"
        if wrong:
            raise IntegrityError(
                f"{self.target}: the index selected position {position}, but its event has the {wrong}: the "
                "stored index was changed; run verify() for details"
            )

    def _gap(self, expected: int, found: int) -> IntegrityError:
        return IntegrityError(
            f"{self.target}: position {expected} is missing (the next stored record is {found}); "
            "run verify() for details"
        )

    def read_events(self, *, after: int = 0) -> Iterator[Event]:
        """The stored events after position *after*, in position order, without their ``Recorded``
        wrapping (for folds that need neither stamps nor digests). Same errors as :meth:`read`."""
        self._check_open()
        for row in self._gap_free(after):
            yield decode_stored(check_record(self.target, row), row.position)

    def verify(self, *, expect: tuple[int, str] | None = None) -> VerifyReport:
        """Recompute the digest chain from the stored bytes, check every stored index value (type,
        event id, countries, valid-time columns, country index) against what the codec derives from the
        stored event, and report the first record that does not match.

        Detects a changed byte, a deleted, inserted or swapped record, a changed index column, and (for
        files) a torn final write. A chain alone cannot show that records were cut off its end: pass
        *expect*, a ``(position, digest)`` checkpoint kept elsewhere (a report's ``head`` and
        ``head_digest``), and the log must still hold that record with that digest. Nothing is repaired.

        Raises:
            ValidationError: *expect* is not a ``(position >= 1, 64 hex digits)`` pair.
        """
        self._check_open()
        checkpoint = _checkpoint(expect)
        report = self._verify_records()
        if report.ok:
            report = self._verify_states(report)
        if checkpoint is None:
            return report
        if not report.ok:
            if checkpoint[0] <= report.head:
                return report
            # Damage before the checkpoint's record: what a crash leaves is not to be removed, since the
            # checkpoint shows those records were committed.
            return attrs.evolve(
                report,
                reason=f"{report.reason}; the checkpoint shows that records up to {checkpoint[0]} were "
                "committed: restore the log from a copy rather than repair it",
            )
        return _against(report, checkpoint, self._digest_at(checkpoint[0]))

    def _verify_records(self, rows: Iterable[StoredRecord] | None = None) -> VerifyReport:
        """Check *rows* (default: the stored records, as a copy reads them) against the digest chain and
        the stored index."""
        digest, checked = "", 0
        indexes = self._stored_index()
        for row in self._raw_rows() if rows is None else rows:
            expected_position = checked + 1
            if row.position != expected_position:
                return _bad(
                    checked,
                    digest,
                    expected_position,
                    f"expected position {expected_position}, found {row.position}: a record is missing, "
                    "duplicated or out of order",
                )
            text = stored_text(row.event)
            if text is None or not isinstance(row.recorded_at, str) or not isinstance(row.digest, str):
                return _bad(
                    checked,
                    digest,
                    row.position,
                    f"position {row.position} holds a value of the wrong type: the record was changed",
                )
            if chain_digest(digest, row.position, row.recorded_at, text) != row.digest:
                return _bad(
                    checked,
                    digest,
                    row.position,
                    f"the digest of position {row.position} does not match its content or the records "
                    "before it: the record was changed, or one before it was",
                )
            try:
                mismatch = self._index_mismatch(row.position, text, next(indexes, None))
            except SerializationError as exc:  # a type or version this version cannot read
                reason = str(exc).removeprefix(f"position {row.position}: ")
                mismatch = f"the stored event cannot be read: {reason}"
            if mismatch:
                return _bad(checked, digest, row.position, f"position {row.position}: {mismatch}")
            digest, checked = row.digest, checked + 1
        beyond = self._indexed_beyond(checked)
        if beyond is not None:
            # Reads pass over such a row, but the next append at its position would be indexed under its
            # country too. The records are intact, so no position is the first bad one.
            position, country = beyond
            shown = str(position) if type(position) is int else reprlib.repr(position)
            return VerifyReport(
                ok=False,
                checked=checked,
                reason=f"the stored country index lists position {shown} (for {reprlib.repr(country)}), "
                "which the log does not hold: the index was changed",
                head=checked,
                head_digest=digest,
            )
        short = self._index_short_of(checked)
        if short:
            return VerifyReport(ok=False, checked=checked, reason=short, head=checked, head_digest=digest)
        return VerifyReport(ok=True, checked=checked, head=checked, head_digest=digest)

    def _index_short_of(self, count: int) -> str:
        """Why one of the store's own indexes of the records does not hold an entry for each of the *count*
        records (a read through it would pass over a record without a word), or ""."""
        return ""

    def _indexed_beyond(self, head: int) -> tuple[object, object] | None:
        """The lowest ``(position, country)``, as stored, that the store's country index holds for no
        record: outside positions 1 to *head*, or not an integer. None when there is none (also for a
        store whose country index is built from its records)."""
        return None

    # -- stored states ----------------------------------------------------------------------------------

    def load_state(self, name: str) -> StoredState | None:
        """The state stored under *name* (see ``StateKeeper``), or None when there is none, or when it
        does not match: its content has another digest than the one stored with it, or the log does not
        hold the record it was taken at with that record's digest. Takes no lock."""
        self._check_open()
        try:
            rows = self._read_states()
        except UnreadableStates:  # derived data: ignored, and verify() reports it
            return None
        for row in rows:
            if row[0] == name:
                return None if self._state_mismatch(row) else StoredState(*row[:4])
        return None

    def save_state(self, state: StoredState) -> None:
        """Store *state* under its name, replacing any earlier one, with the digest of its content.

        Raises:
            IntegrityError: the log does not hold the record *state* was taken at with its digest.
            PermissionError: the log is read-only.
        """
        self._check_open()
        row = (state.name, state.position, state.digest, state.content, _content_digest(state.content))
        # Records never change, so checking the record outside the write transaction is as good as inside.
        if state.position and self._digest_at(state.position) != state.digest:
            raise IntegrityError(
                f"{self.target}: the state {state.name!r} was taken at position {state.position}, which "
                "this log does not hold with that digest"
            )
        with self._mutex, self._transaction():
            self._write_state(row)

    def index_countries(self, event_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, tuple[str, ...]]:
        """The countries the index gives each record of *event_ids* (ids not in the log are left out)."""
        self._check_open()
        wanted = {event_id: str(event_id) for event_id in event_ids}
        return {event_id: found[1] for event_id, found in self._lookup(wanted).items()}

    def _state_mismatch(self, row: tuple[str, int, str, str, str]) -> str:
        """Why a stored state row does not match the log, or ""."""
        name, position, digest, content, content_digest = row
        if not (
            isinstance(name, str)
            and type(position) is int
            and 0 <= position < 2**63  # a log's positions, which a store can look up
            and all(isinstance(text, str) for text in (name, digest, content, content_digest))
        ):
            return f"the stored state {reprlib.repr(name)} holds a value of the wrong type: it was changed"
        try:
            found = _content_digest(content)
        except UnicodeEncodeError:  # a lone surrogate, read from a \ud800 escape: no UTF-8 text holds it
            return f"the stored state {reprlib.repr(name)} holds a value of the wrong type: it was changed"
        if found != content_digest:
            return f"the stored state {reprlib.repr(name)} does not match its digest: it was changed"
        if position and self._digest_at(position) != digest:
            return (
                f"the stored state {reprlib.repr(name)} was taken at position {position}, which this log "
                "does not hold with that digest: it is of another log, or the log was changed"
            )
        return self._positions_missing()

    def _check_positions(self) -> None:
        """Raise IntegrityError unless the positions are 1 to the count of records and the last record
        matches its digest and its predecessor's: a read that selects records through an index checks
        this first, as it never meets the records it passes over. (Records moved down to close a gap no
        longer match their digests, which hold their positions; the last one is among them.)"""
        missing = self._positions_missing()
        if missing:
            raise IntegrityError(f"{self.target}: {missing}; run verify() for details")
        self._check_last()

    def _check_last(self) -> None:
        """Check the last record against its digest and its predecessor's, where a store can read it alone
        (a file's own index checks every position as it is built)."""
        return

    def _positions_missing(self) -> str:
        """Why the stored positions are not gap-free, when a store can tell without reading every record
        (a database compares the number of records with the last position), or ""."""
        return ""

    def _verify_states(self, report: VerifyReport) -> VerifyReport:
        try:
            rows = self._read_states()
        except UnreadableStates as exc:
            return attrs.evolve(
                report,
                ok=False,
                reason=f"{exc}; reads ignore the states it keeps (write them again with policytracker "
                "snapshot LOG)",
            )
        for row in rows:
            mismatch = self._state_mismatch(row)
            if mismatch:
                return attrs.evolve(
                    report,
                    ok=False,
                    reason=f"{mismatch}; reads ignore it ({_REWRITE})",
                )
        return report

    def _index_mismatch(self, position: int, text: str, stored: StoredIndex | None) -> str:
        """What differs between the stored index of record *position* and the codec's, or ""."""
        if stored is None:
            return ""
        return index_mismatch(position, index_stored(text, position, self._countries_of), stored)

    def _countries_of(self, event_id: uuid.UUID) -> tuple[str, ...]:
        found = self._lookup({event_id: str(event_id)}).get(event_id)
        return () if found is None else found[1]

    def _stored_index(self) -> Iterator[StoredIndex]:
        """The index a store keeps beside its events, as stored, in position order (none by default:
        a store that derives its index when it opens has nothing stored to compare)."""
        return iter(())

    def _digest_at(self, position: int) -> str | None:
        """The stored digest of record *position*, or None when there is none."""
        for row in self._scan(position - 1, None, None):
            return row.digest if row.position == position else None
        return None

    # -- copying --------------------------------------------------------------------------------------------

    def _raw_rows(self) -> Iterator[StoredRecord]:
        """Every stored record, for verifying and copying."""
        return self._scan(0, None, None)

    def _import_rows(self, rows: Iterable[NewRecord]) -> int:
        """Store verified *rows* verbatim (positions, stamps, digests) into this empty log."""
        self._check_open()
        with self._mutex, self._transaction():
            if self._tail()[0] != 0:
                raise ValueError(f"copy needs an empty destination, but {self.target} holds records")
            count = 0
            batch: list[NewRecord] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 1000:
                    self._write(batch)
                    count += len(batch)
                    batch = []
            if batch:
                self._write(batch)
                count += len(batch)
        return count


def _tags(types: Iterable[type[Event] | str]) -> frozenset[str]:
    if isinstance(types, str | type):
        types = [types]
    tags = set()
    for item in types:
        if isinstance(item, str):
            try:
                event_class(item)
            except LookupError as exc:
                raise ValidationError(f"types: {exc}", field="types") from None
            tags.add(item)
        elif isinstance(item, type) and issubclass(item, Event) and hasattr(item, "__event_tag__"):
            tags.add(item.__event_tag__)
        else:
            raise ValidationError(f"types: expected event classes or type tags, got {item!r}", field="types")
    return frozenset(tags)


def copy_records(source: BaseLog, destination: BaseLog) -> int:
    """Copy every record of *source* into the empty *destination*, checking the source's digest chain and
    stored index on the way (a damaged source is refused, never laundered into an intact copy); return
    how many were copied."""
    stored = source._stored_index()

    def checked() -> Iterator[NewRecord]:
        for record in records_to_copy(source._raw_rows()):
            found = next(stored, None)
            mismatch = "" if found is None else index_mismatch(record.position, record.entry, found)
            if mismatch:
                raise IntegrityError(
                    f"cannot copy {source.target}: position {record.position}: {mismatch}; run verify()"
                )
            yield record

    return destination._import_rows(checked())


def index_mismatch(position: int, derived: Index, stored: StoredIndex) -> str:
    """What differs between the index a store keeps for record *position* and the codec's, or ""."""
    if stored.position != position:
        return f"the store's index holds position {stored.position} here"
    columns = (
        ("type", derived.tag, stored.tag),
        ("event_id", str(derived.event_id), stored.event_id),
        ("countries", derived.countries, stored.countries),
        ("valid-time columns", derived.valid_time, stored.valid_time),
        ("country index", tuple(sorted(derived.countries)), tuple(sorted(stored.country_index))),
    )
    for column, expected, found in columns:
        if expected != found:
            return f"the stored {column} {found!r} is not the event's {expected!r}"
    return ""


def records_to_copy(rows: Iterable[StoredRecord]) -> Iterator[NewRecord]:
    """The records of a log as another store writes them: text and index derived here, the digest chain
    checked on the way, so that a damaged source is refused, never copied."""
    countries: dict[uuid.UUID, tuple[str, ...]] = {}
    digest = ""
    expected = 1
    for position, recorded_at, stored_digest, stored, _ in rows:
        if position != expected:
            raise IntegrityError(f"cannot copy: expected position {expected}, found {position}")
        text = stored_text(stored)
        if text is None or not isinstance(recorded_at, str):
            raise IntegrityError(f"cannot copy: position {position} holds a value of the wrong type")
        digest = chain_digest(digest, position, recorded_at, text)
        if digest != stored_digest:
            raise IntegrityError(f"cannot copy: the digest chain breaks at position {position}")
        index = index_stored(text, position, lambda target: countries.get(target, ()))
        countries[index.event_id] = index.countries
        yield NewRecord(position, recorded_at, digest, text, index, str(index.event_id))
        expected += 1


class ValidTimeOrdered(BaseLog):
    """A store that hands over its standalone events in valid-time order (``ValidTimeReader``): it
    supplies ``_valid_time_order``."""

    def valid_time_events(
        self,
        *,
        last_day: int | None = None,
        known_at: _dt.datetime | None = None,
        country: str | None = None,
        types: frozenset[str] | None = None,
        gaps_checked: bool = False,
    ) -> Iterator[Event]:
        """The standalone events (no retractions or corrections) in valid-time order, streamed: those
        recorded at or before *known_at*, whose last day (an ordinal) is on or before *last_day* and, when
        *country* is given, that are about it, and when *types* (tags) are given, of those types. The
        file's own index finds a gap as it is built, so *gaps_checked* changes nothing here."""
        self._check_open()
        moment = None if known_at is None else format_timestamp(known_at)
        target = self.target
        ordered = self._valid_time_order(last_day, moment, country, types)
        if country is None and types is None:
            return (decode_stored(check_record(target, record), record.position) for record in ordered)
        return self._selected_events(ordered, country, types)

    def _selected_events(
        self, records: Iterable[StoredRecord], country: str | None, types: frozenset[str] | None
    ) -> Iterator[Event]:
        """The events of *records*, each checked against its digest and its predecessor's, refusing one
        the index selected for *country* or *types* although the event is not about it or of them."""
        for record in records:
            event = decode_stored(check_record(self.target, record), record.position)
            self._check_selected(event, record.position, country, types)
            yield event

    @abc.abstractmethod
    def _valid_time_order(
        self, last_day: int | None, moment: str | None, country: str | None, types: frozenset[str] | None
    ) -> Iterator[StoredRecord]:
        """The records of the standalone events recorded at or before the timestamp *moment* whose last
        day is on or before *last_day* (and about *country*, and of *types*, when given), in valid-time
        order."""


class IndexedLog(BaseLog):
    """A database store that keeps the valid-time order in an index (columns ``vt_earliest``,
    ``vt_latest``, ``vt_rank`` beside ``event_id``), so that projections can stream from it. A store
    supplies the placeholder of its SQL driver and ``_valid_time_page``."""

    #: The SQL parameter placeholder of the store's driver (``?`` or ``%s``).
    _MARK = "?"
    #: The storage schema version the store writes, and the statement creating its valid-time index.
    _STORAGE_SCHEMA: int
    _VALID_TIME_INDEX: str

    def _settle_storage(self, meta: Mapping[str, str], execute: Callable[..., object]) -> None:
        """Finish opening the schema, inside the caller's transaction (*execute* runs a statement there):
        record the format and schema version of a new store, or check those of an existing one and migrate
        it from version 1; then make sure the valid-time index exists."""
        if not meta:
            mark = self._MARK
            execute(
                f"INSERT INTO policytracker_meta (key, value) VALUES ({mark}, {mark}), ({mark}, {mark})",
                ("format", STORAGE_FORMAT, "schema_version", str(self._STORAGE_SCHEMA)),
            )
        else:
            check_storage_meta(self.target, meta, self._STORAGE_SCHEMA)
            if schema_version(self.target, meta) < 2:
                self._migrate_to_2(_valid_time_of)
        execute(self._VALID_TIME_INDEX)

    @abc.abstractmethod
    def _migrate_to_2(self, valid_time_of: Callable[[str, int], tuple[int, int, int]]) -> None:
        """Add and fill the valid-time columns of a store of schema version 1, never rewriting a record:
        *valid_time_of(text, position)* gives a stored event's columns."""

    def valid_time_events(
        self,
        *,
        last_day: int | None = None,
        known_at: _dt.datetime | None = None,
        country: str | None = None,
        types: frozenset[str] | None = None,
        gaps_checked: bool = False,
    ) -> Iterator[Event]:
        """The standalone events (no retractions or corrections) in valid-time order, streamed through
        the valid-time index, each checked against its digest and its predecessor's: those recorded at or
        before *known_at*, whose last day (an ordinal) is on or before *last_day* and, when *country* is
        given, that are about it (read through the country index: only that country's records), and when
        *types* (tags) are given, of those types (only their records are read).

        Such a read passes over records it never meets, so the positions are first checked to run from 1
        without a gap, unless the caller has just done so (*gaps_checked*: a ``read`` by type has)."""
        self._check_open()
        if not gaps_checked:
            self._check_positions()
        moment = None if known_at is None else format_timestamp(known_at)
        where, params = self._valid_time_where(last_day, moment, types)
        if country is None:
            return self._checked_events(where, params, types)
        return self._country_events(country, where, params, types)

    def _country_events(
        self, country: str, where: str, params: list[Any], types: frozenset[str] | None
    ) -> Iterator[Event]:
        # A one-country read's loop: the digest check (chain_digest, written out) and the decoding are
        # inlined, as in _checked_events. Anything the quick check does not pass goes to check_record,
        # which raises the precise error (or, for a store that hands over parsed objects, returns the text).
        target, sha256 = self.target, hashlib.sha256
        for record, columns in self._country_records(country, where, params):
            position, recorded_at, digest, text, previous = record
            if position == 1:
                previous = ""
            if (
                text.__class__ is not str
                or recorded_at.__class__ is not str
                or previous.__class__ is not str
                or sha256(
                    f'{previous}{{"event":{text},"position":{position},"recorded_at":"{recorded_at}"}}'.encode()
                ).hexdigest()
                != digest
            ):
                text = check_record(target, record)
            event = decode_text(text, position=position)
            if country not in event.countries or (types is not None and event.__event_tag__ not in types):
                self._check_selected(event, position, country, types)
            earliest, latest = day_ordinals(event.occurred)
            if (earliest, latest, event.__valid_time_rank__) != columns:
                raise self._out_of_place(position, columns, event)
            if event.__amends__:
                raise self._not_standalone(position, event)
            yield event

    def _country_records(
        self, country: str, where: str, params: list[Any]
    ) -> Iterator[tuple[StoredRecord, tuple[int, ...]]]:
        """The records about *country* matching *where*, in valid-time order, each with its stored
        valid-time columns: their positions first (the country index, sorted by the valid-time columns),
        then the records, a page at a time, so a country's history is never all in memory at once."""
        keys = self._country_positions(country, where, params)
        pages = [keys[start : start + self._PAGE] for start in range(0, len(keys), self._PAGE)]
        fetched = self._pages_of_records([[key[0] for key in page] for page in pages])
        for page, records in zip(pages, fetched, strict=True):
            rows = {row.position: row for row in records}
            for position, *columns in page:
                row = rows.get(position)
                if row is None:
                    raise IntegrityError(
                        f"{self.target}: position {position} is in the index but its record is missing; "
                        "run verify() for details"
                    )
                yield row, tuple(columns)

    def _pages_of_records(self, pages: list[list[int]]) -> Iterator[Iterable[StoredRecord]]:
        """The records at the positions of each page, a page at a time (see :func:`_paged`: with
        ``_PREFETCH``, the next page is asked for while the caller works through the current one)."""

        def fetch(number: int) -> Fetch[Iterable[StoredRecord]]:
            following = number + 1 < len(pages)
            return lambda: (self._records_at(pages[number]), fetch(number + 1) if following else None)

        return _paged(fetch(0), self._PREFETCH and len(pages) > 1) if pages else iter(())

    def _check_last(self) -> None:
        head = self.head
        if head:
            for record in self._records_at([head]):
                check_record(self.target, record)

    def _positions_missing(self) -> str:
        count, lowest, head = self._count_and_span()
        if count and lowest < 1:
            return f"a record is stored at position {lowest}, before position 1"
        if count == head:
            return ""
        # Which one: found by reading the positions in order, only when one is missing.
        first = next(
            (
                expected
                for expected, (position, _) in enumerate(self._stored_digests(), 1)
                if position != expected
            ),
            head,
        )
        return f"position {first} is missing ({head - count} of the positions up to {head} are)"

    #: How many records a page of a one-country read fetches by position.
    _PAGE = 500
    #: Whether a read asks for its next page while the current one is decoded. Worth it where waiting for
    #: the next page releases the GIL for the whole wait (a server's round trip); SQLite's module takes
    #: the GIL back for every row, so a thread would contend with the decoding instead.
    _PREFETCH = False

    @abc.abstractmethod
    def _count_and_span(self) -> tuple[int, int, int]:
        """How many records the store holds, and its lowest and highest positions (0, 0 and 0 when empty),
        read at one moment: a read that selects records through an index checks that the positions are
        1 to the count, so a record removed anywhere but the end is noticed without reading every
        record."""

    @abc.abstractmethod
    def _country_positions(
        self, country: str, where: str, params: list[Any]
    ) -> list[tuple[int, int, int, int]]:
        """``(position, vt_earliest, vt_latest, vt_rank)`` of the records about *country* matching
        *where*, in valid-time order."""

    @abc.abstractmethod
    def _records_at(self, positions: Sequence[int]) -> Iterable[StoredRecord]:
        """The stored records at *positions* (any order), each with its predecessor's digest."""

    def _checked_events(self, where: str, params: list[Any], types: frozenset[str] | None) -> Iterator[Event]:
        # The hottest loop of a replay: the digest check (chain_digest and DigestTable.before, written
        # out) and the decoding are inlined rather than layered generators over record objects. Anything
        # the quick check does not pass goes to check_record, which raises the precise error.
        table = self._digest_table()
        joined, missing, target, sha256 = table.text, DigestTable.MISSING, self.target, hashlib.sha256
        for batch in self._valid_time_batches(where, params):
            # Each row: (position, event text, recorded_at, digest, vt_earliest, vt_latest, vt_rank, …).
            for row in batch:
                position, text, recorded_at = row[0], row[1], row[2]
                # The predecessor's digest: 64 hex digits, or "" before position 1.
                previous = joined[(position - 2) * 64 : (position - 1) * 64] if position > 1 else ""
                if (
                    text.__class__ is not str
                    or recorded_at.__class__ is not str
                    or previous == missing
                    or len(previous) != (64 if position > 1 else 0)
                    or sha256(
                        f'{previous}{{"event":{text},"position":{position},"recorded_at":"{recorded_at}"}}'.encode()
                    ).hexdigest()
                    != row[3]
                ):
                    check_record(
                        target, StoredRecord(position, recorded_at, row[3], text, table.before(position))
                    )
                event = decode_text(text, position=position)
                earliest, latest = day_ordinals(event.occurred)
                if earliest != row[4] or latest != row[5] or event.__valid_time_rank__ != row[6]:
                    raise self._out_of_place(position, row[4:7], event)
                if event.__amends__:
                    raise self._not_standalone(position, event)
                if types is not None and event.__event_tag__ not in types:
                    self._check_selected(event, position, None, types)
                yield event

    def _valid_time_batches(self, where: str, params: list[Any]) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The pages of :meth:`_valid_time_page`, from the start to the last (see :func:`_paged`: with
        ``_PREFETCH``, the next page is asked for as soon as the current one has arrived, its last row
        being the next page's start)."""

        def fetch(key: tuple[Any, ...] | None) -> Fetch[Sequence[tuple[Any, ...]]]:
            def page() -> tuple[Sequence[tuple[Any, ...]], Fetch[Sequence[tuple[Any, ...]]] | None]:
                batch, following = self._valid_time_page(key, where, params)
                return batch, None if following is None else fetch(following)

            return page

        return _paged(fetch(None), self._PREFETCH)

    def _not_standalone(self, position: int, event: Event) -> IntegrityError:
        """The error for an amendment that a read of standalone events selected: its stored type was
        changed, which would leave the fact it retracts or corrects standing."""
        return IntegrityError(
            f"{self.target}: the index selected position {position} as a standalone event, but it holds an "
            f"{type(event).__name__}: the stored type was changed; run verify() for details"
        )

    def _out_of_place(self, position: int, stored: Sequence[Any], event: Event) -> IntegrityError:
        """The error for a record whose stored valid-time columns are not its event's: the index put it in
        the wrong place of a valid-time read."""
        return IntegrityError(
            f"{self.target}: the valid-time index holds {tuple(stored)!r} for position {position}, but its "
            f"event's columns are {valid_time_columns(event)!r}: the stored index was changed; run verify() "
            "for details"
        )

    def _digest_table(self) -> DigestTable:
        """The stored digests by position, read in one pass: the records of a valid-time stream arrive out
        of position order, and each is checked against its predecessor's digest."""
        count, joined = self._joined_digests()
        return DigestTable.joined(count, joined) or DigestTable(self._stored_digests())

    def _valid_time_where(
        self, last_day: int | None, moment: str | None, types: frozenset[str] | None
    ) -> tuple[str, list[Any]]:
        mark = self._MARK
        conditions = [f"type NOT IN ({', '.join([mark] * len(AMENDMENT_TAGS))})"]
        params: list[Any] = sorted(AMENDMENT_TAGS)
        if types is not None:
            conditions.append(f"type IN ({', '.join([mark] * len(types))})" if types else "0 = 1")
            params.extend(sorted(types))
        if last_day is not None:
            # Every event's earliest day is on or before its latest, so the first condition changes no
            # result; it bounds the index walk on its leading column, so the scan stops at *last_day*
            # instead of reading the rest of the index to find nothing more.
            conditions.append(f"vt_earliest <= {mark} AND vt_latest <= {mark}")
            params.extend([last_day, last_day])
        if moment is not None:
            condition, values = self._recorded_by(moment)
            conditions.append(condition)
            params.extend(values)
        return " AND ".join(conditions), params

    def _recorded_by(self, stamp: str) -> tuple[str, list[Any]]:
        """The condition (and its parameters) keeping the records recorded at or before *stamp*."""
        return f"recorded_at <= {self._MARK}", [stamp]

    @abc.abstractmethod
    def _stored_digests(self) -> Iterator[tuple[int, str]]:
        """``(position, digest)`` of every stored record, in position order."""

    @abc.abstractmethod
    def _joined_digests(self) -> tuple[int, str]:
        """How many records the store holds and their digests joined in position order, in one string (a
        quick way to read them all; :class:`DigestTable` falls back to :meth:`_stored_digests` when the
        count does not match the head or a digest is not 64 hex digits)."""

    @abc.abstractmethod
    def _valid_time_page(
        self, key: tuple[Any, ...] | None, where: str, params: list[Any]
    ) -> tuple[Sequence[tuple[Any, ...]], tuple[Any, ...] | None]:
        """One page of events matching *where* after the valid-time key *key* (None: from the start), as
        rows starting ``(position, event JSON, recorded_at, digest, vt_earliest, vt_latest, vt_rank, …)``,
        and the key of its last row (None: the last page)."""


#: A call that fetches one page, and the call that fetches the next (None after the last page).
Fetch = Callable[[], tuple[T, "Fetch[T] | None"]]


def _paged(fetch: Fetch[T], prefetch: bool) -> Iterator[T]:
    """The pages *fetch* and its successors give, in order. With *prefetch*, the next page is asked for
    in a thread while the caller works through the current one: worth it where waiting for a page
    releases the GIL for the whole wait (a server's round trip), so the server's work and the transfer
    overlap the caller's. A page is fetched after its predecessor, never two at once; an abandoned read
    cancels the page asked for, and a failing fetch reaches the caller."""
    following: Fetch[T] | None = fetch
    if not prefetch:
        while following is not None:
            page, following = following()
            yield page
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="policytracker-read") as pool:
        coming = pool.submit(fetch)
        try:
            while True:
                page, following = coming.result()
                if following is not None:
                    coming = pool.submit(following)
                yield page
                if following is None:
                    return
        finally:
            coming.cancel()


def _valid_time_of(text: str, position: int) -> tuple[int, int, int]:
    return index_event(decode_text(text, position=position)).valid_time


def _checkpoint(expect: tuple[int, str] | None) -> tuple[int, str] | None:
    if expect is None:
        return None
    try:
        position, digest = expect
    except (TypeError, ValueError):
        position, digest = None, None
    if (
        type(position) is not int
        or position < 1
        or not isinstance(digest, str)
        or len(digest) != 64
        or digest.strip("0123456789abcdef")
    ):
        raise ValidationError(
            f"expect must be a (position, digest) checkpoint: a position >= 1 and the 64 lower-case hex "
            f"digits of its digest, got {expect!r}",
            field="expect",
        )
    return position, digest


def _bad(checked: int, digest: str, position: int, reason: str) -> VerifyReport:
    return VerifyReport(
        ok=False,
        checked=checked,
        first_bad_position=position,
        reason=reason,
        head=checked,
        head_digest=digest,
    )


def _against(report: VerifyReport, checkpoint: tuple[int, str], found: str | None) -> VerifyReport:
    position, digest = checkpoint
    if found is None:
        reason = (
            f"the checkpoint's record {position} is missing: the log ends at {report.head}, so records were "
            "cut off its end (or the checkpoint is of another log)"
        )
    elif found != digest:
        reason = (
            f"the record at position {position} has the digest {found}, not the checkpoint's {digest}: the "
            "log was changed up to there, or the checkpoint is of another log"
        )
    else:
        return report
    return attrs.evolve(report, ok=False, first_bad_position=min(position, report.head + 1), reason=reason)


#: What replaces a stored state that reads ignore. The log does not know which projection stored it.
_REWRITE = (
    "write it again with what stored it, or remove it: policytracker snapshot LOG writes the latest state of "
    "country_states"
)


class UnreadableStates(Exception):
    """The states a store keeps beside its records cannot be read at all (a file that is not UTF-8 JSON,
    say); the message names what and why. States are derived data: reads ignore them."""


def _content_digest(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


class DigestTable:
    """The stored digests of a log by position, joined in one string (64 hex digits a record), for
    checking records that arrive out of position order against their predecessors."""

    MISSING = "-" * 64  # no record, or no readable digest, at a position

    def __init__(self, rows: Iterable[tuple[int, str]]) -> None:
        parts: list[str] = []
        for position, digest in rows:
            parts.extend([self.MISSING] * (position - 1 - len(parts)))
            readable = len(digest) == 64 and not digest.strip("0123456789abcdef")
            parts.append(digest if readable else self.MISSING)
        self._joined = "".join(parts)

    @classmethod
    def joined(cls, count: int, text: str | None) -> DigestTable | None:
        """The table of *count* digests joined in position order in *text*, or None when *text* is not
        exactly that."""
        if text is None or count < 0 or len(text) != 64 * count:
            return None
        table = cls(())
        table._joined = text
        return table

    @property
    def text(self) -> str:
        """The digests joined in position order: those of position *p* at ``[(p - 1) * 64 : p * 64]``."""
        return self._joined

    def before(self, position: int) -> str | None:
        """The digest of the record before *position* ("" for position 1), or None when there is none."""
        if position == 1:
            return ""
        digest = self._joined[(position - 2) * 64 : (position - 1) * 64]
        return None if len(digest) < 64 or digest == self.MISSING else digest
