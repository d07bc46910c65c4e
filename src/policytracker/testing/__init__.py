"""Hypothesis strategies for policytracker events (needs the ``testing`` extra: ``pip install
'policytracker[testing]'``).

Strategies follow Hypothesis's API style: plural names, keyword-only arguments, arguments checked when the
strategy is built (not when it is drawn from).
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "policytracker.testing needs Hypothesis: install the testing extra with "
        "pip install 'policytracker[testing]'"
    ) from exc

from policytracker.testing._strategies import country_codes, events, fuzzy_dates, histories, sources

__all__ = ["country_codes", "events", "fuzzy_dates", "histories", "sources"]
