"""Your own event type and your own projection: sanctions evasion through crypto.

The built-in projections ignore event types they do not know; a projection of your own handles them. Run
it with ``python examples/custom_event.py``.
"""

from __future__ import annotations

import attrs

import policytracker as pt


@pt.event_type("example.sanctions_evasion_reported")
@attrs.frozen(kw_only=True)
class SanctionsEvasionReported(pt.CountryEvent):
    """A report that a country used crypto to get around sanctions."""

    method: str = attrs.field(validator=attrs.validators.min_len(1))


def apply(state: frozenset[tuple[str, str]], event: pt.Event) -> frozenset[tuple[str, str]]:
    if isinstance(event, SanctionsEvasionReported):
        return state | {(event.country, event.method)}
    return state


EVASION = pt.Projection(name="sanctions-evasion", initial=frozenset(), apply=apply)


def main() -> frozenset[tuple[str, str]]:
    with pt.open_log(":memory:") as log:
        log.append(
            [
                SanctionsEvasionReported(occurred="2024", country="RU", method="crypto payments for imports"),
                pt.VisitPlanned(occurred="2024", country="SV", host="RU", official="Nayib Bukele"),
            ]
        )
        found = pt.project(log, EVASION)
        ignored_by_builtin = pt.country_state(log, "RU").event_count
    print(f"reports: {sorted(found)}; the built-in state of RU counts {ignored_by_builtin} event (the visit)")
    return found


if __name__ == "__main__":
    main()
