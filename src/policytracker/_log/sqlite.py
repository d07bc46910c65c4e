"""The embedded default store: one SQLite file (``open_log("history.db")``), no server, safe for several
processes.

Writers serialise on SQLite's write lock (``BEGIN IMMEDIATE``) in WAL mode, so readers and writers never
block each other and every append sees the true head. Opening a log whose schema is current only reads, so
it takes no lock either; a file, or a folder, that cannot be written is opened read-only.
``read(country=…)`` and ``read(types=…)`` are answered through indexes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from policytracker._log._base import IndexedLog
from policytracker._log._core import (
    Clock,
    NewRecord,
    StoredEvent,
    StoredIndex,
    StoredRecord,
    check_folder,
    check_storage_meta,
    paged,
    schema_version,
)
from policytracker.exceptions import ConcurrencyError, IntegrityError, SerializationError

__all__ = ["SQLiteLog"]

_BATCH = 1000
# Version 2 added the valid-time columns and index (older files are migrated when opened).
_SCHEMA_VERSION = 2
_VALID_TIME_INDEX = (
    "CREATE INDEX IF NOT EXISTS records_by_valid_time ON records (vt_earliest, vt_latest, vt_rank, event_id)"
)
_VT_ORDER = "vt_earliest, vt_latest, vt_rank, event_id"
# The indexes of the records reads go through, each with a column it holds; verify() counts their entries.
_RECORD_INDEXES = (
    ("sqlite_autoindex_records_1", "event_id"),
    ("records_by_type", "type"),
    ("records_by_valid_time", "event_id"),
)
_SQL_VARIABLES = 500
# WAL tuning, per connection (benchmarks/README.md has the measurements). Checkpointing every 4,000 pages
# (16 MB at the default page size) rather than SQLite's 1,000 lets one checkpoint write each index page
# that several batches touched once, instead of once per batch. Commits stay fully synchronous, so
# durability is unchanged. After a checkpoint the WAL file is cut back to at most 64 MB, so one very large
# append does not leave a file of its size behind.
_WAL_AUTOCHECKPOINT_PAGES = 4000
_WAL_SIZE_LIMIT = 64 * 1024 * 1024
# The page cache, per connection, in KiB (SQLite's default is 2,000). A replay in valid-time order reads
# the table's pages in nearly, not exactly, their stored order; a cache holding the stretch of the table
# that the index is pointing into reads each page about once. The cache fills only as pages are read.
_CACHE_KIB = 16384
_SQLITE_HEADER = b"SQLite format 3\x00"
# Each record comes with its predecessor's digest, so that a read can check it against both.
_PREVIOUS = "(SELECT p.digest FROM records p WHERE p.position = r.position - 1)"
_COLUMNS = f"r.position, r.recorded_at, r.digest, r.event, {_PREVIOUS}"

# A country stored as anything but text (bytes, say) is shown quoted (X'5356'), so that it differs from
# the event's: a read selecting 'SV' would not find it.
_STORED_INDEX = """
SELECT r.position, r.type, r.event_id,
    CASE typeof(r.countries) WHEN 'text' THEN r.countries ELSE quote(r.countries) END,
    r.vt_earliest, r.vt_latest, r.vt_rank, c.countries
FROM records r
LEFT JOIN (
    SELECT position, group_concat(CASE typeof(country) WHEN 'text' THEN country ELSE quote(country) END)
        AS countries
    FROM record_countries GROUP BY position
) c ON c.position = r.position
ORDER BY r.position
"""

# Projection states kept beside the records (see StateKeeper): derived data, created when first written.
_STATES_TABLE = """CREATE TABLE IF NOT EXISTS states (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    digest TEXT NOT NULL,
    content TEXT NOT NULL,
    content_digest TEXT NOT NULL
)"""
_HAS_STATES = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'states'"
_READ_STATES = "SELECT name, position, digest, content, content_digest FROM states ORDER BY name"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policytracker_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    position INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    countries TEXT NOT NULL,
    event TEXT NOT NULL,
    digest TEXT NOT NULL,
    vt_earliest INTEGER,
    vt_latest INTEGER,
    vt_rank INTEGER
);
CREATE INDEX IF NOT EXISTS records_by_type ON records (type, position);
CREATE TABLE IF NOT EXISTS record_countries (
    country TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (country, position)
) WITHOUT ROWID;
"""


class SQLiteLog(IndexedLog):
    """An ``EventLog`` in one SQLite file (stdlib ``sqlite3``, WAL journal, full synchronous commits; the
    journal is checkpointed every 16 MB and cut back to at most 64 MB afterwards; up to 16 MB of pages are
    cached)."""

    _STORAGE_SCHEMA = _SCHEMA_VERSION
    _VALID_TIME_INDEX = _VALID_TIME_INDEX

    def __init__(
        self, path: str | Path, *, clock: Clock | None = None, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        path = Path(path)
        super().__init__(str(path), clock)
        check_folder(path)
        self._path = path
        self._timeout = timeout
        #: Whether this handle only reads: asked for, or the file or its folder is not writable.
        self.read_only = read_only or (path.is_file() and not (_writable(path) and _writable(path.parent)))
        self._immutable = False
        self._conn = self._connect()
        try:
            with self._sqlite_errors():
                self._configure()
                if not self._schema_is_current():
                    self._create_schema()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        path = self._path
        if path.is_dir():
            raise IsADirectoryError(f"cannot open the log {self.target!r}: it is a folder, not a SQLite file")
        if not self.read_only:
            try:
                return self._sqlite_connect(str(path), uri=False)
            except sqlite3.OperationalError as exc:
                verb = "open" if path.exists() else "create"
                raise PermissionError(
                    f"cannot {verb} the log {self.target!r}: SQLite cannot open it for writing ({exc}); "
                    "check the permissions of the file and its folder"
                ) from None
        if not path.exists():
            raise FileNotFoundError(f"there is no log at {self.target!r} to open read-only")
        # SQLite reads a WAL database through its shared-memory index (the -shm file), which a reader creates
        # when it may write to the folder, and which exists while a writer has the log open. Without either,
        # nobody is writing and nobody can: the file is read as it stands, as an immutable file, until a
        # writer appears (see _reader).
        self._immutable = not _writable(path.parent) and not _shm(path).exists()
        return self._sqlite_connect(_read_only_uri(path, immutable=self._immutable), uri=True)

    def _sqlite_connect(self, database: str, *, uri: bool) -> sqlite3.Connection:
        return sqlite3.connect(
            database, isolation_level=None, check_same_thread=False, timeout=self._timeout, uri=uri
        )

    def _configure(self) -> None:
        if not self.read_only:
            # A no-op without any lock on a log already in WAL mode, as every policytracker log is.
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA wal_autocheckpoint={_WAL_AUTOCHECKPOINT_PAGES}")
        self._conn.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        self._conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")

    def _reader(self) -> sqlite3.Connection:
        """The connection to read through. A log opened as an immutable file is reopened as a plain
        read-only one once a writer has opened it (its journal exists), so that reads see its appends."""
        if self._immutable and _wal(self._path).exists():
            self._conn.close()
            self._immutable = False
            self._conn = self._sqlite_connect(_read_only_uri(self._path, immutable=False), uri=True)
            self._configure()
        return self._conn

    def _schema_is_current(self) -> bool:
        """Whether the log's tables exist in this version's storage schema: a plain read, no write lock.
        Refuses a database that is not a policytracker log, or one newer than this version knows."""
        self._conn.execute("BEGIN")  # deferred: one consistent read, taking no lock until it reads
        try:
            names = dict(self._conn.execute("SELECT name, type FROM sqlite_master").fetchall())
            tables = {name for name, kind in names.items() if kind == "table"}
            if tables and "policytracker_meta" not in tables:
                raise self._foreign(tables)
            meta = {} if not tables else dict(self._conn.execute("SELECT key, value FROM policytracker_meta"))
        finally:
            self._conn.execute("COMMIT")
        if meta:
            check_storage_meta(self.target, meta, _SCHEMA_VERSION)
        current = (
            bool(meta)
            and schema_version(self.target, meta) >= _SCHEMA_VERSION
            and "records_by_valid_time" in names
        )
        if not current and self.read_only:
            missing = "is empty" if not tables else "its storage needs upgrading by this policytracker"
            raise PermissionError(
                f"{self.target}: the log is read-only here and {missing}; open it once with write access to "
                "the file and its folder"
            )
        return current

    def _foreign(self, tables: set[str]) -> SerializationError:
        return SerializationError(
            f"{self.target} is a SQLite database but not a policytracker log "
            f"(it has the tables {sorted(tables)})"
        )

    def _create_schema(self) -> None:
        with self._mutex, self._transaction():
            tables = {
                row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables and "policytracker_meta" not in tables:
                raise self._foreign(tables)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            meta = dict(self._conn.execute("SELECT key, value FROM policytracker_meta").fetchall())
            self._settle_storage(meta, self._conn.execute)

    @contextlib.contextmanager
    def _sqlite_errors(self) -> Iterator[None]:
        """Turn SQLite's errors about the file into policytracker's, naming the file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise self._file_error(exc) from exc

    def _file_error(self, exc: sqlite3.DatabaseError) -> Exception:
        try:
            with self._path.open("rb") as file:
                header = file.read(len(_SQLITE_HEADER))
        except OSError:
            header = _SQLITE_HEADER
        if header and header != _SQLITE_HEADER:
            return SerializationError(
                f"{self.target} is not a SQLite database (it does not start with SQLite's header): "
                "is it the right file?"
            )
        if "readonly" in str(exc):
            return PermissionError(f"{self.target}: SQLite cannot write to the log ({exc})")
        if "locked" in str(exc) or "busy" in str(exc):
            return ConcurrencyError(f"{self.target}: another process holds the log's lock ({exc}); retry")
        return IntegrityError(
            f"{self.target}: the SQLite file is damaged ({exc}); it may have been cut short or overwritten. "
            "Restore it from a copy"
        )

    def _migrate_to_2(self, valid_time_of: Callable[[str, int], tuple[int, int, int]]) -> None:
        """Add and fill the valid-time columns: index data derived from the stored events, which are
        read, never rewritten."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(records)")}
        for column in ("vt_earliest", "vt_latest", "vt_rank"):
            if column not in columns:
                self._conn.execute(f"ALTER TABLE records ADD COLUMN {column} INTEGER")
        rows = self._conn.execute("SELECT position, event FROM records").fetchall()
        updates = []
        for position, text in rows:
            earliest, latest, rank = valid_time_of(text, position)
            updates.append((earliest, latest, rank, position))
        self._conn.executemany(
            "UPDATE records SET vt_earliest = ?, vt_latest = ?, vt_rank = ? WHERE position = ?", updates
        )
        self._conn.execute(
            "UPDATE policytracker_meta SET value = ? WHERE key = 'schema_version'", (str(_SCHEMA_VERSION),)
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.read_only:
            raise PermissionError(
                f"{self.target}: the log is read-only here (opened read-only, or the file or its folder is "
                "not writable); appending needs write access to both"
            )
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ConcurrencyError(
                f"{self.target}: could not take the write lock within {self._timeout:g} s ({exc}); "
                "another process holds it"
            ) from exc
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _tail(self) -> tuple[int, str, str | None]:
        row = self._conn.execute(
            "SELECT position, digest, recorded_at FROM records ORDER BY position DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return 0, "", None
        return int(row[0]), str(row[1]), str(row[2])

    def _lookup(
        self, ids: Mapping[uuid.UUID, str]
    ) -> Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]]:
        found: dict[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]] = {}
        texts = list(ids.values())
        for start in range(0, len(texts), _SQL_VARIABLES):
            chunk = texts[start : start + _SQL_VARIABLES]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT event_id, event, countries FROM records WHERE event_id IN ({marks})"
            for event_id, event, countries in self._conn.execute(query, chunk):
                found[uuid.UUID(event_id)] = (event, _split(countries))
        return found

    def _write(self, records: Sequence[NewRecord]) -> None:
        self._conn.executemany(
            "INSERT INTO records (position, recorded_at, event_id, type, countries, event, digest, "
            "vt_earliest, vt_latest, vt_rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    record.position,
                    record.recorded_at,
                    record.event_id,
                    record.entry.tag,
                    ",".join(record.entry.countries),
                    record.text,
                    record.digest,
                    *record.entry.valid_time,
                )
                for record in records
            ],
        )
        self._conn.executemany(
            "INSERT INTO record_countries (country, position) VALUES (?, ?)",
            [(country, record.position) for record in records for country in record.entry.countries],
        )

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[StoredRecord]:
        def page(start: int) -> list[StoredRecord]:
            with self._mutex, self._sqlite_errors():
                self._check_open()
                rows = self._reader().execute(*self._query(start, country, tags)).fetchall()
            return [StoredRecord(*row) for row in rows]

        return paged(page, after, _BATCH)

    @staticmethod
    def _query(after: int, country: str | None, tags: frozenset[str] | None) -> tuple[str, list[object]]:
        params: list[object] = []
        if country is None:
            sql = f"SELECT {_COLUMNS} FROM records r WHERE r.position > ?"
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM record_countries c JOIN records r ON r.position = c.position "
                "WHERE c.country = ? AND c.position > ?"
            )
            params.append(country)
        params.append(after)
        if tags is not None:
            sql += f" AND r.type IN ({','.join('?' * len(tags))})"
            params.extend(sorted(tags))
        order = "r.position" if country is None else "c.position"
        return f"{sql} ORDER BY {order} LIMIT {_BATCH}", params

    def _valid_time_page(
        self, key: tuple[Any, ...] | None, where: str, params: list[Any]
    ) -> tuple[Sequence[tuple[Any, ...]], tuple[Any, ...] | None]:
        page = f"({_VT_ORDER}) > (?, ?, ?, ?) AND " if key is not None else ""
        sql = (
            "SELECT r.position, r.event, r.recorded_at, r.digest, r.vt_earliest, r.vt_latest, r.vt_rank "
            "FROM records r "
            f"WHERE {page}{where} ORDER BY {_VT_ORDER} LIMIT {_BATCH}"
        )
        with self._mutex, self._sqlite_errors():
            self._check_open()
            batch = self._reader().execute(sql, [*(key or ()), *params]).fetchall()
            if len(batch) < _BATCH:
                return batch, None
            # The next page starts after the last row's key: one lookup, not four columns per row.
            last = self._conn.execute(
                f"SELECT {_VT_ORDER} FROM records WHERE position = ?", (batch[-1][0],)
            ).fetchone()
        return batch, tuple(last)

    def _index_short_of(self, count: int) -> str:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            reader = self._reader()
            for index, column in _RECORD_INDEXES:
                # Counting a column the index holds makes SQLite read the index itself.
                held = reader.execute(f"SELECT count({column}) FROM records INDEXED BY {index}").fetchone()[0]
                if held != count:
                    return (
                        f"the index {index} holds {held} of the {count} records: the SQLite file was "
                        "changed, and reads through it would pass over records (rebuild it with REINDEX, or "
                        "restore the log from a copy; PRAGMA integrity_check tells more)"
                    )
            # Every index against its table (an index of its own that the planner may prefer, entries with
            # other values): the one check that sees them, and about as long as reading every record.
            found = reader.execute("PRAGMA integrity_check(1)").fetchone()[0]
        if found != "ok":
            shown = repr(found) if len(repr(found)) <= 200 else repr(found)[:197] + "..."
            return (
                f"SQLite's integrity check finds {shown}: the SQLite file was changed or damaged, and reads "
                "may pass over or misplace records (restore the log from a copy)"
            )
        return ""

    def _indexed_beyond(self, head: int) -> tuple[object, object] | None:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            row = (
                self._reader()
                .execute(
                    "SELECT position, country FROM record_countries "
                    "WHERE typeof(position) != 'integer' OR position NOT BETWEEN 1 AND ? "
                    "ORDER BY position, country LIMIT 1",
                    (head,),
                )
                .fetchone()
            )
        return None if row is None else (row[0], row[1])

    def _count_and_span(self) -> tuple[int, int, int]:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            # Subqueries of one statement (one snapshot): alone, count(*) is SQLite's quick count of the
            # smallest index and min/max(position) one step into the table, where together they scan an
            # index.
            count, lowest, highest = (
                self._reader()
                .execute(
                    "SELECT (SELECT count(*) FROM records), (SELECT min(position) FROM records), "
                    "(SELECT max(position) FROM records)"
                )
                .fetchone()
            )
        return int(count), int(lowest or 0), int(highest or 0)

    def _country_positions(
        self, country: str, where: str, params: list[Any]
    ) -> list[tuple[int, int, int, int]]:
        sql = (
            "SELECT position, vt_earliest, vt_latest, vt_rank FROM records WHERE position IN "
            f"(SELECT position FROM record_countries WHERE country = ?) AND {where} ORDER BY {_VT_ORDER}"
        )
        with self._mutex, self._sqlite_errors():
            self._check_open()
            return [tuple(row) for row in self._reader().execute(sql, [country, *params])]

    def _records_at(self, positions: Sequence[int]) -> list[StoredRecord]:
        sql = f"SELECT {_COLUMNS} FROM records r WHERE r.position IN ({','.join('?' * len(positions))})"
        with self._mutex, self._sqlite_errors():
            self._check_open()
            return [StoredRecord(*row) for row in self._reader().execute(sql, list(positions))]

    def _recorded_by(self, stamp: str) -> tuple[str, list[Any]]:
        """Also bound the positions: ``recorded_at`` never goes backwards, so the records of *stamp* are
        those up to the last position recorded by then, found by binary search. The position is in every
        index entry, so later records are passed over without reading their rows."""
        with self._mutex, self._sqlite_errors():
            self._check_open()
            low, high = 0, self._head_unlocked()  # positions <= low were recorded by stamp, > high were not
            while low < high:
                middle = (low + high + 1) // 2
                row = self._conn.execute(
                    "SELECT recorded_at FROM records WHERE position >= ? ORDER BY position LIMIT 1", (middle,)
                ).fetchone()
                if row is None or row[0] > stamp:
                    high = middle - 1
                else:
                    low = middle
        return "position <= ? AND recorded_at <= ?", [low, stamp]

    def _joined_digests(self) -> tuple[int, str]:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            # A scan of the table runs in position order (its rowid); a check against a digest out of
            # place would fail, never pass.
            count, joined = (
                self._reader().execute("SELECT count(*), group_concat(digest, '') FROM records").fetchone()
            )
        if count and self._head_unlocked() != count:
            return -1, ""  # a gap in the positions: read them one by one
        return int(count), joined or ""

    def _stored_digests(self) -> Iterator[tuple[int, str]]:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            rows = self._reader().execute("SELECT position, digest FROM records ORDER BY position")
            return iter(rows.fetchall())

    def _stored_index(self) -> Iterator[StoredIndex]:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            cursor = self._reader().execute(_STORED_INDEX)
        while True:
            with self._mutex, self._sqlite_errors():
                rows = cursor.fetchmany(_BATCH)
            for position, tag, event_id, countries, earliest, latest, rank, indexed in rows:
                yield StoredIndex(
                    position,
                    tag,
                    event_id,
                    _split(countries),
                    (earliest, latest, rank),
                    _split(indexed or ""),
                )
            if not rows:
                return

    def _read_states(self) -> list[tuple[str, int, str, str, str]]:
        with self._mutex, self._sqlite_errors():
            self._check_open()
            reader = self._reader()
            if reader.execute(_HAS_STATES).fetchone() is None:
                return []
            # Text that is not UTF-8 comes back as bytes, a value of the wrong type that is ignored and
            # reported, where the module's own decoding would fail every read.
            reader.text_factory = _text_or_bytes
            try:
                return [tuple(row) for row in reader.execute(_READ_STATES)]
            finally:
                reader.text_factory = str

    def _write_state(self, row: tuple[str, int, str, str, str]) -> None:
        self._conn.execute(_STATES_TABLE)
        self._conn.execute(
            "INSERT OR REPLACE INTO states (name, position, digest, content, content_digest) "
            "VALUES (?, ?, ?, ?, ?)",
            row,
        )

    def _head(self) -> int:
        with self._mutex, self._sqlite_errors():
            return self._head_unlocked()

    def _head_unlocked(self) -> int:
        return int(self._reader().execute("SELECT coalesce(max(position), 0) FROM records").fetchone()[0])

    def _close(self) -> None:
        with self._mutex:
            self._conn.close()


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _shm(path: Path) -> Path:
    return path.with_name(path.name + "-shm")


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _read_only_uri(path: Path, *, immutable: bool) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro" + ("&immutable=1" if immutable else "")


def _split(countries: str) -> tuple[str, ...]:
    return tuple(countries.split(",")) if countries else ()
