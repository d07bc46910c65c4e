"""The ``policytracker`` command line: parsing and printing only; the work is done by the library.

Every command exits 0 on success, 1 with one line on standard error when the input is bad (a missing
file, a malformed date, an unknown country, a damaged log) and 2 on a usage error. Nothing is written when
an input is refused.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

import attrs

from policytracker._codec import encode_value
from policytracker._countries import country_name, normalize_country
from policytracker._dates import FuzzyDate
from policytracker._eventfiles import dump_events, load_events
from policytracker._events import Event, ReserveAnnounced, VisitPlanned
from policytracker._log import Recorded, copy_log, open_log
from policytracker._projections import COUNTRY_STATES, CountryState, fold
from policytracker._projections._history import check_as_of, check_known_at, stream_effective
from policytracker._serialization import event_to_dict
from policytracker.exceptions import PolicyTrackerError

__all__ = ["main"]

T = TypeVar("T")

_EPILOG_REPLAY = """examples:
  policytracker replay history.db
  policytracker replay history.db --country PK --country SV --as-of 2025-07
  policytracker replay history.db --known-at 2025-07-18T00:00:00Z --format json | jq .SV.holdings
"""
_EPILOG_TIMELINE = """examples:
  policytracker timeline history.db SV
  policytracker timeline history.db PK --as-of 2025-06-30 --format json
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
  policytracker verify history.jsonl && echo intact
"""
_EPILOG_COPY = """examples:
  policytracker copy history.jsonl history.db
  policytracker copy history.db backup.jsonl
"""
_EPILOG_EXPORT = """examples:
  policytracker export history.db > events.jsonl
  policytracker export history.db --output events.jsonl
"""
_EPILOG_STATS = """examples:
  policytracker stats history.db
  policytracker stats history.db --format json
"""


class _Failure(Exception):
    """A bad input, reported as one line and exit code 1."""


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
    except PolicyTrackerError as exc:
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
    return check_known_at(moment)


def _country(text: str) -> str:
    try:
        return normalize_country(text)
    except PolicyTrackerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _existing(text: str) -> str:
    if (
        text != ":memory:"
        and not text.startswith(("postgresql://", "postgres://"))
        and not Path(text).exists()
    ):
        raise argparse.ArgumentTypeError(f"no such log: {text}")
    return text


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


def _json(obj: Any, out: IO[str]) -> None:
    json.dump(obj, out, indent=2, sort_keys=True, ensure_ascii=False)
    out.write("\n")


def _number(value: Decimal | int) -> str:
    text = f"{value:,f}" if isinstance(value, Decimal) else f"{value:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _state_rows(state: CountryState) -> list[tuple[str, str]]:
    def listing(items: Iterable[str]) -> str:
        text = "; ".join(items)
        return text or "—"

    return [
        (
            "legal tender",
            listing(
                f"{asset}: {status.value.replace('_', ' ')}" for asset, status in state.legal_tender.items()
            ),
        ),
        ("holdings", listing(f"{_number(amount)} {asset}" for asset, amount in state.holdings.items())),
        ("reserve", listing(f"{asset}: {stage.value}" for asset, stage in state.reserve.items())),
        (
            "regulators",
            listing(
                f"{r.name}{f' ({r.acronym})' if r.acronym else ''}, {r.occurred}" for r in state.regulators
            ),
        ),
        ("partners", listing(f"{country_name(code)} ({code})" for code in sorted(state.partners))),
        (
            "IMF programmes",
            listing(
                ", ".join(
                    part
                    for part in (
                        f"USD {_number(p.amount_usd)}" if p.amount_usd is not None else "size not reported",
                        p.facility,
                        f"{p.occurred}" + (f" to {p.ends}" if p.ends else ""),
                    )
                    if part
                )
                for p in state.imf_programs
            ),
        ),
        ("IMF refusals", listing(f"{r.proposal} ({r.occurred})" for r in state.imf_refusals)),
        ("IMF concerns", listing(f"{c.topic} ({c.occurred})" for c in state.imf_concerns)),
        ("mining", f"{_number(state.mining_megawatts)} MW" if state.mining_megawatts else "—"),
        ("crypto holders", _number(state.crypto_holders) if state.crypto_holders is not None else "—"),
        (
            "bans",
            listing(f"{scope}: {'banned' if banned else 'allowed'}" for scope, banned in state.bans.items()),
        ),
        ("officials", listing(f"{role}: {person}" for role, person in state.officials.items())),
        (
            "planned visits",
            listing(f"{v.official}, {v.country} to {v.host} ({v.occurred})" for v in state.planned_visits),
        ),
        ("companies", listing(sorted(state.headquartered_companies))),
        ("conflicts", listing(c.message for c in state.conflicts)),
    ]


def _print_states(states: Mapping[str, CountryState], out: IO[str]) -> None:
    for index, (code, state) in enumerate(states.items()):
        if index:
            out.write("\n")
        last = f", last {state.last_occurred}" if state.last_occurred else ""
        out.write(f"{country_name(code)} ({code}): {state.event_count} events{last}\n")
        for label, text in _state_rows(state):
            out.write(f"  {label:<15} {text}\n")


def _summary(event: Event) -> str:
    for name in ("text", "proposal", "topic", "name", "company", "person", "amount", "megawatts", "holders"):
        value = getattr(event, name, None)
        if value is not None:
            shown = _number(value) if isinstance(value, Decimal | int) else str(value)
            asset = getattr(event, "asset", "")
            return f"{shown} {asset}".strip() if isinstance(value, Decimal) and name == "amount" else shown
    if isinstance(event, ReserveAnnounced):
        return f"{event.asset} reserve {event.stage.value}"
    if isinstance(event, VisitPlanned):
        return f"{event.official} to {country_name(event.host)}"
    return ", ".join(country_name(code) for code in event.countries)


# -- commands -----


def _records(log: Any, err: IO[str], what: str) -> Iterator[Recorded]:
    return _Progress(what, err).track(log.read())


def _effective(log: Any, args: argparse.Namespace, err: IO[str], what: str) -> Iterator[Event]:
    """The stream ``project`` and ``country_states`` fold (in valid-time order; SQLite and JSON Lines logs
    hand it over without holding the whole history), counted on a terminal."""
    events = stream_effective(log, as_of=args.as_of, known_at=args.known_at)
    return _Progress(what, err).track(events)


def _replay(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with open_log(args.log) as log:
        states = fold(COUNTRY_STATES, _effective(log, args, err, "replaying"))
    if args.country:
        states = {
            code: states.get(code) or CountryState(country=code) for code in dict.fromkeys(args.country)
        }
    if args.format == "json":
        _json({code: _plain(state) for code, state in states.items()}, out)
    elif not states:
        out.write("no events\n")
    else:
        _print_states(states, out)
    return 0


def _timeline(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with open_log(args.log) as log:
        mine = [event for event in _effective(log, args, err, "reading") if args.country in event.countries]
    if args.format == "json":
        _json([event_to_dict(event) for event in mine], out)
        return 0
    for event in mine:
        out.write(f"{event.occurred!s:<10}  {type(event).__name__:<24}  {_summary(event)}\n")
    return 0


def _append(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if args.file == "-":
        events = load_events(sys.stdin if args.stdin is None else args.stdin, format=args.format or "jsonl")
    else:
        if not Path(args.file).exists():
            raise _Failure(f"no such file: {args.file}")
        events = load_events(args.file, format=args.format)
    with open_log(args.log) as log:
        result = log.append(_Progress("appending", err).track(events))
    out.write(
        f"{len(result.written)} appended, {len(result.unchanged)} already in the log; head is {result.head}\n"
    )
    return 0


def _verify(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with open_log(args.log) as log:
        report = log.verify()
    if report.ok:
        out.write(f"ok: {report.checked} records, digest chain intact\n")
        return 0
    raise _Failure(f"damaged at {report.first_bad_position}: {report.reason}")


def _copy(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    count = copy_log(args.source, args.destination)
    out.write(f"copied {count} records from {args.source} to {args.destination}\n")
    return 0


def _export(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    with open_log(args.log) as log:
        events = (record.event for record in _records(log, err, "exporting"))
        if args.output:
            with open(args.output, "x", encoding="utf-8") as target:
                count = dump_events(events, target)
            err.write(f"exported {count} events to {args.output}\n")
        else:
            dump_events(events, out)
    return 0


def _stats(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    by_type: Counter[str] = Counter()
    by_country: Counter[str] = Counter()
    first = last = None
    earliest: FuzzyDate | None = None
    latest: FuzzyDate | None = None
    with open_log(args.log) as log:
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
    out.write(f"records         {head}\n")
    if head:
        out.write(f"recorded        {summary['first_recorded_at']} to {summary['last_recorded_at']}\n")
        out.write(f"occurred        {earliest} to {latest}\n")
        out.write("by type\n" + "".join(f"  {tag:<28} {n}\n" for tag, n in sorted(by_type.items())))
        out.write(
            "by country\n"
            + "".join(f"  {code} {country_name(code):<25} {n}\n" for code, n in sorted(by_country.items()))
        )
    return 0


# -- the parser -----


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="policytracker",
        description="Record and replay national digital-asset policy as an event-sourced log.",
        epilog="LOG is a .db or .sqlite file (SQLite, the default), a .jsonl file, or :memory:.",
    )
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
            "--format", choices=("table", "json"), default="table", help="table for people, json for pipes"
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

    copy = command("copy", "Copy every record of a log into a new, empty log.", _EPILOG_COPY, _copy)
    copy.add_argument("source", type=_existing, metavar="SRC")
    copy.add_argument("destination", metavar="DST")

    export = command("export", "Write a log's events as a JSON Lines event file.", _EPILOG_EXPORT, _export)
    export.add_argument("log", type=_existing, metavar="LOG")
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write here (must not exist) instead of stdout"
    )

    stats = command("stats", "Summarise a log: records, dates, types, countries.", _EPILOG_STATS, _stats)
    stats.add_argument("log", type=_existing, metavar="LOG")
    stats.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """Run the command line with *argv* (default: ``sys.argv[1:]``) and return the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except _UsageError as exc:
        err.write(f"{exc}\n")
        return 2
    try:
        return int(args.run(args, out, err))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error. Point stdout at devnull so that Python's
        # final flush does not complain either.
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (_Failure, PolicyTrackerError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) if not isinstance(exc, PolicyTrackerError) else str(exc).strip()
        err.write(f"policytracker {args.command}: {message}\n")
        return 1
    except KeyboardInterrupt:
        err.write("policytracker: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
