"""Opening logs and copying between stores."""

from __future__ import annotations

import os
from pathlib import Path

from policytracker._log._base import BaseLog, copy_records
from policytracker._log._core import AppendResult, Clock, EventLog, Recorded, VerifyReport
from policytracker._log.jsonl import JSONLinesLog, TornTail
from policytracker._log.memory import MemoryLog
from policytracker._log.sqlite import SQLiteLog

__all__ = [
    "AppendResult",
    "Clock",
    "EventLog",
    "JSONLinesLog",
    "MemoryLog",
    "Recorded",
    "SQLiteLog",
    "TornTail",
    "VerifyReport",
    "copy_log",
    "open_log",
]

Target = str | os.PathLike[str]


def open_log(target: Target, *, clock: Clock | None = None) -> EventLog:
    """Open, or create, the event log at *target* and return it (use it as a context manager).

    - ``":memory:"``: in-process, for tests and scratch work;
    - a path ending ``.db`` or ``.sqlite``: SQLite, the embedded default (one file, no server, safe for
      several processes);
    - a path ending ``.jsonl``: a JSON Lines log, one record per line;
    - ``postgresql://user@host:5432/db`` (or ``postgres://``): PostgreSQL, for teams sharing one log (needs
      the ``postgres`` extra; libpq URL parameters apply, e.g. ``?options=-csearch_path%%3Dmyschema``).

    *clock* returns the timezone-aware moment stamped as ``recorded_at`` on the next append (default: the
    system clock, in UTC).

    Raises:
        ValueError: *target* names no known kind of store.
        ImportError: a PostgreSQL target without the ``postgres`` extra installed.
        ConnectionError: the PostgreSQL server cannot be reached.
        FileNotFoundError: the folder of a file target does not exist.
        SerializationError: the file exists but is not a policytracker log, or needs a newer policytracker.
    """
    if clock is not None and not callable(clock):
        raise TypeError(f"clock must be a callable returning a datetime, got {clock!r}")
    if isinstance(target, str) and target == ":memory:":
        return MemoryLog(clock=clock)
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        try:
            from policytracker._log.postgres import PostgresLog
        except ImportError as exc:
            raise ImportError(
                f"{_redact(target)}: PostgreSQL logs need the postgres extra: "
                "pip install 'policytracker[postgres]'"
            ) from exc
        return PostgresLog(target, clock=clock, display=_redact(target))
    if not isinstance(target, str | os.PathLike):
        raise TypeError(f"open_log expects a path or ':memory:', got {target!r}")
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix in (".db", ".sqlite"):
        return SQLiteLog(path, clock=clock)
    if suffix == ".jsonl":
        return JSONLinesLog(path, clock=clock)
    raise ValueError(
        f"cannot tell which store {str(target)!r} is: use ':memory:', a path ending in .db or .sqlite "
        "(SQLite) or .jsonl (JSON Lines)"
    )


def copy_log(source: Target | EventLog, destination: Target | EventLog) -> int:
    """Copy every record of *source* into the empty *destination* and return how many were copied.

    Positions, ``recorded_at`` stamps and digests are kept, so ``verify()`` passes on the copy. Either side
    may be an open log or a target for :func:`open_log` (opened and closed here). The source's digest chain
    is checked on the way: a damaged log is refused, never copied.

    Raises:
        ValueError: *destination* already holds records.
        IntegrityError: *source* does not verify.
    """
    opened: list[EventLog] = []
    try:
        src = source if isinstance(source, EventLog) else _remember(open_log(source), opened)
        dst = destination if isinstance(destination, EventLog) else _remember(open_log(destination), opened)
        if not isinstance(src, BaseLog) or not isinstance(dst, BaseLog):
            raise TypeError("copy_log copies between policytracker's own stores")
        return copy_records(src, dst)
    finally:
        for log in opened:
            log.close()


def _remember(log: EventLog, opened: list[EventLog]) -> EventLog:
    opened.append(log)
    return log


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        credentials = credentials.split(":", 1)[0] + ":***"
    return f"{scheme}://{credentials}{at}{host}"
