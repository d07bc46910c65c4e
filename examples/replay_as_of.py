"""Replay the seed history as of several dates: how Pakistan's and El Salvador's policy looked over time.

Run it with ``python examples/replay_as_of.py``. Vague dates count from their last day: the 2,000 MW for
mining, reported in July 2025 as "recent" and dated "2025", only appears as of the end of 2025.
"""

from __future__ import annotations

from pathlib import Path

import policytracker as pt

DATASET = Path(__file__).parent / "data" / "seed_history.jsonl"


def btc(name: str, state: pt.CountryState) -> str:
    """What the state says of a country's bitcoin: a figure from a holdings report, a figure of net
    purchases only, or nothing known (never "holds 0 BTC" for "unknown")."""
    amount = state.holdings.get("BTC")
    if amount is None:
        return f"nothing known of {name}'s BTC"
    if "BTC" in state.reported_assets:
        return f"{name} holds {amount} BTC"
    return f"{name} bought {amount} BTC net (no holdings report)"


def states_over_time(log: pt.EventLog, dates: list[str]) -> dict[str, dict[str, pt.CountryState]]:
    return {date: dict(pt.country_states(log, as_of=date)) for date in dates}


def main() -> None:
    with pt.open_log(":memory:") as log:
        log.append(pt.load_events(DATASET))
        for date, states in states_over_time(
            log, ["2021-12-31", "2024-12-31", "2025-06-30", "2025-12-31"]
        ).items():
            pk = states.get("PK", pt.CountryState(country="PK"))
            sv = states.get("SV", pt.CountryState(country="SV"))
            print(
                f"as of {date}: {btc('El Salvador', sv)}, "
                f"legal tender {[s.value for s in sv.legal_tender.values()] or 'none'}; "
                f"Pakistan: partners {sorted(pk.partners) or 'none'}, {pk.mining_megawatts} MW for mining, "
                f"IMF refusals {len(pk.imf_refusals)}"
            )


if __name__ == "__main__":
    main()
