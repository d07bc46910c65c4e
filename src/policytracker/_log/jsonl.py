"""The JSON Lines store (``open_log("history.jsonl")``): one record per line, human-readable and greppable.

Every line is ``{"digest":…,"event":{…},"position":n,"recorded_at":"…"}``; the lines of one append but its
last also carry ``"more":k``, how many lines of that append follow (outside the digest: it can only make a
reader refuse a file, never accept one). The file is append-only like every store: writers take an
exclusive OS file lock, readers a shared one while they find the end of the file, so a reader
never mistakes another process's write in progress for damage.

A final line without its newline is a **torn write**, and a file ending on a line with ``"more"`` holds an
append **cut** by a crash. Either way the log still opens and ``verify()`` describes it, but every read
and ``copy_log`` refuse it (``IntegrityError`` naming the lines), ``append`` refuses to bury it, and
:meth:`JSONLinesLog.repair` removes the torn line and the cut append whole, on request, saying what it
removed. Nothing is ever truncated silently.

Locking uses ``fcntl.flock`` on POSIX and ``msvcrt.locking`` (on a ``<log>.lock`` file beside the log) on
Windows; a lock held by another process for longer than the timeout (30 seconds unless given) is a
``ConcurrencyError`` (see ``_locks``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
import tempfile
import uuid
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from policytracker._canonical import loads
from policytracker._codec import Index
from policytracker._log._base import UnreadableStates, ValidTimeOrdered
from policytracker._log._core import (
    Clock,
    NewRecord,
    Repaired,
    StoredEvent,
    StoredRecord,
    TornTail,
    VerifyReport,
    check_folder,
    index_stored,
)
from policytracker._log._locks import DEFAULT_TIMEOUT, FileLock
from policytracker.exceptions import IntegrityError, SerializationError

__all__ = ["JSONLinesLog", "Repaired", "TornTail"]

_KEYS = frozenset({"digest", "event", "position", "recorded_at"})
_KEYS_IN_BATCH = _KEYS | {"more"}
_CHUNK = 8 * 1024 * 1024  # bytes read at a time when indexing


class JSONLinesLog(ValidTimeOrdered):
    """An ``EventLog`` in a JSON Lines file, safe for several processes on one machine."""

    def __init__(
        self, path: str | Path, *, clock: Clock | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Open or create the log at *path*. Waiting longer than *timeout* seconds for another process's
        lock is a ``ConcurrencyError``."""
        path = Path(path)
        super().__init__(str(path), clock)
        check_folder(path)
        self._path = path
        # Held open for locking and appending; closed in close(). Opening reads nothing yet, so that
        # verify() can describe a damaged file that reading would refuse.
        self._file: IO[bytes] = open(path, "a+b")  # noqa: SIM115
        try:
            self._lock = FileLock(self._file, path, self.target, timeout)
        except BaseException:
            self._file.close()
            raise
        self._reset()

    def _reset(self) -> None:
        self._end = 0  # bytes of complete lines read so far
        self._offsets = array("q")  # start of the line of each position
        # The codec's index of every record, kept compactly: ids as integers, each distinct tuple of
        # countries and each tag once (most records share one of a few dozen), the valid-time columns
        # packed into one integer (-1 for an amendment, which has no place in the valid-time order).
        self._ids: dict[int, int] = {}  # event id (as an integer) → position
        self._id_at: list[int] = []
        self._countries_at: list[tuple[str, ...]] = []
        self._country_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._tags: list[str] = []
        self._valid_time = array("q")
        self._digests = bytearray()  # each record's stored digest, 32 bytes, for reads checking a successor
        self._digest = ""
        self._last_stamp: str | None = None
        self._torn: TornTail | None = None
        self._batches = _Batches()

    # -- locking and syncing with what other processes wrote ------------------------------------------------

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
        self._torn = _torn(len(self._offsets) + 1, rest)

    def _check_intact(self, doing: str) -> None:
        """Refuse to go on *doing* something when the file ends in a torn line or a cut append (call after
        ``_sync``)."""
        damage = _damage(self._batches.cut(), self._torn)
        if damage:
            raise IntegrityError(
                f"{self.target}: {damage}; {doing}. Inspect it, then call repair() (on the command line: "
                "policytracker repair LOG) to remove it"
            )

    def _index_line(self, line: bytes, offset: int) -> None:
        number = len(self._offsets) + 1
        obj = _parse_line(line, number)
        if obj["position"] != number:
            raise IntegrityError(
                f"{self.target}: line {number} holds position {obj['position']}; records were removed, "
                "inserted or reordered (run verify() for details)"
            )
        if not self._batches.follow(number, obj.get("more", 0)):
            raise IntegrityError(f"{self.target}: {self._batches.broken_reason()} (run verify() for details)")
        index = index_stored(obj["event"], number, self._countries_of, line=number)
        self._offsets.append(offset)
        self._add_index(number, index)
        self._keep_digest(obj["digest"])
        self._last_stamp = obj["recorded_at"]

    def _add_index(self, position: int, index: Index) -> None:
        id_int = index.event_id.int
        self._ids[id_int] = position
        self._id_at.append(id_int)
        self._countries_at.append(self._country_tuples.setdefault(index.countries, index.countries))
        self._tags.append(sys.intern(index.tag))
        earliest, latest, rank = index.valid_time
        self._valid_time.append(-1 if index.target is not None else (earliest << 22 | latest) << 1 | rank)

    def _keep_digest(self, digest: str) -> None:
        try:
            raw = bytes.fromhex(digest) if len(digest) == 64 else b""
        except ValueError:
            raw = b""
        self._digests += raw or _NOT_A_DIGEST  # a later read checking against it then fails, as it should
        self._digest = digest

    def _previous(self, position: int) -> str:
        return self._digests[(position - 2) * 32 : (position - 1) * 32].hex() if position > 1 else ""

    def _countries_of(self, event_id: uuid.UUID) -> tuple[str, ...]:
        position = self._ids.get(event_id.int)
        return () if position is None else self._countries_at[position - 1]

    @property
    def torn_tail(self) -> TornTail | None:
        """The incomplete final line, if the last write was torn (None when the file is intact)."""
        self._check_open()
        with self._mutex, self._lock.shared():
            self._sync()
            return self._torn

    def repair(self) -> Repaired | None:
        """Remove a torn final line and the lines of an append cut by a crash, whole, and return what was
        removed (None when there was nothing to remove).

        Only the end of the file is touched: damage anywhere else is left for ``verify()`` to report (and
        makes ``repair()`` raise as reading does).
        """
        self._check_open()
        with self._mutex, self._lock.exclusive():
            self._sync()
            cut, torn = self._batches.cut(), self._torn
            if cut is None and torn is None:
                return None
            keep = self._offsets[cut[0] - 1] if cut is not None else self._end
            size = os.fstat(self._file.fileno()).st_size
            os.ftruncate(self._file.fileno(), keep)
            os.fsync(self._file.fileno())
            self._reset()  # the next read indexes the file afresh
        return Repaired(
            positions=() if cut is None else (cut[0], cut[1]),
            batch_size=None if cut is None else cut[2],
            torn=torn,
            size=size - keep,
        )

    # -- store primitives -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock.exclusive():
            self._sync()
            self._check_intact("appending would bury it")
            yield

    def _tail(self) -> tuple[int, str, str | None]:
        return len(self._offsets), self._digest, self._last_stamp

    def _lookup(
        self, ids: Mapping[uuid.UUID, str]
    ) -> Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]]:
        found: dict[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]] = {}
        with open(self._path, "rb") as reader:
            for event_id in ids:
                position = self._ids.get(event_id.int)
                if position is not None:
                    reader.seek(self._offsets[position - 1])
                    obj = _parse_line(reader.readline().rstrip(b"\n"), position)
                    found[event_id] = (obj["event"], self._countries_at[position - 1])
        return found

    def _write(self, records: Sequence[NewRecord]) -> None:
        last = len(records) - 1
        lines = [_line(record, last - number).encode("utf-8") for number, record in enumerate(records)]
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
        for record, line in zip(records, lines, strict=True):
            self._offsets.append(offset)
            offset += len(line)
            self._add_index(record.position, record.entry)
            self._keep_digest(record.digest)
            self._batches.follow(record.position, last - record.position + records[0].position)
        self._end = offset
        self._last_stamp = records[-1].recorded_at

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[StoredRecord]:
        with self._mutex, self._lock.shared():
            self._sync()
            self._check_intact("reading it would take the cut-off records as written")
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
                previous = self._previous(position)
                yield StoredRecord(position, obj["recorded_at"], obj["digest"], obj["event"], previous)

    def _valid_time_order(
        self, last_day: int | None, moment: str | None, country: str | None, types: frozenset[str] | None
    ) -> Iterator[StoredRecord]:
        """The keys come from the index (valid-time columns, id and position packed into one integer
        each, about 70 bytes a record while sorting); the events are then read back one line at a time in
        that order, so they are never all in memory at once."""
        with self._mutex, self._lock.shared():
            self._sync()
            self._check_intact("reading it would take the cut-off records as written")
            head, end = len(self._offsets), self._end
        if moment is not None:
            head = self._recorded_by(moment, head)
        return self._read_in_order(self._valid_time_keys(head, last_day, country, types), end)

    def _valid_time_keys(
        self, head: int, last_day: int | None, country: str | None, types: frozenset[str] | None
    ) -> list[int]:
        columns, id_at, countries_at, tags = self._valid_time, self._id_at, self._countries_at, self._tags
        keys = []
        for number in range(head):
            packed = columns[number]
            if packed < 0 or (last_day is not None and (packed >> 1) & _DAY_MASK > last_day):
                continue
            if country is not None and country not in countries_at[number]:
                continue
            if types is not None and tags[number] not in types:
                continue
            keys.append(((packed << 128 | id_at[number]) << _POSITION_BITS) | (number + 1))
        keys.sort()
        return keys

    def _read_in_order(self, keys: list[int], end: int) -> Iterator[StoredRecord]:
        offsets = self._offsets
        with open(self._path, "rb") as reader:
            fd = reader.fileno()
            for packed in keys:
                position = packed & _POSITION_MASK
                start = offsets[position - 1]
                stop = offsets[position] if position < len(offsets) else end
                obj = _parse_line(_read_at(fd, stop - start, start).rstrip(b"\n"), position)
                previous = self._previous(position)
                yield StoredRecord(position, obj["recorded_at"], obj["digest"], obj["event"], previous)

    def _recorded_by(self, stamp: str, head: int) -> int:
        """The last position recorded at or before *stamp*, found by binary search (``recorded_at`` never
        goes backwards)."""
        low, high = 0, head
        with open(self._path, "rb") as reader:
            while low < high:
                middle = (low + high + 1) // 2
                reader.seek(self._offsets[middle - 1])
                if _parse_line(reader.readline().rstrip(b"\n"), middle)["recorded_at"] > stamp:
                    high = middle - 1
                else:
                    low = middle
        return low

    def _raw_rows(self) -> Iterator[StoredRecord]:
        # A copy reads through the index first, so that a damaged file is refused before any record of it
        # reaches the destination.
        with self._mutex, self._lock.shared():
            self._sync()
            self._check_intact("copying it would launder the damage")
            end = self._end
        yield from self._file_rows(_Batches(), end)

    def _file_rows(self, batches: _Batches, end: int | None = None) -> Iterator[StoredRecord]:
        """The records of the file's complete lines (up to *end*, default: its end), straight from the file
        and without the index, so that verify() can describe damage the index refuses to load. *batches*
        follows their markers; a marker out of sequence ends the rows there, and the bytes after the last
        newline are left in ``batches.torn``."""
        if end is None:
            with self._mutex, self._lock.shared():
                end = os.fstat(self._file.fileno()).st_size
        with open(self._path, "rb") as reader:
            data = reader.read(end)
        *lines, rest = data.split(b"\n")
        previous = ""
        for number, line in enumerate(lines, start=1):
            obj = _parse_line(line, number)
            if batches.more == 0:
                batches.before = previous
            if not batches.follow(number, obj.get("more", 0)):
                return
            yield StoredRecord(obj["position"], obj["recorded_at"], obj["digest"], obj["event"], previous)
            previous = obj["digest"]
        batches.torn = _torn(len(lines) + 1, rest)

    def _verify_records(self, rows: Iterable[StoredRecord] | None = None) -> VerifyReport:
        """Recompute the digest chain line by line; a malformed line, a batch marker out of sequence, an
        append cut by a crash or a torn final write is reported (with its line number), never repaired."""
        batches = _Batches()
        try:
            report = super()._verify_records(self._file_rows(batches) if rows is None else rows)
        except SerializationError as exc:
            line = exc.line or 1
            return VerifyReport(ok=False, checked=line - 1, first_bad_position=line, reason=str(exc))
        if not report.ok:
            return report
        if batches.broken:
            return attrs.evolve(
                report, ok=False, first_bad_position=batches.broken, reason=batches.broken_reason()
            )
        cut, torn = batches.cut(), batches.torn
        damage = _damage(cut, torn)
        if not damage:
            return report
        reason = f"{damage}; repair() removes {'them' if cut else 'it'}"
        if cut is None:
            return attrs.evolve(report, ok=False, first_bad_position=report.checked + 1, reason=reason)
        return attrs.evolve(
            report,
            ok=False,
            first_bad_position=cut[0],
            reason=reason,
            head=cut[0] - 1,
            head_digest=batches.before,
        )

    def _read_states(self) -> list[tuple[str, int, str, str, str]]:
        path = self._states_path
        try:
            # Without blocking (a pipe would wait for ever), and only a regular file (a device such as
            # /dev/zero would fill the memory).
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UnreadableStates(f"{path} cannot be read as JSON ({exc.strerror})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnreadableStates(f"{path} is not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as reader:
                rows = json.loads(reader.read().decode("utf-8"))
        except (
            OSError,
            ValueError,
            RecursionError,
            MemoryError,
        ) as exc:  # ValueError: not UTF-8, or not JSON
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise UnreadableStates(f"{path} cannot be read as JSON ({why})") from None
        finally:
            os.close(fd)
        # Rows as _write_state writes them: [name, position, digest, content, content digest].
        kinds = (str, int, str, str, str)
        if rows.__class__ is not list or not all(
            row.__class__ is list
            and len(row) == 5
            and all(type(v) is k for v, k in zip(row, kinds, strict=True))
            for row in rows
        ):
            raise UnreadableStates(f"{path} does not hold rows of a name, a position, a digest and a content")
        return [tuple(row) for row in rows]

    def _write_state(self, row: tuple[str, int, str, str, str]) -> None:
        try:
            kept = self._read_states()
        except UnreadableStates:  # replaced whole by the rows written now
            kept = []
        rows = {existing[0]: existing for existing in kept}
        rows[row[0]] = row
        path = self._states_path
        if path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, "is a folder where the log keeps its states; remove it", str(path)
            )
        # A new file of its own (never one already there, nor where a link points), then renamed over the
        # states: all or nothing.
        try:
            fd, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        except OSError as exc:  # named by the file it would have become, not by a name never made
            raise type(exc)(exc.errno, f"cannot write the log's states: {exc.strerror}", str(path)) from None
        try:
            os.fchmod(fd, stat.S_IMODE(os.stat(self._path).st_mode))  # readable by whoever reads the log
            with os.fdopen(fd, "w", encoding="utf-8") as writer:
                writer.write(json.dumps([rows[name] for name in sorted(rows)]))
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @property
    def _states_path(self) -> Path:
        """Projection states are kept beside the log, in ``<file>.states``."""
        return self._path.with_name(self._path.name + ".states")

    def _head(self) -> int:
        with self._mutex, self._lock.shared():
            self._sync()
            return len(self._offsets)

    def _close(self) -> None:
        self._lock.close()
        self._file.close()
        self._reset()


def _seek_and_read(fd: int, size: int, offset: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


# os.pread reads at an offset in one call; Windows lacks it.
_read_at = getattr(os, "pread", _seek_and_read)

_NOT_A_DIGEST = b"\xff" * 32
_POSITION_BITS = 40
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_DAY_MASK = (1 << 22) - 1


def _parse_line(line: bytes, number: int) -> dict[str, Any]:
    try:
        obj = loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SerializationError(f"line {number}: malformed JSON: {exc}", line=number) from None
    if type(obj) is not dict or (obj.keys() != _KEYS and obj.keys() != _KEYS_IN_BATCH):
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
    more = obj.get("more")
    if more is not None and (type(more) is not int or more < 1):
        raise SerializationError(f"line {number}: 'more' must be an integer >= 1", line=number)
    return obj


def _line(record: NewRecord, more: int) -> str:
    marker = f'"more":{more},' if more else ""
    return (
        f'{{"digest":"{record.digest}","event":{record.text},{marker}"position":{record.position},'
        f'"recorded_at":"{record.recorded_at}"}}\n'
    )


def _torn(line: int, rest: bytes) -> TornTail | None:
    """The bytes after the last newline, as the torn write on *line* (None when there are none)."""
    if not rest:
        return None
    return TornTail(line=line, size=len(rest), text=rest[:200].decode("utf-8", "replace"))


def _damage(cut: tuple[int, int, int] | None, torn: TornTail | None) -> str:
    """The damage at the end of a file in words: an append *cut* (first line, last line, lines it wrote)
    and a *torn* final line ("" when there is neither)."""
    parts = []
    if cut is not None:
        first, last, size = cut
        lines = f"line {first} is" if first == last else f"lines {first} to {last} are"
        parts.append(f"{lines} an append cut off by a crash after {last - first + 1} of its {size} lines")
    if torn is not None:
        parts.append(f"line {torn.line} is a torn write ({torn.size} bytes without a newline)")
    return "; ".join(parts)


class _Batches:
    """Follows the batch markers of the lines in order: ``more`` is how many lines of the open append
    are still to come (0: the last line read ended its append, or carried no marker, as lines written
    before markers existed do), ``start`` the line where it began, ``before`` the digest before it."""

    __slots__ = ("before", "broken", "last", "more", "start", "torn")

    def __init__(self) -> None:
        self.start = self.last = self.more = self.broken = 0
        self.before = ""
        self.torn: TornTail | None = None

    def follow(self, line: int, more: int) -> bool:
        """Take the marker *more* of *line*; False (and ``broken`` set) when it breaks the open append."""
        if self.more and more != self.more - 1:
            self.broken = line
            return False
        if not self.more:
            self.start = line
        self.last, self.more = line, more
        return True

    def broken_reason(self) -> str:
        """Why the line ``broken`` breaks the open append."""
        return (
            f"line {self.broken} breaks the append begun on line {self.start}: {self.more} more of its lines "
            "should come first (a line was removed, inserted or edited)"
        )

    def cut(self) -> tuple[int, int, int] | None:
        """The open append at the end of the lines read, as (first line, last line, lines it wrote), or
        None when the last line read ended its append."""
        if not self.more:
            return None
        return self.start, self.last, self.last - self.start + 1 + self.more
