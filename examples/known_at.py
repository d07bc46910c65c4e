"""What did we know, and when? Record time (``known_at``) next to valid time (``as_of``).

A purchase is first reported as 70 BTC; a week later the figure is corrected to 7 BTC. Asking "as known at"
a moment between the two gives the figure believed then; without ``known_at`` you get today's knowledge.
Run it with ``python examples/known_at.py``.
"""

from __future__ import annotations

import datetime as dt

import policytracker as pt

REPORTED = dt.datetime(2025, 6, 20, 9, 0, tzinfo=dt.UTC)
CORRECTED = dt.datetime(2025, 6, 27, 9, 0, tzinfo=dt.UTC)


def main() -> dict[str, str]:
    stamps = iter([REPORTED, CORRECTED])
    with pt.open_log(":memory:", clock=lambda: next(stamps)) as log:
        wrong = pt.ReservePurchase(
            occurred="2025-06", country="SV", amount=70, sources=(pt.Source(publisher="Wire"),)
        )
        log.append([wrong])
        right = pt.ReservePurchase(
            occurred="2025-06", country="SV", amount=7, sources=(pt.Source(publisher="Wire"),)
        )
        log.append([pt.EventCorrected(occurred="2025-06", target=wrong.event_id, replacement=right)])

        between = REPORTED + dt.timedelta(days=3)
        answers = {
            "believed on 2025-06-23": str(pt.country_state(log, "SV", known_at=between).holdings["BTC"]),
            "known now": str(pt.country_state(log, "SV").holdings["BTC"]),
            "before the first report": str(
                dict(pt.country_states(log, known_at=REPORTED - dt.timedelta(hours=1)))
            ),
        }
    for question, answer in answers.items():
        print(f"{question}: {answer}")
    return answers


if __name__ == "__main__":
    main()
