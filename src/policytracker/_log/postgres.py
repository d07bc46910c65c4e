"""The PostgreSQL store (``open_log("postgresql://user@host:5432/db")``), for teams that share one log.

Needs the ``postgres`` extra (psycopg 3). The schema is created on first use (versioned, idempotent) in the
connection's current schema, so ``?options=-csearch_path%3Dmyschema`` in the URL keeps several logs in one
database apart.

Writers serialise on a transaction-scoped advisory lock (one per schema) held until their commit, so
positions are assigned and committed strictly in order: a reader that goes by position never skips a
committed record. Each append sends a ``NOTIFY``; :meth:`PostgresLog.subscribe` waits on it instead of
polling.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from policytracker._log import hide_secrets, redact_url
from policytracker._log._base import IndexedLog
from policytracker._log._core import Clock, NewRecord, Recorded, StoredEvent, StoredIndex, StoredRecord, paged
from policytracker.exceptions import ConcurrencyError

__all__ = ["PostgresLog"]

_BATCH = 1000
# Version 2 added the valid-time columns and index (older schemas are migrated when opened).
_SCHEMA_VERSION = 2
_VT_ORDER = "vt_earliest, vt_latest, vt_rank, event_id"
_VALID_TIME_INDEX = (
    f"CREATE INDEX IF NOT EXISTS policytracker_records_by_valid_time ON policytracker_records ({_VT_ORDER})"
)
_CHANNEL = "policytracker_appended"
# Each record comes with its predecessor's digest, so that a read can check it against both.
_PREVIOUS = "(SELECT p.digest FROM policytracker_records p WHERE p.position = r.position - 1)"
_COLUMNS = f"r.position, r.recorded_at, r.digest, r.event, {_PREVIOUS}"
_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.policytracker'))"

_STORED_INDEX = """
SELECT r.position, r.type, r.event_id::text, r.countries, r.vt_earliest, r.vt_latest, r.vt_rank, c.countries
FROM policytracker_records r
LEFT JOIN (
    SELECT position, array_agg(country) AS countries FROM policytracker_record_countries GROUP BY position
) c ON c.position = r.position
ORDER BY r.position
"""

# Projection states kept beside the records (see StateKeeper): derived data, created when first written.
_STATES_TABLE = """CREATE TABLE IF NOT EXISTS policytracker_states (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    digest TEXT NOT NULL,
    content TEXT NOT NULL,
    content_digest TEXT NOT NULL
)"""

_READ_STATES = (
    "SELECT name, position, digest, content, content_digest FROM policytracker_states ORDER BY name"
)

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS policytracker_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS policytracker_records (
        position BIGINT PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        event_id UUID NOT NULL UNIQUE,
        type TEXT NOT NULL,
        countries TEXT[] NOT NULL,
        event TEXT NOT NULL,
        digest TEXT NOT NULL,
        vt_earliest INTEGER,
        vt_latest INTEGER,
        vt_rank SMALLINT
    )""",
    "CREATE INDEX IF NOT EXISTS policytracker_records_by_type ON policytracker_records (type, position)",
    """CREATE TABLE IF NOT EXISTS policytracker_record_countries (
        country TEXT NOT NULL,
        position BIGINT NOT NULL,
        PRIMARY KEY (country, position)
    )""",
]


class PostgresLog(IndexedLog):
    """An ``EventLog`` in PostgreSQL: many writers (processes, threads, machines) share one log."""

    _MARK = "%s"
    _STORAGE_SCHEMA = _SCHEMA_VERSION
    # Reads ask for the next page while the current one is decoded (a one-country read's pages hold
    # _PAGE positions).
    _PAGE = 5000
    _PREFETCH = True
    _VALID_TIME_INDEX = _VALID_TIME_INDEX

    def __init__(self, url: str, *, clock: Clock | None = None, display: str | None = None) -> None:
        super().__init__(display or redact_url(url), clock)
        self._url = url
        self._conn = self._connect()
        try:
            self._check_schema()
            self._create_schema()
        except psycopg.errors.InsufficientPrivilege as exc:
            self._conn.close()
            raise PermissionError(f"{self.target}: {self._reason(exc)}") from None
        except psycopg.Error as exc:
            self._conn.close()
            raise ConnectionError(f"cannot open {self.target}: {self._reason(exc)}") from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection to the server; the errors name the URL without its password."""
        try:
            conninfo_to_dict(self._url)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"{self.target}: not a valid PostgreSQL URL: {self._reason(exc)}") from None
        try:
            return psycopg.connect(self._url, autocommit=True)
        except psycopg.Error as exc:
            raise ConnectionError(f"cannot connect to {self.target}: {self._reason(exc)}") from None

    def _reason(self, exc: BaseException) -> str:
        return hide_secrets(_first_line(exc), self._url)

    def _check_schema(self) -> None:
        """Refuse a search_path that names no existing schema (tables would have nowhere to go)."""
        row = self._conn.execute("SELECT current_schema()").fetchone()
        if row is not None and row[0] is not None:
            return
        setting = self._conn.execute("SHOW search_path").fetchone()
        names = [name for name in _schema_names(str(setting[0] if setting else "")) if name != "$user"]
        if not names:
            raise ValueError(
                f"{self.target}: the search_path names no schema; set one with "
                "?options=-csearch_path%3Dmyschema"
            )
        quoted = self._conn.execute("SELECT quote_ident(%s)", (names[0],)).fetchone()
        raise ValueError(
            f"{self.target}: the schema {names[0]!r} does not exist; create it with: "
            f"CREATE SCHEMA {quoted[0] if quoted else names[0]}"
        )

    def _create_schema(self) -> None:
        with self._conn.transaction():
            self._conn.execute(_LOCK)  # two processes creating the schema at once must not collide
            for statement in _SCHEMA:
                self._conn.execute(statement)
            rows = self._conn.execute("SELECT key, value FROM policytracker_meta").fetchall()
            meta: dict[str, str] = {str(key): str(value) for key, value in rows}
            self._settle_storage(meta, self._conn.execute)

    def _migrate_to_2(self, valid_time_of: Callable[[str, int], tuple[int, int, int]]) -> None:
        """Add and fill the valid-time columns: index data derived from the stored events, which are
        read, never rewritten."""
        for column, kind in (("vt_earliest", "INTEGER"), ("vt_latest", "INTEGER"), ("vt_rank", "SMALLINT")):
            self._conn.execute(f"ALTER TABLE policytracker_records ADD COLUMN IF NOT EXISTS {column} {kind}")
        after = 0
        while True:
            rows = self._conn.execute(
                "SELECT position, event FROM policytracker_records WHERE position > %s "
                f"ORDER BY position LIMIT {_BATCH}",
                (after,),
            ).fetchall()
            if not rows:
                break
            with self._conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE policytracker_records SET vt_earliest = %s, vt_latest = %s, vt_rank = %s "
                    "WHERE position = %s",
                    [(*valid_time_of(text, position), position) for position, text in rows],
                )
            after = rows[-1][0]
        self._conn.execute(
            "UPDATE policytracker_meta SET value = %s WHERE key = 'schema_version'", (str(_SCHEMA_VERSION),)
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            with self._conn.transaction():
                self._conn.execute(_LOCK)
                yield
        except psycopg.errors.LockNotAvailable as exc:  # pragma: no cover - only with lock_timeout set
            raise ConcurrencyError(f"{self.target}: could not take the write lock ({exc})") from exc

    def _tail(self) -> tuple[int, str, str | None]:
        row = self._conn.execute(
            "SELECT position, digest, recorded_at FROM policytracker_records ORDER BY position DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return 0, "", None
        return int(row[0]), str(row[1]), str(row[2])

    def _lookup(
        self, ids: Mapping[uuid.UUID, str]
    ) -> Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]]:
        rows = self._conn.execute(
            "SELECT event_id, event, countries FROM policytracker_records WHERE event_id = ANY(%s)",
            (list(ids),),
        ).fetchall()
        return {event_id: (event, tuple(countries)) for event_id, event, countries in rows}

    def _write(self, records: Sequence[NewRecord]) -> None:
        # COPY streams a batch in one go: several times faster than INSERTs, even pipelined.
        with self._conn.cursor() as cursor:
            with cursor.copy(
                "COPY policytracker_records (position, recorded_at, event_id, type, countries, event, "
                "digest, vt_earliest, vt_latest, vt_rank) FROM STDIN"
            ) as copy:
                for record in records:
                    index = record.entry
                    copy.write_row(
                        (
                            record.position,
                            record.recorded_at,
                            index.event_id,
                            index.tag,
                            list(index.countries),
                            record.text,
                            record.digest,
                            *index.valid_time,
                        )
                    )
            with cursor.copy("COPY policytracker_record_countries (country, position) FROM STDIN") as copy:
                for record in records:
                    for country in record.entry.countries:
                        copy.write_row((country, record.position))
            # Delivered when the transaction commits, never before.
            cursor.execute(
                "SELECT pg_notify(%s, current_schema() || ':' || %s)", (_CHANNEL, str(records[-1].position))
            )

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[StoredRecord]:
        def page(start: int) -> list[StoredRecord]:
            with self._mutex:
                self._check_open()
                rows = self._conn.execute(*_query(start, country, tags)).fetchall()
            return [StoredRecord(*row) for row in rows]

        return paged(page, after, _BATCH)

    def _valid_time_page(
        self, key: tuple[Any, ...] | None, where: str, params: list[Any]
    ) -> tuple[Sequence[tuple[Any, ...]], tuple[Any, ...] | None]:
        page = f"({_VT_ORDER}) > (%s, %s, %s, %s) AND " if key is not None else ""
        sql = (
            f"SELECT r.position, r.event, r.recorded_at, r.digest, {_VT_ORDER} "
            f"FROM policytracker_records r WHERE {page}{where} ORDER BY {_VT_ORDER} LIMIT {_BATCH}"
        )
        with self._mutex:
            self._check_open()
            batch = self._conn.execute(sql, [*(key or ()), *params]).fetchall()
        # The key columns come with every row: a second round trip per page would cost more.
        return batch, tuple(batch[-1][4:]) if len(batch) == _BATCH else None

    def _indexed_beyond(self, head: int) -> tuple[object, object] | None:
        with self._mutex:
            self._check_open()
            row = self._conn.execute(
                "SELECT position, country FROM policytracker_record_countries "
                "WHERE position NOT BETWEEN 1 AND %s ORDER BY position, country LIMIT 1",
                (head,),
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def _count_and_span(self) -> tuple[int, int, int]:
        with self._mutex:
            self._check_open()
            row = self._conn.execute(
                "SELECT count(*), coalesce(min(position), 0), coalesce(max(position), 0) "
                "FROM policytracker_records"
            ).fetchone()
        return (0, 0, 0) if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def _country_positions(
        self, country: str, where: str, params: list[Any]
    ) -> list[tuple[int, int, int, int]]:
        sql = (
            "SELECT position, vt_earliest, vt_latest, vt_rank FROM policytracker_records WHERE position IN "
            "(SELECT position FROM policytracker_record_countries WHERE country = %s) "
            f"AND {where} ORDER BY {_VT_ORDER}"
        )
        with self._mutex:
            self._check_open()
            return [tuple(row) for row in self._conn.execute(sql, [country, *params]).fetchall()]

    def _records_at(self, positions: Sequence[int]) -> list[StoredRecord]:
        with self._mutex:
            self._check_open()
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM policytracker_records r WHERE r.position = ANY(%s)",
                [list(positions)],
            ).fetchall()
        return [StoredRecord(*row) for row in rows]

    def _joined_digests(self) -> tuple[int, str]:
        with self._mutex:
            self._check_open()
            row = self._conn.execute(
                "SELECT count(*), coalesce(max(position), 0), string_agg(digest, '' ORDER BY position) "
                "FROM policytracker_records"
            ).fetchone()
        count, head, joined = row if row is not None else (0, 0, "")
        return (int(count), joined or "") if count == head else (-1, "")

    def _stored_digests(self) -> Iterator[tuple[int, str]]:
        with self._mutex:
            self._check_open()
            rows = self._conn.execute("SELECT position, digest FROM policytracker_records ORDER BY position")
            return iter(rows.fetchall())

    def _stored_index(self) -> Iterator[StoredIndex]:
        # A connection of its own, streaming through a server-side cursor in one snapshot.
        with psycopg.connect(self._url) as conn, conn.cursor(name="policytracker_index") as cursor:
            cursor.itersize = _BATCH
            cursor.execute(_STORED_INDEX)
            for position, tag, event_id, countries, earliest, latest, rank, indexed in cursor:
                yield StoredIndex(
                    position, tag, event_id, tuple(countries), (earliest, latest, rank), tuple(indexed or ())
                )

    def _read_states(self) -> list[tuple[str, int, str, str, str]]:
        with self._mutex:
            self._check_open()
            if self._conn.execute("SELECT to_regclass('policytracker_states')").fetchone() in (None, (None,)):
                return []
            rows = self._conn.execute(_READ_STATES).fetchall()
        return [tuple(row) for row in rows]

    def _write_state(self, row: tuple[str, int, str, str, str]) -> None:
        self._conn.execute(_STATES_TABLE)
        self._conn.execute(
            "INSERT INTO policytracker_states (name, position, digest, content, content_digest) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
            "digest = excluded.digest, content = excluded.content, content_digest = excluded.content_digest",
            row,
        )

    def _head(self) -> int:
        with self._mutex:
            row = self._conn.execute(
                "SELECT coalesce(max(position), 0) FROM policytracker_records"
            ).fetchone()
        return int(row[0]) if row else 0

    def _close(self) -> None:
        with self._mutex:
            self._conn.close()

    def subscribe(self, *, after: int = 0, timeout: float | None = None) -> Iterator[Recorded]:
        """Yield every record after position *after* as it is committed, waiting for new ones.

        Waits on PostgreSQL's ``LISTEN`` / ``NOTIFY`` rather than polling (with a safety wake-up every
        5 seconds). Stops after *timeout* seconds without a new record (default: never). Records arrive
        in position order and none is skipped. Close the iterator (or leave the loop) to stop listening.
        """
        self._check_open()
        try:
            listener = psycopg.connect(self._url, autocommit=True)
        except psycopg.Error as exc:
            raise ConnectionError(f"cannot connect to {self.target}: {self._reason(exc)}") from None
        try:
            listener.execute(f"LISTEN {_CHANNEL}")  # listen before reading, so no append falls in between
            position = after
            quiet_since = time.monotonic()
            while True:
                for record in self.read(after=position):
                    position = record.position
                    quiet_since = time.monotonic()
                    yield record
                wait = 5.0
                if timeout is not None:
                    wait = min(wait, timeout - (time.monotonic() - quiet_since))
                    if wait <= 0:
                        return
                for _ in listener.notifies(timeout=wait, stop_after=1):
                    pass
        finally:
            listener.close()


def _query(after: int, country: str | None, tags: frozenset[str] | None) -> tuple[str, list[Any]]:
    params: list[Any] = []
    if country is None:
        sql = f"SELECT {_COLUMNS} FROM policytracker_records r WHERE r.position > %s"
        order = "r.position"
    else:
        sql = (
            f"SELECT {_COLUMNS} FROM policytracker_record_countries c "
            "JOIN policytracker_records r ON r.position = c.position WHERE c.country = %s AND c.position > %s"
        )
        params.append(country)
        order = "c.position"
    params.append(after)
    if tags is not None:
        sql += " AND r.type = ANY(%s)"
        params.append(sorted(tags))
    return f"{sql} ORDER BY {order} LIMIT {_BATCH}", params


def _schema_names(search_path: str) -> list[str]:
    """The schema names of a ``search_path`` setting, as PostgreSQL reads them (quoted names kept as they
    are, unquoted ones folded to lower case)."""
    names: list[str] = []
    for part in re.findall(r'\s*("(?:[^"]|"")*"|[^,]*)\s*(?:,|$)', search_path):
        part = part.strip()
        if part.startswith('"') and part.endswith('"') and len(part) >= 2:
            names.append(part[1:-1].replace('""', '"'))
        elif part:
            names.append(part.lower())
    return names


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
