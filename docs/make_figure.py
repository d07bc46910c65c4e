"""Draw docs/timeline.png, the figure in the README: the bundled seed history's timeline.

Run ``python docs/make_figure.py`` (needs the ``plot`` extra); the same history and the same matplotlib
give the same image. ``python docs/make_figure.py OUT.png`` writes elsewhere.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import policytracker as pt

ROOT = Path(__file__).parent.parent
HISTORY = ROOT / "examples" / "data" / "seed_history.jsonl"
FIGURE = ROOT / "docs" / "timeline.png"


def main(target: Path = FIGURE) -> None:
    with pt.open_log(":memory:", clock=lambda: dt.datetime(2025, 7, 18, tzinfo=dt.UTC)) as log:
        log.append(pt.load_events(HISTORY))
        figure = pt.plot_timeline(log, ["PK", "SV", "RU"])
    figure.savefig(target, dpi=100, metadata={"Software": None})


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FIGURE)
