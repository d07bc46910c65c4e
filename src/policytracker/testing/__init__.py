"""The testing kit: Hypothesis strategies for policy events and histories, the laws every projection
must obey, and a stateful check of the log contract for your own stores. Needs the ``testing`` extra:
``pip install 'policytracker[testing]'``.

Strategies follow Hypothesis's API style: plural names, keyword-only arguments, arguments checked when the
strategy is built (not when it is drawn from):

- ``country_codes()``, ``fuzzy_dates()``, ``sources()``;
- ``events(types=None, countries=None)``: standalone built-in events;
- ``histories(min_size=0, max_size=20, countries=None)``: realistic histories, with retractions and
  corrections of earlier events.

``check_projection_laws(projection)`` checks a projection against every law of ``LAWS`` and raises
``ProjectionLawError`` naming the law and the shrunk counter-example. ``log_state_machine(new_log)``
returns a Hypothesis state machine that checks a store against the log contract.

Installing the extra also registers strategies with Hypothesis, so ``st.from_type(policytracker.Event)``
and ``st.from_type(policytracker.ReservePurchase)`` work, and gives pytest the ``policytracker_log``
fixture (see ``policytracker.testing.pytest_plugin``).

The names are imported when first used, so that the pytest plugin, which lives here, loads without
Hypothesis; using any of them without Hypothesis installed raises an ``ImportError`` naming the extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policytracker.exceptions import ProjectionLawError
    from policytracker.testing._laws import LAWS, check_projection_laws
    from policytracker.testing._stateful import log_state_machine
    from policytracker.testing._strategies import country_codes, events, fuzzy_dates, histories, sources

__all__ = [
    "LAWS",
    "ProjectionLawError",
    "check_projection_laws",
    "country_codes",
    "events",
    "fuzzy_dates",
    "histories",
    "log_state_machine",
    "sources",
]

_HOMES = {
    "LAWS": "policytracker.testing._laws",
    "ProjectionLawError": "policytracker.exceptions",
    "check_projection_laws": "policytracker.testing._laws",
    "country_codes": "policytracker.testing._strategies",
    "events": "policytracker.testing._strategies",
    "fuzzy_dates": "policytracker.testing._strategies",
    "histories": "policytracker.testing._strategies",
    "log_state_machine": "policytracker.testing._stateful",
    "sources": "policytracker.testing._strategies",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'policytracker.testing' has no attribute {name!r}")
    try:
        import hypothesis  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"policytracker.testing.{name} needs Hypothesis: install the testing extra with "
            "pip install 'policytracker[testing]'"
        ) from exc
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
