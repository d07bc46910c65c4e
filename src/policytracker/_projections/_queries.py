"""The state queries: ``country_states`` (from the stored latest state when there is one) and
``country_state`` (one country's records only)."""

from __future__ import annotations

from collections.abc import Mapping

from policytracker._countries import normalize_country
from policytracker._gcpause import collector_paused
from policytracker._log._core import EventLog
from policytracker._projections._core import project
from policytracker._projections._country import COUNTRY_STATES, CountryState, fold_country
from policytracker._projections._history import AsOf, KnownAt, stream_effective
from policytracker._projections._stored import latest_country_states

__all__ = ["country_state", "country_states"]


def country_states(
    log: EventLog, *, as_of: AsOf = None, known_at: KnownAt = None
) -> Mapping[str, CountryState]:
    """The state of every country the effective history mentions (see :func:`project`), sorted by code.

    The latest state (neither *as_of* nor *known_at* given) comes from the log's stored snapshot, when it
    has one that matches (see :func:`save_snapshot`), plus what was appended since; it is always equal to
    the state folded from the whole log.
    """
    with collector_paused():
        if as_of is None and known_at is None:
            stored = latest_country_states(log)
            if stored is not None:
                return stored
        return project(log, COUNTRY_STATES, as_of=as_of, known_at=known_at)


def country_state(
    log: EventLog, country: str, *, as_of: AsOf = None, known_at: KnownAt = None
) -> CountryState:
    """The state of one *country* (an empty state when nothing is known about it), equal to its entry in
    :func:`country_states`. Only that country's records (and the retractions and corrections) are read,
    through the store's country index.

    Raises:
        ValidationError: *country* is not an ISO 3166-1 alpha-2 code, or *as_of* / *known_at* are invalid.
    """
    code = normalize_country(country)
    with collector_paused():
        return fold_country(code, stream_effective(log, as_of=as_of, known_at=known_at, country=code))
