"""policytracker query benchmark: what a user waits for, each query in a fresh process, on the benchmark log.

    python benchmarks/queries.py                            # N = 100,000 and 1,000,000, SQLite and PostgreSQL
    python benchmarks/queries.py --sizes 100000 --stores sqlite
    python benchmarks/queries.py --smoke                    # N = 2,000, one repeat: proves it works (CI)

For each store and size the log of ``workload.py`` is built once, as ``run.py`` builds it, and kept in a
cache (``--cache``, default a folder in the system's temporary directory; PostgreSQL: the schema
``bench_queries_<N>``), so later runs measure the same log without building it again (``--rebuild`` builds
it anew). Each query then runs in a fresh Python process, ``--repeat`` times (default 3), and the best is
reported: the wall time of the query alone, measured inside that process after its imports and after the
log is opened, and the process's peak RSS after the query. The command-line row is timed from outside, as
a whole process. The PostgreSQL store is included when POLICYTRACKER_TEST_POSTGRES (or --postgres URL)
names a server. See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import importlib.metadata
import inspect
import json
import os
import pickle
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark log is built exactly as run.py builds it)
import workload  # noqa: E402

STORES = ("sqlite", "postgres")
AS_OF = "2019-12-31"
# The 24 month-ends up to AS_OF: the dates of the "state over time" rows.
MONTH_ENDS = [
    dt.date(year, month, calendar.monthrange(year, month)[1]).isoformat()
    for year in (2018, 2019)
    for month in range(1, 13)
]
NEW_EVENTS = workload.BATCH  # appended on top of a stored latest state
_SCALE = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere


@dataclass(frozen=True)
class Query:
    key: str
    label: str  # Markdown; {c} is the country
    statement: str  # a Python expression over `pt`, `log`, `country` and `month_ends`
    rate: str | None = None  # "log": N events per second; "country": the country's events per second
    keep: bool = False  # keep the result (pickled) for the checks


QUERIES = (
    Query("states", "`country_states(log)`", "pt.country_states(log)", rate="log", keep=True),
    Query(
        "state", '`country_state(log, "{c}")`', "pt.country_state(log, country)", rate="country", keep=True
    ),
    Query(
        "state_as_of",
        f'`country_state(log, "{{c}}", as_of="{AS_OF}")`',
        f'pt.country_state(log, country, as_of="{AS_OF}")',
        keep=True,
    ),
    Query("timeline", '`timeline(log, "{c}")`', "pt.timeline(log, country)", rate="country"),
    Query("holdings", '`holdings_history(log, "{c}")`', "pt.holdings_history(log, country)", rate="country"),
    Query(
        "as_of_24",
        '24 month-ends: 24 x `country_state(log, "{c}", as_of=d)`',
        "{d: pt.country_state(log, country, as_of=d) for d in month_ends}",
        keep=True,
    ),
    Query(
        "series_24",
        '24 month-ends: `state_series(log, "{c}", month_ends)`',
        "pt.state_series(log, country, month_ends)",
        keep=True,
    ),
)
CLI_LABEL = "`policytracker replay LOG --country {c}` (whole process)"
STARTUP_LABEL = "start-up alone: `policytracker --help` (whole process)"
STORED_LABEL = f"`country_states(log)`, stored latest state + {NEW_EVENTS:,} new events"
NO_STORED_STATE = "n/a (no stored state)"

# The program each measured process runs: imports and opening the log are not timed; the peak is read
# right after the query, before anything else is kept. On Linux it is the process's own high-water mark
# (VmHWM): ru_maxrss also keeps the parent's resident size at the fork, which a large parent inflates.
_CHILD = """\
import datetime, json, resource, sys, time
import policytracker as pt

def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / {scale}

target, country, keep = sys.argv[1:4]
month_ends = [datetime.date.fromisoformat(d) for d in {month_ends!r}]
with pt.open_log(target) as log:
    before = peak_mb()
    started = time.perf_counter()
    result = {statement}
    seconds = time.perf_counter() - started
    peak = peak_mb()
if keep:
    import pickle
    with open(keep, "wb") as file:
        pickle.dump(result, file)
size = len(result) if hasattr(result, "__len__") else None
print(json.dumps({{"seconds": seconds, "rss_mb": peak, "before_mb": before, "size": size}}))
"""


# -- the stored latest state (the row waits for the library call) -----


def stored_state_supported() -> bool:
    """Whether this policytracker can keep its latest state in the store (``policytracker snapshot LOG``)."""
    import policytracker as pt

    return hasattr(pt, "save_snapshot")


def store_latest_state(log: Any) -> None:
    """Store the built-in projection's latest state in *log* itself (``pt.save_snapshot``)."""
    import policytracker as pt

    pt.save_snapshot(log)


def prepare_stored(target: str, reference: str) -> dict[str, Any]:
    """On the copy *target*: store the latest state (when the library can), then append NEW_EVENTS new
    events on top of it, and pickle to *reference* the answer a full fold gives (which no stored state can
    short-cut), for the row's check. Runs in its own process."""
    import policytracker as pt

    moment: list[Any] = []

    def clock() -> dt.datetime:  # a day after the log's last stamp, then a day per append
        moment[0] += dt.timedelta(days=1)
        return moment[0]

    with pt.open_log(target, clock=clock) as log:
        moment.append(next(iter(log.read(after=log.head - 1))).recorded_at)
        stored = stored_state_supported()
        if stored:
            store_latest_state(log)
        log.append(
            [
                workload.policytracker_event(raw)
                for raw in workload.raw_events(NEW_EVENTS, seed=2, day_offset=3650)
            ]
        )
        expected = pt.fold(pt.COUNTRY_STATES, pt.effective_events(log.read()))
        head = log.head
    Path(reference).write_bytes(pickle.dumps(expected))
    return {"stored": stored, "head": head}


# -- building, caching and copying logs -----


def _fingerprint() -> str:
    """What the benchmark log is made of: a cached log built from other code is built again."""
    text = (HERE / "workload.py").read_text() + inspect.getsource(run._clock_for)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pg_url(server: str, schema: str) -> str:
    separator = "&" if "?" in server else "?"
    return f"{server}{separator}options={urllib.parse.quote(f'-csearch_path={schema}')}"


def _pg_schema_exists(server: str, schema: str) -> bool:
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return found is not None


def _pg_recreate(server: str, schema: str, *, drop_only: bool = False) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        if not drop_only:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def _pg_settle(server: str, schema: str) -> None:
    """Vacuum and analyse the tables of *schema*, as autovacuum does on a default server after a bulk
    load (a server run with autovacuum off never does): its visibility map lets PostgreSQL count the
    records from an index alone, and its statistics plan the queries."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as admin:
        tables = admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
        for (table,) in tables:
            admin.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(schema, table)))


def _tail(target: str) -> tuple[int, str | None]:
    """The head of the log *target* and its last record's digest."""
    import policytracker as pt

    with pt.open_log(target) as log:
        head = log.head
        if head == 0:
            return 0, None
        return head, next(iter(log.read(after=head - 1))).digest


@dataclass
class Place:
    """Where the log of one store and size lives."""

    store: str
    n: int
    target: str
    schema: str | None  # PostgreSQL
    marker: Path  # what was built there, written once the build is complete


def _place(store: str, n: int, cache: Path, server: str | None, tag: str) -> Place:
    if store == "sqlite":
        path = cache / f"queries{tag}-{n}.db"
        return Place(store, n, str(path), None, path.with_suffix(".json"))
    assert server is not None
    schema = f"bench_queries{tag}_{n}"
    where = hashlib.sha256(f"{server} {schema}".encode()).hexdigest()[:8]
    return Place(store, n, _pg_url(server, schema), schema, cache / f"postgres-{schema}-{where}.json")


def _reusable(place: Place, server: str | None) -> bool:
    """Whether the log at *place* is the complete benchmark log its marker describes."""
    try:
        marker = json.loads(place.marker.read_text())
    except (OSError, ValueError):
        return False
    if marker.get("fingerprint") != _fingerprint() or marker.get("n") != place.n:
        return False
    if place.store == "sqlite" and not Path(place.target).exists():
        return False
    if place.schema is not None and not (server and _pg_schema_exists(server, place.schema)):
        return False
    try:
        return _tail(place.target) == (marker["head"], marker["digest"])
    except Exception:  # a log that cannot be opened is built again
        return False


def _ensure_log(place: Place, server: str | None, rebuild: bool) -> dict[str, Any]:
    """Build the benchmark log at *place* (in a fresh process, as run.py does) unless it is there already."""
    if not rebuild and _reusable(place, server):
        if place.schema is not None:
            assert server is not None
            _pg_settle(server, place.schema)  # quick when nothing changed since
        return {"built": False}
    place.marker.unlink(missing_ok=True)
    if place.store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(place.target + suffix).unlink(missing_ok=True)
    else:
        assert server is not None
        assert place.schema is not None
        _pg_recreate(server, place.schema)
    built = run._run("append", place.store, place.target, place.n)
    if place.schema is not None:
        assert server is not None
        _pg_settle(server, place.schema)
    head, digest = _tail(place.target)
    if head != place.n:
        raise SystemExit(f"building the {place.store} log of {place.n:,} events left {head:,} records")
    marker = {"fingerprint": _fingerprint(), "n": place.n, "head": head, "digest": digest}
    place.marker.write_text(json.dumps({**marker, "built": dt.date.today().isoformat()}))
    return {"built": True, "seconds": built["seconds"], "rss_mb": built["rss_mb"]}


def _copy(place: Place, folder: Path, server: str | None) -> tuple[str, Any]:
    """A copy of the log at *place*, for a row that appends (the cached log is never written to), and a
    function that removes it. SQLite: the file, through SQLite's backup API. PostgreSQL: a new schema
    that policytracker lays out, then each of its tables filled from the original's on the server."""
    if place.store == "sqlite":
        path = folder / f"copy-{place.n}.db"
        source = sqlite3.connect(f"file:{place.target}?mode=ro", uri=True)
        destination = sqlite3.connect(path)
        try:
            source.backup(destination)
        finally:
            source.close()
            destination.close()
        return str(path), lambda: None
    import psycopg
    from psycopg import sql

    import policytracker as pt

    assert server is not None
    assert place.schema is not None
    schema = f"{place.schema}_copy_{uuid.uuid4().hex[:8]}"
    _pg_recreate(server, schema)
    target = _pg_url(server, schema)
    with pt.open_log(target):  # the store's own tables and indexes, empty
        pass
    with psycopg.connect(server) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (place.schema,)
        ).fetchall()
        for (table,) in tables:
            columns = conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (place.schema, table),
            ).fetchall()
            names = sql.SQL(", ").join(sql.Identifier(name) for (name,) in columns)
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table)))
            conn.execute(
                sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
                    sql.Identifier(schema, table), names, names, sql.Identifier(place.schema, table)
                )
            )
    _pg_settle(server, schema)
    if _tail(target) != _tail(place.target):
        raise SystemExit(f"the copy of the PostgreSQL log of {place.n:,} events differs from it")
    return target, lambda: _pg_recreate(server, schema, drop_only=True)


def _pick_country(target: str, wanted: str, n: int) -> str:
    """*wanted* when the log holds records about it, else the country the workload names most often."""
    import policytracker as pt

    with pt.open_log(target) as log:
        if next(iter(log.read(country=wanted)), None) is not None:
            return wanted
        counts = Counter(raw[1] for raw in workload.raw_events(n))
        for country, _ in counts.most_common():
            if next(iter(log.read(country=country)), None) is not None:
                print(f"{wanted} has no records in the workload: measuring {country}", file=sys.stderr)
                return country
    raise SystemExit("the benchmark log holds no country's records")


# -- measuring -----


def _measure(query: Query, target: str, country: str, repeat: int, keep: Path | None) -> dict[str, Any]:
    """Best of *repeat* fresh processes running *query*; the first keeps its result in *keep*."""
    program = _CHILD.format(month_ends=MONTH_ENDS, scale=_SCALE, statement=query.statement)
    best: dict[str, Any] | None = None
    for attempt in range(repeat):
        saved = str(keep) if keep is not None and attempt == 0 else ""
        output = subprocess.run(
            [sys.executable, "-c", program, target, country, saved],
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode != 0:
            return {"error": output.stderr.strip()[-3000:] or f"exit status {output.returncode}"}
        result = json.loads(output.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("policytracker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "policytracker"]


def _measure_cli(arguments: list[str], repeat: int) -> dict[str, Any]:
    """Best of *repeat* runs of the command line with *arguments*, each timed as a whole process
    (start-up, imports, opening the log, the query and printing), with that process's own peak RSS."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        with tempfile.TemporaryFile() as errors:
            started = time.perf_counter()
            process = subprocess.Popen([*_cli(), *arguments], stdout=subprocess.DEVNULL, stderr=errors)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode != 0:
                errors.seek(0)
                text = errors.read().decode(errors="replace").strip()
                return {"error": text[-3000:] or f"exit status {process.returncode}"}
        result = {"seconds": seconds, "rss_mb": usage.ru_maxrss / _SCALE}
        if best is None or seconds < best["seconds"]:
            best = result
    assert best is not None
    return best


def _measure_stored(
    place: Place, country: str, repeat: int, folder: Path, server: str | None, smoke: bool
) -> dict[str, Any]:
    """The stored-state row: on a copy of the log, store the latest state, append NEW_EVENTS new events,
    then time ``country_states`` in fresh processes and check it against a full fold. Without the library
    call the row is n/a; a smoke run still goes through the copy, the appends and the check."""
    supported = stored_state_supported()
    if not supported and not smoke:
        return {"na": NO_STORED_STATE}
    copy, remove = _copy(place, folder, server)
    try:
        reference = folder / f"stored-reference-{place.store}-{place.n}.pickle"
        prepared = subprocess.run(
            [sys.executable, __file__, "--prepare-stored", copy, str(reference)],
            capture_output=True,
            text=True,
            check=False,
        )
        if prepared.returncode != 0:
            return {"error": prepared.stderr.strip()[-3000:]}
        facts = json.loads(prepared.stdout.strip().splitlines()[-1])
        kept = folder / f"stored-{place.store}-{place.n}.pickle"
        result = _measure(QUERIES[0], copy, country, repeat, kept)
        if "error" in result:
            return result
        result["checks"] = [
            (
                f"country_states(log) after {NEW_EVENTS:,} new events on a copy == a full fold",
                _load(kept) == _load(reference),
            )
        ]
        if not facts["stored"]:
            return {"na": NO_STORED_STATE, "without_stored_state": result, "checks": result["checks"]}
        return result
    finally:
        remove()


def _load(path: Path) -> Any:
    return pickle.loads(path.read_bytes())


def _checks(kept: dict[str, Path], country: str) -> list[tuple[str, bool]]:
    """The answers that must agree, among the rows that ran."""
    found = {key: _load(path) for key, path in kept.items() if path.exists()}
    checks = []
    if "states" in found and "state" in found:
        states = found["states"]
        checks.append(
            (
                f'country_state(log, "{country}") == country_states(log)["{country}"]',
                states.get(country) == found["state"],
            )
        )
    if "as_of_24" in found and "series_24" in found:
        checks.append(
            ("state_series == 24 x country_state(as_of=...)", dict(found["series_24"]) == found["as_of_24"])
        )
    if "as_of_24" in found and "state_as_of" in found:
        checks.append(
            (
                f'country_state(as_of="{AS_OF}") == its month-end entry',
                found["as_of_24"][dt.date.fromisoformat(AS_OF)] == found["state_as_of"],
            )
        )
    return checks


def _measure_log(
    place: Place, country: str, args: argparse.Namespace, folder: Path
) -> tuple[list[dict[str, Any]], int | None, list[tuple[str, bool]]]:
    """Every row on the log at *place*: the rows, how many effective events *country* has (from its
    timeline) and the checks."""
    kept: dict[str, Path] = {}
    count: int | None = None
    rows: list[dict[str, Any]] = []

    def add(key: str, label: str, rate: str | None, result: dict[str, Any]) -> None:
        row = {"key": key, "label": label, "rate": rate, "store": place.store, "n": place.n, **result}
        rows.append(row)
        seconds, peak, _ = _cell(row, country, count)
        shown = f"{seconds} s, {peak} MB" if peak else seconds
        print(f"  {label.format(c=country)}: {shown}", file=sys.stderr, flush=True)
        if "error" in row:
            print(textwrap.indent(row["error"], "    "), file=sys.stderr, flush=True)

    for query in QUERIES:
        if query.keep:
            kept[query.key] = folder / f"{query.key}.pickle"
        result = _measure(query, place.target, country, args.repeat, kept.get(query.key))
        if query.key == "timeline" and "size" in result:
            count = result["size"]
        add(query.key, query.label, query.rate, result)
    add("cli", CLI_LABEL, None, _measure_cli(["replay", place.target, "--country", country], args.repeat))
    add("startup", STARTUP_LABEL, None, _measure_cli(["--help"], args.repeat))
    result = _measure_stored(place, country, args.repeat, folder, args.postgres, args.smoke)
    stored_checks = result.pop("checks", [])
    add("stored", STORED_LABEL, None, result)
    return rows, count, [*_checks(kept, country), *stored_checks]


# -- the report -----


def _facts(server: str | None, stores: list[str]) -> str:
    try:
        fast = f"orjson {importlib.metadata.version('orjson')}"
    except importlib.metadata.PackageNotFoundError:
        fast = "without orjson"
    facts = [
        platform.platform(),
        f"{os.cpu_count()} cores",
        f"Python {platform.python_version()}",
        fast,
        f"policytracker {importlib.metadata.version('policytracker')}",
    ]
    if server and "postgres" in stores:
        import psycopg

        with psycopg.connect(server, autocommit=True) as admin:
            row = admin.execute("SHOW server_version").fetchone()
        facts.append(f"PostgreSQL {row[0] if row else '?'}")
    return ", ".join(facts) + f", {dt.date.today()}"


def _cell(row: dict[str, Any], country: str, country_events: int | None) -> tuple[str, str, str]:
    """The seconds, peak MB and events/s cells of a row."""
    if "na" in row:
        return row["na"], "", ""
    if "error" in row:
        return "failed", "", ""
    seconds, peak = f"{row['seconds']:.3f}", f"{row['rss_mb']:.0f}"
    rate = ""
    if row["rate"] == "log":
        rate = f"{row['n'] / row['seconds']:,.0f} (log)"
    elif row["rate"] == "country" and country_events:
        rate = f"{country_events / row['seconds']:,.0f} ({country})"
    return seconds, peak, rate


def _table(rows: list[dict[str, Any]], countries: dict[tuple[str, int], tuple[str, int | None]]) -> str:
    lines = [
        "| query | store | N | seconds | peak MB | events/s |",
        "|---|---|--:|--:|--:|--:|",
    ]
    order = [query.key for query in QUERIES] + ["cli", "startup", "stored"]
    for row in sorted(rows, key=lambda row: (order.index(row["key"]), STORES.index(row["store"]), row["n"])):
        country, count = countries[row["store"], row["n"]]
        seconds, peak, rate = _cell(row, country, count)
        label = row["label"].format(c=country)
        lines.append(f"| {label} | {row['store']} | {row['n']:,} | {seconds} | {peak} | {rate} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per query; the best counts")
    parser.add_argument("--postgres", default=os.environ.get("POLICYTRACKER_TEST_POSTGRES"))
    parser.add_argument("--country", default="SV", help="the country of the one-country rows (default SV)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("POLICYTRACKER_BENCH_CACHE") or tempfile.gettempdir())
        / "policytracker-bench",
        help="where built SQLite logs and the markers of built logs are kept",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the logs again even when cached")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="N = 2,000, one repeat, logs built afresh and removed: proves the benchmark works",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--prepare-stored", nargs=2, metavar=("TARGET", "REFERENCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_stored:
        print(json.dumps(prepare_stored(*args.prepare_stored)))
        return 0
    if args.json and not Path(args.json).parent.is_dir():
        parser.error(
            f"--json: there is no folder {str(Path(args.json).parent)!r} to write {args.json!r} into"
        )
    if args.repeat < 1 or any(n < workload.BATCH for n in args.sizes):
        parser.error(f"--repeat must be at least 1 and each size at least {workload.BATCH:,}")
    stores = [store for store in args.stores if store != "postgres" or args.postgres]
    if len(stores) < len(args.stores):
        print(
            "no PostgreSQL server named (--postgres or POLICYTRACKER_TEST_POSTGRES): SQLite only",
            file=sys.stderr,
        )
    if args.smoke:
        args.sizes, args.repeat = [2_000], 1

    scratch = Path(tempfile.mkdtemp(prefix="policytracker-queries-"))
    cache, tag = (scratch / "cache", f"_smoke_{uuid.uuid4().hex[:8]}") if args.smoke else (args.cache, "")
    cache.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    logs: list[str] = []
    countries: dict[tuple[str, int], tuple[str, int | None]] = {}
    checks: list[tuple[str, str, int, bool]] = []
    places: list[Place] = []
    try:
        facts = _facts(args.postgres, stores)
        for store in stores:
            for n in args.sizes:
                place = _place(store, n, cache, args.postgres, tag)
                places.append(place)
                print(f"{store} N={n:,}: the benchmark log ...", file=sys.stderr, flush=True)
                built = _ensure_log(place, args.postgres, args.rebuild or args.smoke)
                if built["built"]:
                    rate = n / built["seconds"]
                    logs.append(f"{store} {n:,}: built in {built['seconds']:.1f} s ({rate:,.0f} events/s)")
                else:
                    logs.append(f"{store} {n:,}: reused")
                print(f"  {logs[-1]}", file=sys.stderr, flush=True)
                country = _pick_country(place.target, args.country.upper(), n)
                folder = scratch / f"{store}-{n}"
                folder.mkdir()
                measured, count, found = _measure_log(place, country, args, folder)
                rows += measured
                countries[store, n] = (country, count)
                checks += [(name, store, n, ok) for name, ok in found]
    finally:
        if args.smoke:
            for place in places:
                if place.schema is not None and args.postgres:
                    _pg_recreate(args.postgres, place.schema, drop_only=True)
        shutil.rmtree(scratch, ignore_errors=True)

    reference = workload.machine_reference()
    print(f"{facts}: `python benchmarks/queries.py {' '.join(sys.argv[1:])}`".rstrip())
    print(f"best of {args.repeat} fresh processes; logs: {'; '.join(logs)}")
    print(
        f"machine reference: {reference * 1000:.0f} ms "
        "(workload.machine_reference: how fast this machine runs now)"
    )
    for (store, n), (country, count) in countries.items():
        if count is not None:
            print(f"{store} {n:,}: {country} has {count:,} effective events")
    print()
    print(_table(rows, countries))
    before = [row["before_mb"] for row in rows if "before_mb" in row]
    if before:
        print(
            f"\nA process that has imported policytracker and opened the log holds {min(before):.0f}-"
            f"{max(before):.0f} MB before its query."
        )
    for name, store, n, ok in checks:
        print(f"check {'ok' if ok else 'FAILED'}: {name} ({store}, {n:,})")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"facts": facts, "machine_reference_s": reference, "rows": rows}, indent=2, default=str
            )
        )
    failed = [row for row in rows if "error" in row]
    wrong = [check for check in checks if not check[3]]
    if failed or wrong:
        print(f"{len(failed)} queries failed, {len(wrong)} checks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
