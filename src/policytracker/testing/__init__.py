"""The testing kit: Hypothesis strategies for policy events and histories, and the laws every projection
must obey. Needs the ``testing`` extra: ``pip install 'policytracker[testing]'``.

Strategies follow Hypothesis's API style: plural names, keyword-only arguments, arguments checked when the
strategy is built (not when it is drawn from):

- ``country_codes()``, ``fuzzy_dates()``, ``sources()``;
- ``events(types=None, countries=None)``: standalone built-in events;
- ``histories(min_size=0, max_size=20, countries=None)``: realistic histories, with retractions and
  corrections of earlier events.

``check_projection_laws(projection)`` checks a projection against every law of ``LAWS`` and raises
``ProjectionLawError`` naming the law and the shrunk counter-example.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "policytracker.testing needs Hypothesis: install the testing extra with "
        "pip install 'policytracker[testing]'"
    ) from exc

from policytracker.exceptions import ProjectionLawError
from policytracker.testing._laws import LAWS, check_projection_laws
from policytracker.testing._strategies import country_codes, events, fuzzy_dates, histories, sources

__all__ = [
    "LAWS",
    "ProjectionLawError",
    "check_projection_laws",
    "country_codes",
    "events",
    "fuzzy_dates",
    "histories",
    "sources",
]
