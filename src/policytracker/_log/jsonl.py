"""The JSON Lines store (``open_log("history.jsonl")``): one record per line, human-readable and greppable.

Every line is ``{"digest":…,"event":{…},"position":n,"recorded_at":"…"}``. The file is append-only like
every store: writers take an exclusive OS file lock (``flock``), readers a shared one while they find the
end of the file, so a reader never mistakes another process's write in progress for damage.

A final line without its newline is a **torn write** (a crash mid-append). The log still opens and reads
every intact record; ``torn_tail`` and ``verify()`` report it, ``append`` refuses to bury it, and
:meth:`JSONLinesLog.repair` removes it on request, saying what it removed. Nothing is ever truncated
silently.

Locking uses ``fcntl.flock``, available on Linux, macOS and the BSDs.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import os
import uuid
from array import array
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from policytracker import _events
from policytracker._canonical import canonical_json
from policytracker._events import (
    CountryEvent,
    Event,
    EventCorrected,
    EventRetracted,
    HoldingsReported,
    PartnershipFormed,
    VisitPlanned,
    event_class,
    valid_time_columns,
)
from policytracker._fastlane import memo, stored_uuid
from policytracker._log._core import _UNPARSED, Clock, TornTail, VerifyReport, _BaseLog, _Row, check_folder
from policytracker._serialization import _loads, event_from_dict, format_timestamp
from policytracker.exceptions import IntegrityError, PolicyTrackerError, SerializationError

__all__ = ["JSONLinesLog", "TornTail"]

_KEYS = frozenset({"digest", "event", "position", "recorded_at"})
_CHUNK = 8 * 1024 * 1024  # bytes read at a time when indexing


class JSONLinesLog(_BaseLog):
    """An ``EventLog`` in a JSON Lines file, safe for several processes on one machine."""

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        path = Path(path)
        super().__init__(str(path), clock)
        check_folder(path)
        self._path = path
        # Held open for locking and appending; closed in close(). Opening reads nothing yet, so that
        # verify() can describe a damaged file that reading would refuse.
        self._file: IO[bytes] = open(path, "a+b")  # noqa: SIM115
        self._reset()

    def _reset(self) -> None:
        self._end = 0  # bytes of complete lines read so far
        self._offsets = array("q")  # start of the line of each position
        # The index holds about 180 bytes a record: ids are kept as integers, and each distinct tuple of
        # countries once (most records share one of a few dozen).
        self._ids: dict[int, int] = {}  # event id (as an integer) → position
        self._countries_at: list[tuple[str, ...]] = []
        self._country_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._tags: list[str] = []
        self._digest = ""
        self._last_stamp: str | None = None
        self._torn: TornTail | None = None

    # -- locking and syncing with what other processes wrote ------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        fcntl.flock(self._file.fileno(), mode)
        try:
            yield
        finally:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def _sync(self) -> None:
        """Read the complete lines appended since the last sync (call with a lock held)."""
        size = os.fstat(self._file.fileno()).st_size
        if size < self._end:
            raise IntegrityError(
                f"{self.target}: the file shrank from {self._end} to {size} bytes; records were removed"
            )
        if size == self._end and self._torn is None:
            return
        rest = b""
        with open(self._path, "rb") as reader:
            reader.seek(self._end)
            remaining = size - self._end
            while remaining > 0:  # in chunks, so that a large log is never all in memory at once
                chunk = reader.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                data = rest + chunk
                base, start = self._end, 0  # base: the file offset of data[0]
                while True:
                    newline = data.find(b"\n", start)
                    if newline < 0:
                        break
                    self._index_line(data[start:newline], base + start)
                    start = newline + 1
                    # Past each indexed line at once: after a damaged line, the next sync starts at it
                    # again (and names it again) rather than re-reading lines already indexed.
                    self._end = base + start
                rest = data[start:]
        self._torn = (
            TornTail(line=len(self._offsets) + 1, size=len(rest), text=rest[:200].decode("utf-8", "replace"))
            if rest
            else None
        )

    def _index_line(self, line: bytes, offset: int) -> None:
        number = len(self._offsets) + 1
        obj = _parse_line(line, number)
        if obj["position"] != number:
            raise IntegrityError(
                f"{self.target}: line {number} holds position {obj['position']}; records were removed, "
                "inserted or reordered (run verify() for details)"
            )
        event_id, tag, countries, target = _index_entry(obj["event"], number)
        if target is not None:
            position = self._ids.get(target.int)
            if position is not None:
                countries = tuple(dict.fromkeys((*countries, *self._countries_at[position - 1])))
        self._offsets.append(offset)
        self._ids[event_id.int] = number
        self._countries_at.append(self._country_tuples.setdefault(countries, countries))
        self._tags.append(tag)
        self._digest = obj["digest"]
        self._last_stamp = obj["recorded_at"]

    @property
    def torn_tail(self) -> TornTail | None:
        """The incomplete final line, if the last write was torn (None when the file is intact)."""
        self._check_open()
        with self._mutex, self._locked(fcntl.LOCK_SH):
            self._sync()
            return self._torn

    def repair(self) -> TornTail | None:
        """Remove a torn final line and return what was removed (None when there was nothing to remove).

        Only an incomplete *final* line is removed; damage anywhere else is left for ``verify()`` to report.
        """
        self._check_open()
        with self._mutex, self._locked(fcntl.LOCK_EX):
            self._sync()
            torn = self._torn
            if torn is not None:
                os.ftruncate(self._file.fileno(), self._end)
                os.fsync(self._file.fileno())
                self._torn = None
            return torn

    # -- store primitives -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._locked(fcntl.LOCK_EX):
            self._sync()
            if self._torn is not None:
                raise IntegrityError(
                    f"{self.target}: line {self._torn.line} is a torn write ({self._torn.size} bytes without "
                    "a newline); appending would bury it. Inspect it, then call repair() to remove it"
                )
            yield

    def _tail(self) -> tuple[int, str, str | None]:
        return len(self._offsets), self._digest, self._last_stamp

    def _lookup(self, ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, tuple[str, tuple[str, ...]]]:
        found = {}
        with open(self._path, "rb") as reader:
            for event_id in ids:
                position = self._ids.get(event_id.int)
                if position is not None:
                    reader.seek(self._offsets[position - 1])
                    obj = _parse_line(reader.readline().rstrip(b"\n"), position)
                    found[event_id] = (canonical_json(obj["event"]), self._countries_at[position - 1])
        return found

    def _write(self, rows: Sequence[_Row]) -> None:
        lines = [_line(row).encode("utf-8") for row in rows]
        data = b"".join(lines)
        fd = self._file.fileno()
        try:
            written = os.write(fd, data)
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except BaseException:
            # All or nothing: cut a partial write back off before reporting the failure.
            os.ftruncate(fd, self._end)
            raise
        offset = self._end
        for row, line in zip(rows, lines, strict=True):
            self._offsets.append(offset)
            offset += len(line)
            self._ids[row.event_id.int] = row.position
            self._countries_at.append(self._country_tuples.setdefault(row.countries, row.countries))
            self._tags.append(row.tag)
        self._end = offset
        self._digest, self._last_stamp = rows[-1].digest, rows[-1].recorded_at

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[_Row]:
        with self._mutex, self._locked(fcntl.LOCK_SH):
            self._sync()
            head = len(self._offsets)
        if after >= head:
            return
        with open(self._path, "rb") as reader:
            reader.seek(self._offsets[after])
            for position in range(after + 1, head + 1):
                line = reader.readline()
                if country is not None and country not in self._countries_at[position - 1]:
                    continue
                if tags is not None and self._tags[position - 1] not in tags:
                    continue
                obj = _parse_line(line.rstrip(b"\n"), position)
                yield _row(obj, self._countries_at[position - 1], self._tags[position - 1], canonical=False)

    def valid_time_events(
        self, *, last_day: int | None = None, known_at: _dt.datetime | None = None
    ) -> Iterator[Event]:
        """The standalone events (no retractions or corrections) in valid-time order: those recorded at or
        before *known_at* and whose last day (an ordinal) is on or before *last_day*.

        One pass over the file computes each record's valid-time key from its JSON (decoding the event only
        when its shape is unusual) and keeps the keys, packed with the positions into one integer each
        (about 70 bytes a record). The keys are sorted, then the events are read back one line at a time
        in that order and decoded as they are yielded, so the events are never all in memory at once.
        """
        self._check_open()
        with self._mutex, self._locked(fcntl.LOCK_SH):
            self._sync()
            head, end = len(self._offsets), self._end
        moment = None if known_at is None else format_timestamp(known_at)
        return self._stream_in_valid_time(head, end, last_day, moment)

    def _stream_in_valid_time(
        self, head: int, end: int, last_day: int | None, moment: str | None
    ) -> Iterator[Event]:
        keys: list[int] = []
        offsets, tags = self._offsets, self._tags
        with open(self._path, "rb") as reader:
            reader.seek(0)
            for position in range(1, head + 1):
                line = reader.readline()
                if tags[position - 1] in _AMENDMENT_TAGS:
                    continue
                obj = _parse_line(line.rstrip(b"\n"), position)
                if moment is not None and obj["recorded_at"] > moment:
                    break  # recorded_at never goes backwards: nothing after it was known either
                earliest, latest, rank, id_int = _valid_time_key(obj["event"], position)
                if last_day is None or latest <= last_day:
                    keys.append(_pack(earliest, latest, rank, id_int, position))
            keys.sort()
            fd = reader.fileno()
            for packed in keys:
                position = packed & _POSITION_MASK
                start = offsets[position - 1]
                stop = offsets[position] if position < head else end
                obj = _parse_line(os.pread(fd, stop - start, start).rstrip(b"\n"), position)
                yield event_from_dict(obj["event"], position=position)

    def _raw_rows(self) -> Iterator[_Row]:
        # Raw rows come straight from the file, without the index, so that verify() can describe damage
        # the index refuses to load.
        with self._mutex, self._locked(fcntl.LOCK_SH):
            end = os.fstat(self._file.fileno()).st_size
        with open(self._path, "rb") as reader:
            data = reader.read(end)
        for number, line in enumerate(data.split(b"\n")[:-1], start=1):
            obj = _parse_line(line, number)
            yield _row(obj, (), "", canonical=True)

    def verify(self) -> VerifyReport:
        """Recompute the digest chain line by line; a malformed line or a torn final write is reported
        (with its line number), never repaired."""
        self._check_open()
        try:
            report = super().verify()
        except SerializationError as exc:
            line = exc.line or 1
            return VerifyReport(ok=False, checked=line - 1, first_bad_position=line, reason=str(exc))
        if not report.ok:
            return report
        torn = self._torn_fragment(report.checked + 1)
        if torn is not None:
            return VerifyReport(
                ok=False,
                checked=report.checked,
                first_bad_position=torn.line,
                reason=f"line {torn.line} is a torn final write ({torn.size} bytes without a newline); "
                "repair() removes it",
            )
        return report

    def _torn_fragment(self, line: int) -> TornTail | None:
        """The bytes after the file's last newline, read without the index."""
        with self._mutex, self._locked(fcntl.LOCK_SH), open(self._path, "rb") as reader:
            size = reader.seek(0, os.SEEK_END)
            start = size
            while start > 0:
                step = min(start, 65536)
                reader.seek(start - step)
                newline = reader.read(step).rfind(b"\n")
                if newline >= 0:
                    start = start - step + newline + 1
                    break
                start -= step
            reader.seek(start)
            rest = reader.read(size - start)
        if not rest:
            return None
        return TornTail(line=line, size=len(rest), text=rest[:200].decode("utf-8", "replace"))

    def _head(self) -> int:
        with self._mutex, self._locked(fcntl.LOCK_SH):
            self._sync()
            return len(self._offsets)

    def _close(self) -> None:
        self._file.close()
        self._reset()


def _index_entry(
    event: dict[str, Any], number: int
) -> tuple[uuid.UUID, str, tuple[str, ...], uuid.UUID | None]:
    """(event id, tag, countries, amendment target) of a stored event, read from its JSON for the built-in
    shapes so that indexing does not decode every event a second time; anything else is decoded."""
    tag = event.get("type")
    try:
        cls = event_class(tag) if isinstance(tag, str) else None
    except LookupError as exc:
        raise SerializationError(f"line {number}: {exc}", line=number, tag=tag) from None
    version = event.get("version")
    raw_id = event.get("event_id")
    if (
        cls is not None
        and isinstance(raw_id, str)
        and type(version) is int
        and version <= cls.__event_version__
    ):
        event_id = stored_uuid(raw_id)  # None for other forms of ids: decoded below
        if event_id is not None:
            countries = _json_countries(cls, event)
            if countries is not None:
                target = _json_uuid(event.get("target")) if cls in (EventRetracted, EventCorrected) else None
                if cls not in (EventRetracted, EventCorrected) or target is not None:
                    return event_id, cls.__event_tag__, countries, target
    decoded = event_from_dict(event, line=number)  # raises the precise error, naming the line
    target = decoded.target if isinstance(decoded, EventRetracted | EventCorrected) else None
    return decoded.event_id, decoded.tag, decoded.countries, target


def _json_countries(cls: type[Event], event: dict[str, Any]) -> tuple[str, ...] | None:
    def code(value: Any) -> str | None:
        return value.upper() if isinstance(value, str) else None

    if cls is EventRetracted:
        return ()
    if cls is EventCorrected:
        replacement = event.get("replacement")
        if not isinstance(replacement, dict):
            return None
        inner = event_class_or_none(replacement.get("type"))
        return _json_countries(inner, replacement) if inner is not None else None
    if cls is PartnershipFormed:
        partners = event.get("countries")
        if isinstance(partners, list) and all(isinstance(p, str) for p in partners):
            return tuple(sorted(p.upper() for p in partners))
        return None
    if cls is VisitPlanned:
        visitor, host = code(event.get("country")), code(event.get("host"))
        return (visitor, host) if visitor and host else None
    if cls.countries is CountryEvent.countries:
        country = code(event.get("country"))
        return (country,) if country else None
    return None


_AMENDMENT_TAGS = frozenset({EventRetracted.__event_tag__, EventCorrected.__event_tag__})
_HOLDINGS_TAG = HoldingsReported.__event_tag__
_POSITION_BITS = 40
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_occurred_memo, _parse_occurred = memo(_events._occurred)


def _valid_time_key(event: dict[str, Any], position: int) -> tuple[int, int, int, int]:
    """The valid-time key of a stored event (``valid_time_columns`` and the id as an integer), read from
    its JSON when it is a built-in event of the current version with a date and an id as stored; any other
    event is decoded (which raises the precise error, naming *position*, if it is damaged)."""
    tag, occurred = event.get("type"), event.get("occurred")
    cls = event_class_or_none(tag)
    if (
        cls is not None
        and cls.__module__ == _events.__name__
        and event.get("version") == cls.__event_version__
        and type(occurred) is str
    ):
        event_id = stored_uuid(event.get("event_id"))
        if event_id is not None:
            try:
                date = _occurred_memo.get(occurred) or _parse_occurred(occurred)
            except PolicyTrackerError:
                pass  # decoding names the field and the position
            else:
                earliest, latest = date._order
                return earliest, latest, 1 if tag == _HOLDINGS_TAG else 0, event_id.int
    decoded = event_from_dict(event, position=position)
    return (*valid_time_columns(decoded), decoded.event_id.int)


def _pack(earliest: int, latest: int, rank: int, id_int: int, position: int) -> int:
    """One integer that orders like ``(earliest, latest, rank, id, position)``: day ordinals fit 22 bits
    (they end at 3,652,059) and positions 40, so no field can spill into the next."""
    return ((((earliest << 24 | latest) << 1 | rank) << 128 | id_int) << _POSITION_BITS) | position


def event_class_or_none(tag: Any) -> type[Event] | None:
    try:
        return event_class(tag) if isinstance(tag, str) else None
    except LookupError:
        return None


def _json_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


def _parse_line(line: bytes, number: int) -> dict[str, Any]:
    try:
        obj = _loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"line {number}: malformed JSON: {exc}", line=number) from None
    if type(obj) is not dict or obj.keys() != _KEYS:
        if type(obj) is dict and "type" in obj and "position" not in obj:
            raise SerializationError(
                f"line {number}: this is an event, not a log record: the file looks like an event file; "
                "import it into a log with `policytracker append LOG FILE` (or load_events)",
                line=number,
            )
        keys = sorted(obj) if type(obj) is dict else type(obj).__name__
        raise SerializationError(
            f"line {number}: expected a record with the keys {sorted(_KEYS)}, got {keys}", line=number
        )
    if (
        type(obj["position"]) is not int
        or type(obj["digest"]) is not str
        or type(obj["recorded_at"]) is not str
    ):
        raise SerializationError(f"line {number}: a record field has the wrong type", line=number)
    if type(obj["event"]) is not dict:
        raise SerializationError(f"line {number}: 'event' must be an object", line=number)
    return obj


def _row(obj: dict[str, Any], countries: tuple[str, ...], tag: str, *, canonical: bool) -> _Row:
    event = obj["event"]
    return _Row(
        obj["position"],
        obj["recorded_at"],
        canonical_json(event) if canonical else "",
        obj["digest"],
        _UNPARSED,
        tag,
        countries,
        event_obj=event,
    )


def _line(row: _Row) -> str:
    return (
        f'{{"digest":"{row.digest}","event":{row.event_json},"position":{row.position},'
        f'"recorded_at":"{row.recorded_at}"}}\n'
    )
