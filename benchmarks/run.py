"""policytracker benchmarks: append, replay, queries and live catch-up, per store, beside the eventsourcing
library on the same data in the same run.

    python benchmarks/run.py                 # the full table (N = 20,000, 100,000 and 1,000,000)
    python benchmarks/run.py --smoke         # a quick run at N = 2,000 that only proves it all works
    python benchmarks/run.py --sizes 20000 --stores sqlite jsonl

Needs ``pip install -e '.[dev]' 'eventsourcing==9.5.*'`` (eventsourcing only for the comparison). The
PostgreSQL store is included when POLICYTRACKER_TEST_POSTGRES (or --postgres URL) names a server. Every
timed step runs in a fresh process; replay and queries report the best of three fresh processes, so no
in-process cache counts. Peak RSS is the worker process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- workers (run in fresh processes) -----


def _clock_for(step: dt.timedelta = dt.timedelta(minutes=1)) -> Any:
    moment = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]

    def clock() -> dt.datetime:
        moment[0] += step
        return moment[0]

    return clock


def worker(task: str, store: str, target: str, n: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import workload

    import policytracker as pt

    result: dict[str, Any] = {}
    if task == "append":
        raws = list(workload.raw_events(n))
        started = time.perf_counter()
        with pt.open_log(target, clock=_clock_for()) as log:
            for start in range(0, n, workload.BATCH):
                log.append(
                    [workload.policytracker_event(raw) for raw in raws[start : start + workload.BATCH]]
                )
        result["seconds"] = time.perf_counter() - started
    elif task in ("replay", "as_of", "known_at"):
        with pt.open_log(target) as log:
            started = time.perf_counter()
            if task == "replay":
                states = pt.country_states(log)
            elif task == "as_of":
                states = pt.country_states(log, as_of="2020-01-01")
            else:
                middle = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                    minutes=n // workload.BATCH // 2
                )
                states = pt.country_states(log, known_at=middle)
            result["seconds"] = time.perf_counter() - started
            result["countries"] = len(states)
    elif task == "catch_up":
        with pt.open_log(target, clock=_clock_for(dt.timedelta(days=1))) as log:
            projector = pt.Projector(log)
            projector.catch_up()
            new = [
                workload.policytracker_event(raw)
                for raw in workload.raw_events(workload.BATCH, seed=2, day_offset=3650)
            ]
            log.append(new)
            started = time.perf_counter()
            projector.catch_up()
            result["seconds"] = time.perf_counter() - started
            result["correct"] = projector.state == pt.country_states(log)
    elif task == "floor_append":
        result["seconds"] = _floor_append(target, n, workload.BATCH)
    elif task in ("floor_replay", "floor_build"):
        result["seconds"] = _floor_replay(target, build=task == "floor_build")
    elif task in ("es_app_append", "es_app_replay", "es_append", "es_replay"):
        import es_side

        raws = list(workload.raw_events(n))
        started = time.perf_counter()
        {
            "es_app_append": lambda: es_side.app_append(target, raws),
            "es_app_replay": lambda: es_side.app_replay(target),
            "es_append": lambda: es_side.append(target, raws),
            "es_replay": lambda: es_side.replay(target),
        }[task]()
        result["seconds"] = time.perf_counter() - started
    result["rss_mb"] = _rss_mb()
    return result


def _floor_append(target: str, n: int, batch: int) -> float:
    """Seconds to store the finished rows of the log *target* again, in batches: each batch takes the
    write lock, reads the tail, looks its ids up (the idempotency check), writes and commits, as an append
    does. Nothing is constructed, validated, encoded or hashed: this is what storage alone costs."""
    from policytracker._log._base import records_to_copy
    from policytracker._log.sqlite import SQLiteLog

    with SQLiteLog(target) as source:
        rows = list(records_to_copy(source._raw_rows()))
    folder = tempfile.mkdtemp(prefix="policytracker-floor-")
    try:
        with SQLiteLog(Path(folder) / "floor.db") as log:
            started = time.perf_counter()
            for start in range(0, n, batch):
                chunk = rows[start : start + batch]
                with log._mutex, log._transaction():
                    log._tail()
                    log._lookup({row.entry.event_id: row.event_id for row in chunk})
                    log._write(chunk)
            return time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _floor_replay(target: str, build: bool) -> float:
    """Seconds to fetch every event of the log *target* in valid-time order and parse its JSON: what a
    replay costs before any event is built or folded. With *build*, each event object is also made, as
    cheaply as Python allows and no cheaper than a decoder could: one unrolled function per class creates
    the instance and sets each slot to the raw JSON value and the id, converting and checking nothing."""
    from policytracker._canonical import loads
    from policytracker._log.sqlite import SQLiteLog

    builders: dict[str, Any] = {}
    with SQLiteLog(target) as log:
        where, params = "type NOT IN (?, ?)", ["event.retracted", "event.corrected"]
        started = time.perf_counter()
        key: tuple[Any, ...] | None = None
        while True:
            page, key = log._valid_time_page(key, where, params)
            for row in page:
                obj = loads(row[1])
                if build:
                    tag = obj["type"]
                    builder = builders.get(tag) or builders.setdefault(tag, _bare_builder(tag))
                    builder(obj)
            if key is None:
                return time.perf_counter() - started


def _bare_builder(tag: str) -> Any:
    """An unrolled function making an instance of the event class of *tag* from its JSON object without
    converting or checking anything (so the instance is not a valid event: only the cost counts)."""
    import attrs

    from policytracker._canonical import read_uuid
    from policytracker._codec import FROM_STORAGE
    from policytracker._events import event_class

    cls = event_class(tag)

    def slot(name: str) -> Any:  # the member descriptor holding *name*, set past any wrapper
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        found = vars(owner)[name]
        return getattr(found, "slot", found).__set__

    names: dict[str, Any] = {
        "_new": object.__new__,
        "_cls": cls,
        "_uuid": read_uuid,
        "_stored": FROM_STORAGE,
        "_set_id": slot("event_id"),
        "_set_given": slot("_given_event_id"),
    }
    lines = ["def build(obj):", "    get = obj.get", "    self = _new(_cls)"]
    for index, field in enumerate(f for f in attrs.fields(cls) if f.init and f.name != "_given_event_id"):
        names[f"s{index}"] = slot(field.name)
        lines.append(f"    s{index}(self, get({field.alias!r}))")
    lines += ["    _set_id(self, _uuid(obj['event_id']))", "    _set_given(self, _stored)", "    return self"]
    exec("\n".join(lines), names)
    return names["build"]


# -- the parent -----


def _run(task: str, store: str, target: str, n: int, repeat: int = 1) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--worker", task, store, target, str(n)],
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode != 0:
            raise SystemExit(f"{task} on {store} (N={n}) failed:\n{output.stderr[-3000:]}")
        result = json.loads(output.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def _best_append(task: str, store: str, targets: list[str], n: int) -> float:
    """The best seconds of appending the workload into each of *targets* (fresh, empty logs), one fresh
    process each: appends are timed best of N like the rest, and the last target is kept for the reads."""
    return min(_run(task, store, target, n)["seconds"] for target in targets)


def _target(store: str, folder: Path, n: int, postgres: str | None, number: int = 0) -> str:
    if store == "sqlite":
        return str(folder / f"bench-{n}-{number}.db")
    if store == "jsonl":
        return str(folder / f"bench-{n}-{number}.jsonl")
    assert postgres is not None
    import psycopg

    schema = f"bench_{n}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres else "?"
    target = f"{postgres}{separator}options={urllib.parse.quote(f'-csearch_path={schema}')}"
    _SCHEMAS[target] = schema
    return target


_SCHEMAS: dict[str, str] = {}


def _drop(target: str, postgres: str | None) -> None:
    schema = _SCHEMAS.pop(target, None)
    if postgres and schema:
        import psycopg

        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    parser.add_argument("--compare-sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "jsonl", "postgres"])
    parser.add_argument("--postgres", default=os.environ.get("POLICYTRACKER_TEST_POSTGRES"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--smoke", action="store_true", help="N = 2,000, one repeat: proves the benchmark works"
    )
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also time what SQLite storage alone costs at the comparison sizes (see benchmarks/README.md)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--worker", nargs=4, metavar=("TASK", "STORE", "TARGET", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        task, store, target, n = args.worker
        print(json.dumps(worker(task, store, target, int(n))))
        return 0
    if args.smoke:
        args.sizes, args.compare_sizes, args.repeat = [2_000], [2_000], 1
    if args.json and not Path(args.json).parent.is_dir():
        parser.error(
            f"--json: there is no folder {str(Path(args.json).parent)!r} to write {args.json!r} into"
        )
    stores = [s for s in args.stores if s != "postgres" or args.postgres]
    if len(stores) < len(args.stores):
        print(
            "no PostgreSQL server named (--postgres or POLICYTRACKER_TEST_POSTGRES): skipped", file=sys.stderr
        )
    if not stores:
        parser.error("no store left to measure")
    try:
        import eventsourcing  # noqa: F401

        compare = True
    except ImportError:
        compare = False
        print("eventsourcing is not installed: the comparison columns are left out", file=sys.stderr)

    rows: list[dict[str, Any]] = []
    folder = Path(tempfile.mkdtemp(prefix="policytracker-bench-"))
    try:
        for n in args.sizes:
            es: dict[str, float] = {}
            if compare and n in args.compare_sizes:
                for kind in ("es_app", "es"):
                    paths = [str(folder / f"{kind}-{n}-{number}.db") for number in range(args.repeat)]
                    es[f"{kind}_append"] = n / _best_append(f"{kind}_append", "es", paths, n)
                    es[f"{kind}_replay"] = (
                        n / _run(f"{kind}_replay", "es", paths[-1], n, args.repeat)["seconds"]
                    )
            for store in stores:
                targets = [_target(store, folder, n, args.postgres, number) for number in range(args.repeat)]
                target = targets[-1]
                try:
                    append = {"seconds": _best_append("append", store, targets, n)}
                    replay = _run("replay", store, target, n, args.repeat)
                    as_of = _run("as_of", store, target, n, args.repeat)
                    known_at = _run("known_at", store, target, n, args.repeat)
                    catch_up = _run("catch_up", store, target, n)
                    floors = {}
                    if args.floors and store == "sqlite" and es:
                        floors["floor_append"] = n / _run("floor_append", store, target, n)["seconds"]
                        for kind in ("floor_replay", "floor_build"):
                            floors[kind] = n / _run(kind, store, target, n, args.repeat)["seconds"]
                finally:
                    for each in targets:
                        _drop(each, args.postgres)
                row = {
                    "store": store,
                    "n": n,
                    "append_per_s": n / append["seconds"],
                    "replay_per_s": n / replay["seconds"],
                    "replay_s": replay["seconds"],
                    "as_of_s": as_of["seconds"],
                    "known_at_s": known_at["seconds"],
                    "catch_up_1000_s": catch_up["seconds"],
                    "catch_up_correct": catch_up["correct"],
                    "replay_peak_rss_mb": replay["rss_mb"],
                    **es,
                    **floors,
                }
                rows.append(row)
                _print_row(row)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    machine = f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{machine}, {dt.date.today()}")
    sys.path.insert(0, str(HERE))
    import workload

    reference = workload.machine_reference()
    print(
        f"machine reference: {reference * 1000:.0f} ms "
        "(workload.machine_reference: how fast this machine runs now)"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps([{**row, "machine_reference_s": reference} for row in rows], indent=2)
        )
    return 0 if all(row["catch_up_correct"] for row in rows) else 1


_HEADER_SHOWN = False


def _print_row(row: dict[str, Any]) -> None:
    global _HEADER_SHOWN
    if not _HEADER_SHOWN:
        print(
            f"{'store':<9}{'N':>10}{'append':>12}{'replay':>12}{'replay s':>10}{'as_of s':>9}"
            f"{'known_at s':>11}{'catch-up s':>11}{'peak RSS':>10}"
            "  vs eventsourcing app / recorder (append, replay)"
        )
        _HEADER_SHOWN = True
    ratios = ""
    if "es_app_append" in row:
        app = (row["append_per_s"] / row["es_app_append"], row["replay_per_s"] / row["es_app_replay"])
        raw = (row["append_per_s"] / row["es_append"], row["replay_per_s"] / row["es_replay"])
        ratios = (
            f"  app {app[0]:.1f}x, {app[1]:.1f}x"
            f" ({row['es_app_append']:,.0f}/s, {row['es_app_replay']:,.0f}/s);"
            f" recorder {raw[0]:.1f}x, {raw[1]:.1f}x ({row['es_append']:,.0f}/s, {row['es_replay']:,.0f}/s)"
        )
    if "floor_append" in row:
        parts = []
        floors = (
            ("write", "floor_append", "append"),
            ("fetch + parse", "floor_replay", "replay"),
            ("+ bare build", "floor_build", "replay"),
        )
        for label, key, kind in floors:
            rate = row[key]
            app, raw = rate / row[f"es_app_{kind}"], rate / row[f"es_{kind}"]
            parts.append(f"{label} {rate:,.0f}/s (app {app:.1f}x, recorder {raw:.1f}x)")
        ratios += "\n" + " " * 19 + "floors: " + "; ".join(parts)
    print(
        f"{row['store']:<9}{row['n']:>10,}{row['append_per_s']:>10,.0f}/s{row['replay_per_s']:>10,.0f}/s"
        f"{row['replay_s']:>10.2f}{row['as_of_s']:>9.2f}{row['known_at_s']:>11.2f}{row['catch_up_1000_s']:>11.3f}"
        f"{row['replay_peak_rss_mb']:>8.0f}MB{ratios}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
