"""Opening logs and copying between stores."""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from policytracker._log._base import BaseLog, copy_records
from policytracker._log._core import (
    AppendResult,
    Clock,
    EventLog,
    Recorded,
    Repairable,
    Repaired,
    VerifyReport,
)
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
    "Repairable",
    "Repaired",
    "SQLiteLog",
    "TornTail",
    "VerifyReport",
    "copy_log",
    "hide_secrets",
    "open_log",
    "redact_url",
]

Target = str | os.PathLike[str]


def open_log(target: Target, *, clock: Clock | None = None) -> EventLog:
    """Open, or create, the event log at *target* and return it (use it as a context manager).

    - ``":memory:"``: in-process, for tests and scratch work;
    - a path ending ``.db``, ``.sqlite`` or ``.sqlite3``: SQLite, the embedded default (one file, no
      server, safe for several processes);
    - a path ending ``.jsonl``: a JSON Lines log, one record per line;
    - ``postgresql://user@host:5432/db`` (or ``postgres://``): PostgreSQL, for teams sharing one log (needs
      the ``postgres`` extra; libpq URL parameters apply, e.g. ``?options=-csearch_path%%3Dmyschema``).

    *clock* returns the timezone-aware moment stamped as ``recorded_at`` on the next append (default: the
    system clock, in UTC).

    Raises:
        ValueError: *target* names no known kind of store, is not a valid PostgreSQL URL, or names a
            PostgreSQL schema that does not exist (the message gives the ``CREATE SCHEMA`` that fixes it).
        ImportError: a PostgreSQL target without the ``postgres`` extra installed.
        ConnectionError: the PostgreSQL server cannot be reached.
        FileNotFoundError: the folder of a file target does not exist.
        IsADirectoryError: a file target is a folder.
        PermissionError: a log that does not exist yet cannot be created there, or a read-only log
            would need an upgrade.
        SerializationError: the file exists but is not a policytracker log, or needs a newer policytracker.
        IntegrityError: the SQLite file is damaged (truncated, say).
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
                f"{redact_url(target)}: PostgreSQL logs need the postgres extra: "
                "pip install 'policytracker[postgres]'"
            ) from exc
        return PostgresLog(target, clock=clock, display=redact_url(target))
    if isinstance(target, str) and "://" in target:
        raise ValueError(_unknown_url(target))
    if not isinstance(target, str | os.PathLike):
        raise TypeError(f"open_log expects a path or ':memory:', got {target!r}")
    path = Path(target)
    suffix = path.suffix.lower()
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return SQLiteLog(path, clock=clock)
    if suffix == ".jsonl":
        return JSONLinesLog(path, clock=clock)
    raise ValueError(
        f"cannot tell which store {str(target)!r} is: use ':memory:', a path ending in .db, .sqlite or "
        ".sqlite3 (SQLite) or .jsonl (JSON Lines)"
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


def _unknown_url(url: str) -> str:
    shown = redact_url(url)
    scheme = url.partition("://")[0]
    if scheme.lower().startswith(("postgresql+", "postgres+")):
        libpq = "postgresql://" + shown.partition("://")[2]
        return (
            f"{shown}: this is SQLAlchemy's form of a PostgreSQL URL; policytracker takes libpq's "
            f"(without +driver): {libpq}"
        )
    return (
        f"cannot tell which store {shown!r} is: use postgresql:// (or postgres://) for PostgreSQL, "
        "':memory:', or a path ending in .db, .sqlite or .sqlite3 (SQLite) or .jsonl (JSON Lines)"
    )


# password=, and libpq's sslpassword= (the key of a client certificate).
_PASSWORD_PARAMETER = re.compile(r"(?i)((?:^|[?&;\s])(?:ssl)?password=)[^&#\s]*")
_MASKED = r"\1***"
_ENCODED_PASSWORD = re.compile(r"(?i)(?:^|[?&;\s])\s*(?:ssl)?password\s*=\s*([^&#\s]+)")
_QUOTED = re.compile(r'"([^"]*)"')
# A password this short cannot be told apart from the rest of a message, so it is not searched for.
_SHORTEST_SEARCHED = 3


def redact_url(url: str) -> str:
    """*url* with its password, wherever it is given, replaced by ``***``, for messages and reprs.

    Works on any ``scheme://`` text, valid or not: the password after ``user:`` is masked, the whole
    user information is masked when it cannot be told apart (an unencoded ``@`` or space in it), and so is
    every ``password=`` and ``sslpassword=`` parameter. When a password is still visible (one psycopg
    finds, or one given under a percent-encoded name), only the scheme is kept.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return _PASSWORD_PARAMETER.sub(_MASKED, url)
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        user = credentials.split(":", 1)[0]
        safe = "@" not in credentials and not any(char.isspace() for char in credentials)
        rest = f"{user + ':***' if safe else '***'}@{host}"
    shown = _PASSWORD_PARAMETER.sub(_MASKED, rest)
    # Given in a form the masking above misses: one psycopg finds (however short), or any other.
    parsed = {form for password in _parsed_passwords(url) for form in _forms(password)}
    others = {secret for secret in _secrets(url) if len(secret) >= _SHORTEST_SEARCHED}
    if any(secret and secret in shown for secret in parsed | others):
        return f"{scheme}://***"
    return f"{scheme}://{shown}"


def hide_secrets(text: str, url: str) -> str:
    """*text* (a message about *url*) with every password of *url* in it masked, and every URL it quotes
    redacted: libpq's own messages may quote the faulty part of a URL, password included."""
    secrets = _secrets(url)

    def quoted(match: re.Match[str]) -> str:
        if "://" in match[1]:
            return f'"{redact_url(match[1])}"'
        return '"***"' if match[1] and any(match[1] in secret for secret in secrets) else match[0]

    text = _QUOTED.sub(quoted, text)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _SHORTEST_SEARCHED:
            text = text.replace(secret, "***")
    return text


def _secrets(url: str) -> set[str]:
    """Every string of *url* that may be, or hold, its password: as parsed, as typed, decoded."""
    found = set()
    for parsed in _parsed_passwords(url):
        found.update(_forms(parsed))
    credentials, at, _ = url.partition("://")[2].rpartition("@")
    if at and ":" in credentials:
        password = credentials.split(":", 1)[1]
        found.update(_forms(password))
        for piece in password.split("@"):  # libpq may read the pieces of "pass@word" as password and host
            found.update(_forms(piece))
    for match in _PASSWORD_PARAMETER.finditer(url):
        found.update(_forms(url[match.end(1) : match.end()]))
    # A parameter whose name, or the "=" or "?" before it, is percent-encoded (ssl%70assword=...): libpq
    # decodes it, so the decoded URL is searched too.
    for match in _ENCODED_PASSWORD.finditer(urllib.parse.unquote(url)):
        found.update(_forms(match[1]))
    return {secret for secret in found if secret}


def _forms(secret: str) -> set[str]:
    decoded = urllib.parse.unquote(secret)
    return {secret, decoded, urllib.parse.quote(decoded), urllib.parse.quote(decoded, safe="")}


def _parsed_passwords(url: str) -> list[str]:
    """The passwords psycopg finds in *url* (``password`` and ``sslpassword``), when it can parse it."""
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return []
    try:
        parsed = conninfo_to_dict(url)
    except Exception:  # unparsable: the structural masking is all there is
        return []
    return [str(parsed[key]) for key in ("password", "sslpassword") if parsed.get(key)]
