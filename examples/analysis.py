"""A notebook-style analysis of the seed history with pandas: load, frame, filter, state over time.

Needs the frames extra: ``pip install "policytracker[frames]"``. Run it with ``python
examples/analysis.py``, or cell by cell (the ``# %%`` markers) in VS Code, PyCharm, Spyder or Jupytext.
Without pandas it says what to install and exits with status 1.
"""

# requires: pandas

# %% Load the bundled history of the seed articles into a log
from __future__ import annotations

import sys
from pathlib import Path

import policytracker as pt

try:
    import pandas as pd
except ImportError:
    sys.exit('examples/analysis.py needs pandas: pip install "policytracker[frames]"')

pd.set_option("display.width", 120)
pd.set_option("display.max_colwidth", 60)

DATASET = Path(__file__).parent / "data" / "seed_history.jsonl"
log = pt.open_log(":memory:")
log.append(pt.load_events(DATASET))

# %% Frame it: one row per effective event, in valid-time order
events = pt.events_frame(log)
print(f"{len(events)} events, {events['type'].nunique()} types, {events['country'].nunique()} countries")
print(events[["occurred", "occurred_precision", "type", "country"]].head(8).to_string(index=False))

# %% How precise are the dates? News often says only "in 2025"
print()
print(events.groupby("occurred_precision").size().rename("events").to_string())

# %% Filter: El Salvador's reserve, amounts exact (Decimal objects, never floats)
reserve = events[
    events["type"].isin(["reserve.purchase", "reserve.sale", "holdings.reported"])
    & (events["country"] == "SV")
]
print()
print(reserve[["occurred", "occurred_latest", "type", "amount", "asset", "basis"]].to_string(index=False))

# %% Filter: Pakistan's facts dated only by their year (each counts from the year's last day on)
late = events[(events["occurred_precision"] == "year") & (events["country"] == "PK")]
print()
print(f"Pakistan facts dated only by their year: {', '.join(late['type'])}")

# %% State over time: El Salvador at a few month ends, in one pass over its history
month_ends = ["2021-12-31", "2024-12-31", "2025-06-30", "2025-07-31"]
series = pt.state_series_frame(log, "SV", month_ends)


def btc(row: pd.Series) -> str:
    """El Salvador's bitcoin on that date: from a holdings report, net purchases only, or unknown."""
    amount = row["holdings"].get("BTC")
    if amount is None:
        return "no figure known"
    if "BTC" in row["reported_assets"]:
        return f"{amount} (holdings report)"
    return f"{amount} net purchases, no holdings report"


series["BTC"] = series.apply(btc, axis=1)
series["legal tender"] = series["legal_tender"].map(lambda statuses: statuses.get("BTC", "no"))
print()
print(series[["as_of", "event_count", "BTC", "legal tender"]].to_string(index=False))

# %% One row per country, today
states = pt.states_frame(log)
states["partners"] = states["partners"].map(", ".join)
print()
print(
    states[["country_name", "event_count", "last_occurred", "partners", "mining_megawatts"]].to_string(
        index=False
    )
)
