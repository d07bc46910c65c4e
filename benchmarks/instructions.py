"""Instructions per event of a SQLite replay into ``country_states``, and of constructing and appending
the events, counted by valgrind: a deterministic measure for comparing two versions on a machine whose
timings move by 10-20% from run to run.

    python benchmarks/instructions.py              # N = 20,000 (a few minutes)
    python benchmarks/instructions.py --n 2000     # a quick run

Builds a log of the benchmark workload in a temporary folder, then runs processes under
``valgrind --tool=callgrind`` with ``PYTHONHASHSEED=0``, two for each count: for the replay, one opens the
log and replays it, the other only opens it; for appends, one makes the workload's events and appends them
to a new log in batches of 1,000, as ``run.py`` does, the other makes the workload's raw tuples and opens a
new log. Each difference, divided by N, is instructions per event (imports and opening cancel out). The
count is the same on every run of the same code; it says nothing about cache misses or I/O (nor the disk
syncs that dominate a small append), and valgrind runs SHA-1 and SHA-256 without the CPU's SHA extensions,
so hashing weighs more than on the machine itself. Use it beside the timed benchmark (``run.py``), not
instead of it. Needs valgrind on the PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_REPLAY = """
import sys
import policytracker as pt
log = pt.open_log(sys.argv[1])
if sys.argv[2] == "replay":
    pt.country_states(log)
log.close()
"""

_APPEND = """
import sys
sys.path.insert(0, sys.argv[3])
import workload
import policytracker as pt
raws = list(workload.raw_events(int(sys.argv[4])))
log = pt.open_log(sys.argv[1])
if sys.argv[2] == "append":
    for start in range(0, len(raws), workload.BATCH):
        log.append([workload.policytracker_event(raw) for raw in raws[start : start + workload.BATCH]])
log.close()
"""


def _instructions(script: Path, target: Path, task: str, *extra: str) -> int:
    """The instructions callgrind counted for one run of *script* (its output file is discarded)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    output = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={os.devnull}",
            sys.executable,
            str(script),
            str(target),
            task,
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    found = re.search(r"Collected\s*:\s*(\d+)", output.stderr)
    if output.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed ({task}):\n{output.stderr[-3000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20_000, help="events in the log (default 20,000)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing to count", file=sys.stderr)
        return 2
    sys.path.insert(0, str(HERE))
    import workload

    import policytracker as pt

    folder = Path(tempfile.mkdtemp(prefix="policytracker-instructions-"))
    try:
        target = folder / "log.db"
        raws = list(workload.raw_events(args.n))
        with pt.open_log(target) as log:
            for start in range(0, args.n, workload.BATCH):
                log.append(
                    [workload.policytracker_event(raw) for raw in raws[start : start + workload.BATCH]]
                )
        script = folder / "replay.py"
        script.write_text(_REPLAY)
        opened = _instructions(script, target, "open")
        replayed = _instructions(script, target, "replay")
        appender = folder / "append.py"
        appender.write_text(_APPEND)
        extra = (str(HERE), str(args.n))
        made = _instructions(appender, folder / "made.db", "open", *extra)
        appended = _instructions(appender, folder / "appended.db", "append", *extra)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    replay, append = (replayed - opened) // args.n, (appended - made) // args.n
    print(f"SQLite replay into country_states, N = {args.n:,}: {replay:,} instructions/event")
    print(f"Constructing and appending to SQLite, N = {args.n:,}: {append:,} instructions/event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
