"""A custom projection, tested with policytracker's laws: which countries have both an IMF programme and a
national bitcoin reserve (planned or established)?

Run the demo with ``python examples/imf_and_reserve.py`` and its tests with
``python -m pytest examples/imf_and_reserve.py`` (needs ``pip install 'policytracker[testing]'``).
"""

from __future__ import annotations

import attrs

import policytracker as pt


@attrs.frozen
class ImfAndReserve:
    """The state: who has an IMF programme, who has a reserve. Frozen, so apply cannot mutate it."""

    with_programme: frozenset[str] = frozenset()
    with_reserve: frozenset[str] = frozenset()

    @property
    def both(self) -> frozenset[str]:
        return self.with_programme & self.with_reserve


def apply(state: ImfAndReserve, event: pt.Event) -> ImfAndReserve:
    if isinstance(event, pt.IMFProgramAgreed):
        return attrs.evolve(state, with_programme=state.with_programme | {event.country})
    if isinstance(event, pt.ReserveAnnounced) and event.asset == "BTC":
        return attrs.evolve(state, with_reserve=state.with_reserve | {event.country})
    return state  # every other event type, including ones this projection has never heard of


IMF_AND_RESERVE = pt.Projection(name="imf-and-reserve", version=1, initial=ImfAndReserve(), apply=apply)


# -- tests: run with pytest ----------------------------------------------------------------------------------


def test_imf_and_reserve_obeys_the_projection_laws() -> None:
    from policytracker.testing import check_projection_laws

    check_projection_laws(IMF_AND_RESERVE, max_examples=50)


def test_pakistan_has_both_by_2025() -> None:
    with pt.open_log(":memory:") as log:
        log.append(
            [
                pt.IMFProgramAgreed(occurred="2024", country="PK", amount_usd=7_000_000_000, ends="2027"),
                pt.ReserveAnnounced(occurred="2025", country="PK", stage="planned"),
                pt.IMFProgramAgreed(occurred="2025", country="SV"),
            ]
        )
        assert frozenset({"PK"}) == pt.project(log, IMF_AND_RESERVE).both
        assert frozenset() == pt.project(log, IMF_AND_RESERVE, as_of="2024").both


if __name__ == "__main__":
    test_pakistan_has_both_by_2025()
    print("Pakistan has both an IMF programme and a planned bitcoin reserve by 2025.")
