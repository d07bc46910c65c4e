"""The ``policytracker`` command line: parsing and printing only; the work is done by the library.

Every command exits 0 on success, 1 with one line on standard error when the input is bad (a missing
file, a malformed date, an unknown country, a damaged log, an unreachable server) and 2 on a usage error.
Nothing is written when an input is refused. An unexpected error is one line too (exit 1); ``--traceback``
or ``POLICYTRACKER_TRACEBACK=1`` adds its traceback. No password is ever printed, and the text output
shows control characters from the data as escapes (``\\n``, ``\\x1b``) rather than sending them to the
terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import importlib
import importlib.metadata
import json
import os
import sqlite3
import sys
import time
import traceback
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs

from policytracker._codec import encode_value
from policytracker._countries import country_name, normalize_country
from policytracker._csvout import write_events, write_rows
from policytracker._dates import FuzzyDate
from policytracker._eventfiles import dump_events, load_events
from policytracker._events import (
    AdoptionEstimated,
    CompanyHeadquartered,
    CryptoBanChanged,
    Event,
    HoldingsReported,
    IMFConcernRaised,
    IMFProgramAgreed,
    IMFRefusal,
    LegalTenderAdopted,
    LegalTenderStatusChanged,
    MiningPowerAllocated,
    OfficialAppointed,
    PartnershipFormed,
    PolicyStatement,
    RegulatorEstablished,
    ReserveAnnounced,
    ReservePurchase,
    ReserveSale,
    VisitPlanned,
)
from policytracker._frames import events_frame
from policytracker._log import (
    EventLog,
    Recorded,
    Repairable,
    copy_log,
    hide_secrets,
    open_log,
    redact_url,
)
from policytracker._plot import require_matplotlib
from policytracker._present import basis, counted, number, plain_number, state_rows
from policytracker._projections import COUNTRY_STATES, CountryState, country_state, fold
from policytracker._projections._history import check_as_of, check_known_at, stream_effective
from policytracker._projections._stored import latest_country_states, save_snapshot, stored_state_problem
from policytracker._report import report
from policytracker._safetext import UNSAFE_IN_JSON, visible
from policytracker._serialization import event_to_dict
from policytracker._sync import SyncChange, SyncPlan, checked_rows, make_plan
from policytracker.exceptions import PolicyTrackerError, SerializationError

__all__ = ["main"]

T = TypeVar("T")

_EPILOG_REPLAY = """examples:
  policytracker replay history.db
  policytracker replay history.db --country PK --country SV --as-of 2025-07
  policytracker replay history.db --known-at 2025-07-18T00:00:00Z --format json | jq .SV.holdings
  policytracker replay history.db --format csv > states.csv
A holdings figure that rests on no holdings report is only the purchases minus the sales the log knows
of: the table says "net, no holdings report" beside it.
"""
_EPILOG_TIMELINE = """examples:
  policytracker timeline history.db SV
  policytracker timeline history.db PK --as-of 2025-06-30 --format json
  policytracker timeline history.db SV --format csv > sv.csv
"""
_EPILOG_APPEND = """examples:
  policytracker append history.db examples/data/seed_history.jsonl
  policytracker append history.db purchases.csv
  cat events.jsonl | policytracker append history.db -
Every row is checked first; if any is bad, they are all listed and nothing is written.
CSV files need a header with at least the columns type and occurred (see docs/cli.md).
"""
_EPILOG_VERIFY = """examples:
  policytracker verify history.db
  policytracker verify history.jsonl | awk '{print $NF}' >> checkpoints.txt
  policytracker verify history.jsonl --expect "$(tail -n 1 checkpoints.txt)"
On success the last word printed is the head as a checkpoint, POSITION:DIGEST. Keep it somewhere else:
--expect POSITION:DIGEST later fails (exit 1) if the log no longer holds that record with that digest,
so records changed or cut off before it are caught.
"""
_EPILOG_REPAIR = """examples:
  policytracker repair history.jsonl
Removes what a crash left at the end of a JSON Lines log: a torn final line and the lines of an append it
cut off, whole, and says what it removed. Database logs write each append in one transaction: there is
nothing to repair.
"""
_EPILOG_SNAPSHOT = """examples:
  policytracker snapshot history.db
  policytracker snapshot history.db --rebuild
Stores the latest state of every country beside the records. A replay without --as-of or --known-at then
loads it and folds in only what was appended since; the answer is always the one every record gives. Run
it again whenever you like: it brings the stored state up to date. A stored state that does not match the
log is ignored, and verify reports it.
"""
_EPILOG_REPORT = """examples:
  policytracker report history.db -o report.html
  policytracker report history.db -o pk.html --country PK --as-of 2025-07
  policytracker report history.db -o week.html --since 2025-07-11T00:00:00Z
Writes one HTML file that opens offline (no script, nothing fetched): per country its state, timeline and
holdings figures, conflicts and every event with its sources; with --since, what was recorded since then
and each country's state then beside its state now. Needs matplotlib: pip install "policytracker[plot]".
"""
_EPILOG_COPY = """examples:
  policytracker copy history.jsonl history.db
  policytracker copy history.db backup.jsonl
"""
_EPILOG_EXPORT = """examples:
  policytracker export history.db > events.jsonl
  policytracker export history.db --output events.jsonl
  policytracker export history.db --format csv --output events.csv
  policytracker export history.db --format parquet --output events.parquet
jsonl (the default) writes every record's event: the lossless event file, which re-imports to the same
history. csv writes the effective events in the event-file CSV layout, for spreadsheets; parquet writes
events_frame() (needs the frames extra). --output never overwrites a file.
"""
_EPILOG_SYNC = """examples:
  policytracker sync history.db examples/data/seed_history.jsonl
  policytracker sync history.db curated.csv --dry-run
  policytracker sync history.db curated.csv --retract-missing
Rows are matched with the log's events by their key (a key column in CSV, "key" in JSON Lines): a new
key is appended, a changed row becomes a correction, a deleted row (with --retract-missing) a retraction.
The plan is printed first, one line per key, then written in one append; a second sync writes nothing.
"""
_EPILOG_STATS = """examples:
  policytracker stats history.db
  policytracker stats history.db --format json
  policytracker stats history.db --format csv > stats.csv
"""


_TRACEBACK_VARIABLE = "POLICYTRACKER_TRACEBACK"
_TRACEBACK_HELP = f"on failure, show the traceback too (or set {_TRACEBACK_VARIABLE}=1)"


class _Failure(Exception):
    """A bad input, reported as one line and exit code 1 (``details``: further lines, e.g. each bad row)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = tuple(details)


class _UsageError(Exception):
    """A bad command line, reported as one line and exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the full usage is one ``--help`` away)."""

    def error(self, message: str) -> typing.NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


# -- progress -----


class _Progress:
    """Counts work on standard error when it is a terminal; silent when piped."""

    def __init__(self, what: str, stream: IO[str]) -> None:
        self.what = what
        self.stream = stream
        self.enabled = stream.isatty()
        self.count = 0
        self.shown = time.monotonic()

    def track(self, items: Iterable[T]) -> Iterator[T]:
        """*items*, counted on the terminal as they pass."""
        if not self.enabled:
            return iter(items)
        return self._counted(items)

    def _counted(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            self.count += 1
            if time.monotonic() - self.shown > 0.2:
                self.stream.write(f"\r{self.what}: {self.count:,}")
                self.stream.flush()
                self.shown = time.monotonic()
            yield item
        if self.count:
            self.stream.write(f"\r{self.what}: {self.count:,}\n")


# -- argument types -----


def _as_of(text: str) -> FuzzyDate:
    try:
        check_as_of(text)
        return FuzzyDate.parse(text)
    except (PolicyTrackerError, ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _known_at(text: str) -> _dt.datetime:
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 moment such as 2025-07-18T09:30:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; add one, e.g. {text}Z or {text}+02:00")
    try:
        moment.astimezone(_dt.UTC)
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range: in UTC it falls outside the years 1 to 9999"
        ) from None
    try:
        return check_known_at(moment)
    except (PolicyTrackerError, ValueError, OverflowError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _country(text: str) -> str:
    try:
        return normalize_country(text)
    except PolicyTrackerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _is_url(target: str) -> bool:
    return "://" in target


def _existing(text: str) -> str:
    if text != ":memory:" and not _is_url(text) and not Path(text).exists():
        raise argparse.ArgumentTypeError(f"no such log: {text}")
    return text


# -- failures -----


def _shown(target: str) -> str:
    """*target* as messages name it: a URL without its password."""
    return redact_url(target) if _is_url(target) else target


def _expected(exc: BaseException) -> bool:
    """Whether *exc* is a failure of the input (a bad file, a damaged log, an unreachable server) rather
    than of policytracker."""
    if isinstance(exc, BrokenPipeError):
        return False
    return isinstance(
        exc, PolicyTrackerError | OSError | ValueError | sqlite3.Error | RecursionError | ImportError
    ) or type(exc).__module__.startswith("psycopg")


def _describe(exc: BaseException) -> str:
    """What went wrong, in words, for an exception that `_expected` accepts."""
    if isinstance(exc, sqlite3.Error):
        return _sqlite_problem(str(exc))
    if isinstance(exc, RecursionError):
        return "a value is nested too deeply to read (deeper than Python's recursion limit)"
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
    if type(exc).__module__.startswith("psycopg"):
        lines = str(exc).strip().splitlines()
        return f"PostgreSQL error: {lines[0] if lines else type(exc).__name__}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc).strip() or type(exc).__name__


_SQLITE_HINTS = {
    "file is not a database": "not a SQLite database",
    "database disk image is malformed": "the SQLite database is damaged, perhaps truncated",
    "unable to open database file": "cannot open the SQLite database: check that its folder is writable",
    "attempt to write a readonly database": "the SQLite database is read-only to you, and SQLite needs to "
    "write to it (and its folder) even to read",
}


def _sqlite_problem(message: str) -> str:
    hint = _SQLITE_HINTS.get(message)
    return f"{hint} (SQLite: {message})" if hint else f"SQLite error: {message}"


def _failure(exc: BaseException, shown: str | None = None) -> _Failure:
    """*exc* as one line (naming *shown*, the file or log it is about, when the message does not), with
    the bad rows of an event file as details."""
    if isinstance(exc, _Failure):
        return exc
    message = _describe(exc)
    details: tuple[str, ...] = ()
    if isinstance(exc, SerializationError) and exc.errors:
        first, *rest = message.splitlines()
        message, details = first, tuple(rest)
    if shown is not None and shown not in message:
        message = f"{shown}: {message}"
    return _Failure(message, details)


@contextlib.contextmanager
def _naming(shown: str) -> Iterator[None]:
    """Report an expected failure of the file or log *shown* as one line that names it."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, _Failure) or not _expected(exc):
            raise
        raise _failure(exc, shown) from exc


@contextlib.contextmanager
def _opened(target: str, *, blame: bool = True) -> Iterator[EventLog]:
    """The log at *target*, open. A failure to open it (and, with *blame*, to read it) names it."""
    shown = _shown(target)
    if target != ":memory:" and not _is_url(target) and Path(target).is_dir():
        raise _Failure(f"{shown}: is a directory, not a log")
    with _naming(shown):
        log = open_log(target)
    with log, _naming(shown) if blame else contextlib.nullcontext():
        yield log


# -- output helpers -----


def _plain(value: Any) -> Any:
    """A JSON-ready form of state values: events as canonical objects, mappings and sets sorted."""
    if isinstance(value, Event):
        return event_to_dict(value)
    if isinstance(value, Mapping):
        return {
            str(_plain(key)): _plain(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, frozenset | set):
        return sorted(_plain(item) for item in value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if attrs.has(type(value)) and not isinstance(value, FuzzyDate):
        return {field.name: _plain(getattr(value, field.name)) for field in attrs.fields(type(value))}
    return encode_value(value)


def _visible(text: str) -> str:
    """*text* with every control character written as an escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return visible(text)


def _say(out: IO[str], text: str) -> None:
    """Write one line of text output, its control characters escaped."""
    out.write(_visible(text) + "\n")


def _json(obj: Any, out: IO[str]) -> None:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False)
    out.write(UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match[0]):04x}", text) + "\n")


def _print_states(states: Mapping[str, CountryState], out: IO[str]) -> None:
    for index, (code, state) in enumerate(states.items()):
        if index:
            out.write("\n")
        last = f", last {state.last_occurred}" if state.last_occurred else ""
        _say(out, f"{country_name(code)} ({code}): {counted(state.event_count, 'event')}{last}")
        for label, text in state_rows(state):
            _say(out, f"  {label:<15} {text}")


# The CSV column of each row of a state's table (holdings, mining and holders have number columns).
_STATE_COLUMNS = {
    "legal tender": "legal_tender",
    "reserve": "reserve",
    "regulators": "regulators",
    "partners": "partners",
    "IMF programmes": "imf_programs",
    "IMF refusals": "imf_refusals",
    "IMF concerns": "imf_concerns",
    "bans": "bans",
    "officials": "officials",
    "planned visits": "planned_visits",
    "companies": "headquartered_companies",
    "conflicts": "conflicts",
}


def _states_csv(states: Mapping[str, CountryState], out: IO[str]) -> None:
    """*states* as CSV, one row per country: the table's rows as text columns, and each asset's holdings
    (a number) with what it rests on."""
    assets = sorted({asset for state in states.values() for asset in state.holdings})
    header = ["country", "country_name", "event_count", "last_occurred"]
    header += [name for asset in assets for name in (f"holdings_{asset}", f"holdings_{asset}_basis")]
    header += ["mining_megawatts", "crypto_holders", *_STATE_COLUMNS.values()]
    rows = []
    for code, state in states.items():
        texts = dict(state_rows(state, number=plain_number))
        row: list[Any] = [code, country_name(code), state.event_count, state.last_occurred]
        for asset in assets:
            held = asset in state.holdings
            row += [state.holdings.get(asset), basis(state, asset) if held else None]
        row += [state.mining_megawatts, state.crypto_holders]
        row += [None if texts.get(label, "—") == "—" else texts[label] for label in _STATE_COLUMNS]
        rows.append(row)
    write_rows(header, rows, out)


def _summary(event: Event) -> str:
    """The key figure of *event*, for its timeline row: an amount with its asset, a programme's size, a
    regulator's name, a visit's host, ..."""
    known = _KEY_FIGURES.get(type(event))
    if known is not None:
        return ", ".join(part for part in known(event) if part)
    for name in ("text", "proposal", "topic", "name", "company", "person", "amount", "megawatts", "holders"):
        value = getattr(event, name, None)
        if value is not None:
            shown = number(value) if isinstance(value, Decimal | int) else str(value)
            asset = getattr(event, "asset", "")
            return f"{shown} {asset}".strip() if isinstance(value, Decimal) and name == "amount" else shown
    return ", ".join(country_name(code) for code in event.countries)


def _programme(event: IMFProgramAgreed) -> tuple[str, ...]:
    size = "size not reported" if event.amount_usd is None else f"USD {number(event.amount_usd)}"
    return size, event.facility, f"to {event.ends}" if event.ends else ""


# The parts of each built-in event type's key figure (empty parts are left out).
_KEY_FIGURES: dict[type[Event], Callable[[Any], tuple[str, ...]]] = {
    IMFProgramAgreed: _programme,
    ReservePurchase: lambda e: (
        f"{number(e.amount)} {e.asset} bought",
        f"at USD {number(e.price_usd)} each" if e.price_usd is not None else "",
    ),
    ReserveSale: lambda e: (f"{number(e.amount)} {e.asset} sold",),
    HoldingsReported: lambda e: (f"{number(e.amount)} {e.asset} held", e.basis),
    ReserveAnnounced: lambda e: (f"{e.asset} reserve {e.stage.value}",),
    LegalTenderAdopted: lambda e: (f"{e.asset} legal tender",),
    LegalTenderStatusChanged: lambda e: (f"{e.asset}: {e.status.value.replace('_', ' ')}",),
    CryptoBanChanged: lambda e: (f"{e.scope}: {'banned' if e.banned else 'allowed'}",),
    MiningPowerAllocated: lambda e: (f"{number(e.megawatts)} MW",),
    AdoptionEstimated: lambda e: (f"{number(e.holders)} holders",),
    OfficialAppointed: lambda e: (e.person, e.role),
    RegulatorEstablished: lambda e: (f"{e.name} ({e.acronym})" if e.acronym else e.name,),
    VisitPlanned: lambda e: (f"{e.official} to {country_name(e.host)}",),
    PartnershipFormed: lambda e: (" and ".join(country_name(code) for code in e.countries), *e.areas),
    CompanyHeadquartered: lambda e: (e.company,),
    IMFRefusal: lambda e: (e.proposal,),
    IMFConcernRaised: lambda e: (e.topic,),
    PolicyStatement: lambda e: (e.text,),
}


# -- commands -----


def _records(log: EventLog, err: IO[str], what: str) -> Iterator[Recorded]:
    return _Progress(what, err).track(log.read())


def _effective(
    log: EventLog, args: argparse.Namespace, err: IO[str], what: str, *, country: str | None = None
) -> Iterator[Event]:
    """The stream ``project`` and ``country_states`` fold (in valid-time order; SQLite and JSON Lines logs
    hand it over without holding the whole history), counted on a terminal; with *country*, only that
    country's effective events, read through the store's country index."""
    events = stream_effective(log, as_of=args.as_of, known_at=args.known_at, country=country)
    return _Progress(what, err).track(events)


def _replay(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with _opened(args.log) as log:
        if args.country:  # each country's own records, through the country index
            states: Mapping[str, CountryState] = {
                code: country_state(log, code, as_of=args.as_of, known_at=args.known_at)
                for code in dict.fromkeys(args.country)
            }
        elif (
            args.as_of is None
            and args.known_at is None
            and (stored := latest_country_states(log)) is not None
        ):
            states = stored  # the stored latest state, plus what was appended since
        else:
            states = fold(COUNTRY_STATES, _effective(log, args, err, "replaying"))
    if args.format == "json":
        _json({code: _plain(state) for code, state in states.items()}, out)
    elif args.format == "csv":
        _states_csv(states, out)
    elif not states:
        _say(out, "no events")
    else:
        _print_states(states, out)
    return 0


def _timeline(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with _opened(args.log) as log:
        mine = list(_effective(log, args, err, "reading", country=args.country))
    if args.format == "json":
        _json([event_to_dict(event) for event in mine], out)
    elif args.format == "csv":
        write_events(mine, out)
    elif not mine:
        _say(out, "no events")
    else:
        _say(out, f"{'occurred':<10}  {'event':<24}  key figure")
        for event in mine:
            _say(out, f"{event.occurred!s:<10}  {type(event).__name__:<24}  {_summary(event)}")
    return 0


def _read_file(args: argparse.Namespace, read: Callable[..., T]) -> T:
    """What *read* makes of the event file of *args* (``-``: standard input, JSON Lines by default)."""
    if args.file == "-":
        with _naming("standard input"):
            return read(sys.stdin if args.stdin is None else args.stdin, format=args.format or "jsonl")
    if not Path(args.file).exists():
        raise _Failure(f"no such file: {args.file}")
    with _naming(args.file):
        return read(args.file, format=args.format)


def _append(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    events = _read_file(args, load_events)
    with _opened(args.log) as log:
        result = log.append(_Progress("appending", err).track(events))
    _say(
        out,
        f"{len(result.written)} appended, {len(result.unchanged)} already in the log; head is {result.head}",
    )
    return 0


def _sync(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    rows = _read_file(args, checked_rows)
    # A dry run creates nothing: a log that does not exist yet is planned against as the empty log it
    # would be.
    target = args.log
    if args.dry_run and target != ":memory:" and not _is_url(target) and not Path(target).exists():
        target = ":memory:"
    with _opened(target) as log:
        plan = make_plan(log, rows, retract_missing=args.retract_missing)
        _print_plan(plan, out)
        if args.dry_run:
            _say(out, "dry run: nothing written")
            return 0
        if not plan.changes:
            _say(out, f"nothing to change; head is {plan.head}")
            return 0
        result = log.append(plan.events, expected_position=plan.head)
    count = len(result.written)
    _say(out, f"wrote {count} event{'' if count == 1 else 's'}; head is {result.head}")
    return 0


def _print_plan(plan: SyncPlan, out: IO[str]) -> None:
    width = min(max((len(change.key) for change in plan.changes), default=0), 40)
    for change in plan.changes:
        _say(out, f"{change.action:<8} {change.key:<{width}}  {_plan_line(change)}")
    _say(out, plan.summary)


def _plan_line(change: SyncChange) -> str:
    where = f"line {change.line}: " if change.line is not None else ""
    if change.action == "retract":
        return "no longer in the file"
    if change.action == "add" and change.after is not None:
        after = change.after
        return f"{where}{after.tag} {after.occurred} {', '.join(after.countries)}".rstrip()
    differences = _differences(change.before, change.after)
    if change.action == "restore":
        return f"{where}back in the file" + (f"; {differences}" if differences else "")
    if change.before is not None and not change.before.key and differences.startswith("key "):
        return f"{where}the same event, already in the log without a key, gets this key"
    return f"{where}{differences}"


def _differences(before: Event | None, after: Event | None) -> str:
    """The fields that differ, as ``name old → new``."""
    if before is None or after is None:
        return ""
    old, new = event_to_dict(before), event_to_dict(after)
    names = sorted((set(old) | set(new)) - {"event_id", "version"})
    return "; ".join(
        f"{name} {_cell(old.get(name))} → {_cell(new.get(name))}"
        for name in names
        if old.get(name) != new.get(name)
    )


def _cell(value: Any) -> str:
    """A stored field value, short, for one line of a plan."""
    if value is None or value == "":
        text = "—"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        text = "; ".join(value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 60 else text[:59] + "…"


def _checkpoint(text: str) -> tuple[int, str]:
    position, colon, digest = text.partition(":")
    if (
        not colon
        or not position.isascii()
        or not position.isdigit()
        or int(position) < 1
        or len(digest) != 64
        or digest.strip("0123456789abcdef")
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a checkpoint POSITION:DIGEST (a position >= 1, a colon and 64 lower-case hex "
            "digits), as `policytracker verify` prints it"
        )
    return int(position), digest


def _verify(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with _opened(args.log) as log:
        report = log.verify(expect=args.expect)
        # verify() checks the stored state as stored data; whether reads can use it is the projection's.
        problem = stored_state_problem(log) if report.ok else None
    if not report.ok:
        if report.first_bad_position is None:  # the records are intact; something kept beside them is not
            raise _Failure(f"not ok: {report.reason}")
        raise _Failure(f"damaged at {report.first_bad_position}: {report.reason}")
    if problem is not None and problem[0]:
        raise _Failure(f"not ok: {problem[1]}")
    if report.head == 0:
        _say(out, "ok: 0 records; the log is empty")
    else:
        _say(
            out,
            f"ok: {counted(report.checked, 'record')}, digest chain intact; "
            f"head {report.head}:{report.head_digest}",
        )
    if problem is not None:  # on standard error: standard output stays the one line ending in the head
        _say(err, f"note: {problem[1]}")
    return 0


def _repair(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    shown = _shown(args.log)
    with _opened(args.log) as log:
        if not isinstance(log, Repairable):
            _say(out, f"{shown}: nothing to repair: each append is one transaction, so none is half-written")
            return 0
        repaired = log.repair()
        head = log.head
    if repaired is None:
        _say(out, f"{shown}: nothing to remove: the last append is whole; head is {head}")
    else:
        _say(out, f"{shown}: {repaired}; head is {head}")
    return 0


def _write_report(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if Path(args.output).exists():
        raise _Failure(f"{args.output} already exists; report never overwrites a file")
    if args.since is not None and args.known_at is not None and args.since > args.known_at:
        raise _Failure(
            f"--since {args.since.isoformat()} is after --known-at {args.known_at.isoformat()}: give an "
            "earlier --since"
        )
    require_matplotlib()
    with _opened(args.log) as log:
        page = report(log, countries=args.country, as_of=args.as_of, known_at=args.known_at, since=args.since)
    with _naming(args.output), open(args.output, "x", encoding="utf-8") as target:
        target.write(page)
    _say(out, f"wrote {args.output}")
    return 0


def _copy(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    # Neither log is blamed for what goes wrong in the copy itself: the message says which.
    with _opened(args.source, blame=False) as source, _opened(args.destination, blame=False) as destination:
        count = copy_log(source, destination)
    _say(out, f"copied {counted(count, 'record')} from {_shown(args.source)} to {_shown(args.destination)}")
    return 0


def _export(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if args.format == "parquet":
        if not args.output:
            raise _UsageError("policytracker export: parquet is binary: give --output FILE")
        _require_frames("parquet export")
    if args.output and Path(args.output).exists():
        raise _Failure(f"{args.output} already exists; export never overwrites a file")
    with _opened(args.log) as log:
        if args.format == "parquet":
            count = _export_parquet(log, args.output)
        elif args.format == "csv":
            count = _export_csv(log, args, out, err)
        else:
            events = (record.event for record in _records(log, err, "exporting"))
            with _target(args.output, out) as target:
                count = dump_events(events, target)
    if args.output:
        _say(err, f"exported {counted(count, 'event')} to {args.output}")
    return 0


def _snapshot(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with _opened(args.log) as log:
        info = save_snapshot(log, rebuild=args.rebuild)
    how = (
        "folded from every record"
        if info.refolded is None
        else f"brought up to date; refolded {', '.join(info.refolded) or 'no country'}"
    )
    countries = counted(info.countries, "country", "countries")
    _say(out, f"stored the latest state of {countries} at position {info.position} ({how})")
    return 0


@contextlib.contextmanager
def _target(output: str | None, out: IO[str]) -> Iterator[IO[str]]:
    """*out*, or the new file *output* (never overwritten; removed again if writing it fails)."""
    if not output:
        yield out
        return
    with _naming(output), _new_file(output) as target:
        yield target


@contextlib.contextmanager
def _new_file(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """The file *path*, created for writing (never an existing one), removed again if writing fails."""
    try:
        # Closed by the with below; opened apart from it so that only its creation is checked here.
        stream: IO[Any] = open(path, "xb") if binary else open(path, "x", encoding="utf-8", newline="")  # noqa: SIM115
    except FileExistsError:
        raise _Failure(f"{path} already exists; export never overwrites a file") from None
    try:
        with stream:
            yield stream
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


def _have(count: int) -> str:
    """``1 event has``, ``2 events have``."""
    return f"{counted(count, 'event')} {'has' if count == 1 else 'have'}"


def _export_csv(log: EventLog, args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    events = list(_Progress("exporting", err).track(stream_effective(log)))
    with _target(args.output, out) as target:
        written = write_events(events, target)
    if written.several_sources:
        _say(
            err,
            f"note: {_have(written.several_sources)} more than one source; the CSV keeps the first "
            "of each (export as jsonl to keep them all)",
        )
    if written.protected:
        _say(
            err,
            f"note: {_have(written.protected)} text beginning with =, +, -, @, a tab or a carriage "
            "return, written with a leading ' so that spreadsheets do not run it as a formula",
        )
    if written.not_in_csv:
        _say(err, f"note: {_have(written.not_in_csv)} fields CSV cannot hold, written as JSON")
    return written.count


def _require_frames(what: str) -> None:
    for module in ("pandas", "pyarrow"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise _Failure(f'{what} needs {module}: pip install "policytracker[frames]"') from None


def _export_parquet(log: EventLog, output: str) -> int:
    frame = events_frame(log)
    with _naming(output), _new_file(output, binary=True) as target:
        frame.to_parquet(target, index=False)
    return len(frame)


def _stats(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    by_type: Counter[str] = Counter()
    by_country: Counter[str] = Counter()
    first = last = None
    earliest: FuzzyDate | None = None
    latest: FuzzyDate | None = None
    with _opened(args.log) as log:
        for record in _records(log, err, "reading"):
            event = record.event
            by_type[event.tag] += 1
            by_country.update(event.countries)
            first = first or record.recorded_at
            last = record.recorded_at
            earliest = event.occurred if earliest is None else min(earliest, event.occurred)
            latest = event.occurred if latest is None else max(latest, event.occurred)
        head = log.head
    summary = {
        "records": head,
        "first_recorded_at": None if first is None else encode_value(first),
        "last_recorded_at": None if last is None else encode_value(last),
        "occurred_from": None if earliest is None else str(earliest),
        "occurred_to": None if latest is None else str(latest),
        "by_type": dict(sorted(by_type.items())),
        "by_country": dict(sorted(by_country.items())),
    }
    if args.format == "json":
        _json(summary, out)
        return 0
    if args.format == "csv":
        _stats_csv(summary, out)
        return 0
    _say(out, f"records         {head}")
    if head:
        _say(out, f"recorded        {summary['first_recorded_at']} to {summary['last_recorded_at']}")
        _say(out, f"occurred        {earliest} to {latest}")
        _say(out, "by type")
        for tag, n in sorted(by_type.items()):
            _say(out, f"  {tag:<28} {n}")
        _say(out, "by country")
        for code, n in sorted(by_country.items()):
            _say(out, f"  {code} {country_name(code):<25} {n}")
    return 0


def _stats_csv(summary: Mapping[str, Any], out: IO[str]) -> None:
    """*summary* as CSV in long form: one ``measure,key,value`` row per figure (``key`` names the type or
    country of a count)."""
    rows: list[tuple[str, str, Any]] = []
    for measure, value in summary.items():
        if isinstance(value, Mapping):
            rows.extend((measure, key, count) for key, count in value.items())
        else:
            rows.append((measure, "", value))
    write_rows(["measure", "key", "value"], rows, out)


# -- the parser -----

_EPILOG_MAIN = """LOG is one of:
  history.db, history.sqlite, history.sqlite3   SQLite, the embedded default: one file, no server
  history.jsonl                                 a JSON Lines log, one record per line
  postgresql://USER@HOST[:PORT]/DATABASE        PostgreSQL, shared by a team (also postgres://; needs
                                                pip install "policytracker[postgres]"; libpq URL
                                                parameters apply, e.g. ?sslmode=require)
  :memory:                                      in memory, gone when the command ends
Exit codes: 0 done, 1 bad input or damaged log (one line on stderr), 2 bad command line.
"""


def _version() -> str:
    try:
        return importlib.metadata.version("policytracker")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown: not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policytracker",
        description="Record and replay national digital-asset policy as an event-sourced log.",
        epilog=_EPILOG_MAIN,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"policytracker {_version()}")
    parser.add_argument("--traceback", action="store_true", help=_TRACEBACK_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, epilog: str, run: Callable[..., int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(run=run)
        sub.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=_TRACEBACK_HELP)
        return sub

    def times(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--as-of", type=_as_of, metavar="DATE", help="valid time: YYYY, YYYY-MM or YYYY-MM-DD"
        )
        sub.add_argument(
            "--known-at",
            type=_known_at,
            metavar="TIME",
            help="record time: ISO 8601 with a zone, e.g. 2025-07-18T00:00Z",
        )
        sub.add_argument(
            "--format",
            choices=("table", "json", "csv"),
            default="table",
            help="table for people, json for pipes, csv for spreadsheets",
        )

    replay = command("replay", "Replay a log into the state of each country.", _EPILOG_REPLAY, _replay)
    replay.add_argument("log", type=_existing, metavar="LOG")
    replay.add_argument(
        "--country", type=_country, action="append", metavar="CC", help="only this country (repeatable)"
    )
    times(replay)

    timeline = command(
        "timeline", "List a country's effective events in valid-time order.", _EPILOG_TIMELINE, _timeline
    )
    timeline.add_argument("log", type=_existing, metavar="LOG")
    timeline.add_argument("country", type=_country, metavar="CC")
    times(timeline)

    append = command(
        "append", "Append the events of a JSON Lines or CSV event file.", _EPILOG_APPEND, _append
    )
    append.add_argument("log", metavar="LOG")
    append.add_argument(
        "file", metavar="FILE", help="an event file (.jsonl or .csv), or - for standard input"
    )
    append.add_argument(
        "--format", choices=("jsonl", "csv"), help="the file's format (default: from its name)"
    )
    append.set_defaults(stdin=None)

    verify = command("verify", "Check a log's digest chain.", _EPILOG_VERIFY, _verify)
    verify.add_argument("log", type=_existing, metavar="LOG")
    verify.add_argument(
        "--expect",
        type=_checkpoint,
        metavar="POSITION:DIGEST",
        help="a checkpoint printed by an earlier verify: fail unless the log still holds it",
    )

    repair = command(
        "repair", "Remove what a crash left half-written at the end of a log.", _EPILOG_REPAIR, _repair
    )
    repair.add_argument("log", type=_existing, metavar="LOG")

    report_ = command(
        "report",
        "Write one self-contained HTML report of a log, with figures.",
        _EPILOG_REPORT,
        _write_report,
    )
    report_.add_argument("log", type=_existing, metavar="LOG")
    report_.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="the HTML file (must not exist)"
    )
    report_.add_argument(
        "--country", type=_country, action="append", metavar="CC", help="only this country (repeatable)"
    )
    report_.add_argument(
        "--as-of", type=_as_of, metavar="DATE", help="valid time: YYYY, YYYY-MM or YYYY-MM-DD"
    )
    report_.add_argument(
        "--known-at", type=_known_at, metavar="TIME", help="record time: ISO 8601 with a zone"
    )
    report_.add_argument(
        "--since",
        type=_known_at,
        metavar="TIME",
        help="also show what was recorded after TIME, and what it changed",
    )

    copy = command("copy", "Copy every record of a log into a new, empty log.", _EPILOG_COPY, _copy)
    copy.add_argument("source", type=_existing, metavar="SRC")
    copy.add_argument("destination", metavar="DST")

    export = command("export", "Write a log's events as an event file or a table.", _EPILOG_EXPORT, _export)
    export.add_argument("log", type=_existing, metavar="LOG")
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write here (must not exist) instead of stdout"
    )
    export.add_argument(
        "--format",
        choices=("jsonl", "csv", "parquet"),
        default="jsonl",
        help="jsonl: every record's event, lossless (default); csv: the effective events, for "
        "spreadsheets; parquet: events_frame() (needs the frames extra and --output)",
    )

    snapshot = command(
        "snapshot",
        "Store the latest state of every country in the log, for fast replays.",
        _EPILOG_SNAPSHOT,
        _snapshot,
    )
    snapshot.add_argument("log", type=_existing, metavar="LOG")
    snapshot.add_argument(
        "--rebuild", action="store_true", help="fold the state from every record, ignoring the stored one"
    )
    sync = command(
        "sync", "Make a log say what a curated event file says, row by row, by key.", _EPILOG_SYNC, _sync
    )
    sync.add_argument("log", metavar="LOG", help="the log (created if it does not exist)")
    sync.add_argument(
        "file",
        metavar="FILE",
        help="an event file (.jsonl or .csv) whose rows have keys, or - for standard input",
    )
    sync.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    sync.add_argument(
        "--retract-missing",
        action="store_true",
        help="retract the events whose keys are no longer in the file (the file is the whole keyed record)",
    )
    sync.add_argument("--format", choices=("jsonl", "csv"), help="the file's format (default: from its name)")
    sync.set_defaults(stdin=None)

    stats = command("stats", "Summarise a log: records, dates, types, countries.", _EPILOG_STATS, _stats)
    stats.add_argument("log", type=_existing, metavar="LOG")
    stats.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table for people, json for pipes, csv for spreadsheets",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """Run the command line with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except _UsageError as exc:
        _report(err, argv, str(exc))
        return 2
    except Exception as exc:  # the promise: one line, never a traceback unless asked
        return _internal_error(err, argv, "policytracker", exc)
    where = f"policytracker {args.command}"
    try:
        return int(args.run(args, out, err))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error. Point stdout at devnull so that Python's
        # final flush does not complain either.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        err.write("policytracker: interrupted\n")
        return 130
    except _UsageError as exc:  # a combination of options parsing cannot catch
        _report(err, argv, str(exc))
        return 2
    except Exception as exc:  # the promise: one line, never a traceback unless asked
        if not isinstance(exc, _Failure) and not _expected(exc):
            return _internal_error(err, argv, where, exc)
        failure = _failure(exc)
        _report(err, argv, f"{where}: {failure}", failure.details, exc)
        return 1


def _internal_error(err: IO[str], argv: Sequence[str], where: str, exc: BaseException) -> int:
    _report(
        err,
        argv,
        f"{where}: internal error: {type(exc).__name__}: {exc} (a bug in policytracker; run again with "
        f"--traceback, or with {_TRACEBACK_VARIABLE}=1, to see where it happened)",
        exc=exc,
    )
    return 1


def _report(
    err: IO[str],
    argv: Sequence[str],
    line: str,
    details: Sequence[str] = (),
    exc: BaseException | None = None,
) -> None:
    """Write *line* (then *details*, one a line) to *err*, with control characters escaped and the password
    of every URL in *argv* hidden; first the traceback of *exc* if the user asked for tracebacks."""
    if exc is not None and (
        "--traceback" in argv or os.environ.get(_TRACEBACK_VARIABLE, "") not in ("", "0")
    ):
        for text in traceback.format_exception(exc):
            for part in text.rstrip("\n").split("\n"):
                _say(err, _hidden(part, argv))
    for text in (line.strip(), *details):
        _say(err, _hidden(text, argv))


def _hidden(text: str, argv: Sequence[str]) -> str:
    for arg in argv:
        if _is_url(arg):
            text = hide_secrets(text, arg)
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
