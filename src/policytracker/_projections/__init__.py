"""Projections: pure folds of the effective history into state, and views of it."""

from policytracker._projections._core import Projection, fold, project
from policytracker._projections._country import COUNTRY_STATES, Conflict, CountryState
from policytracker._projections._history import effective_events, valid_time_key
from policytracker._projections._projector import Projector, Snapshot
from policytracker._projections._queries import country_state, country_states
from policytracker._projections._stored import SnapshotInfo, save_snapshot
from policytracker._projections._views import (
    HoldingsPoint,
    Partnership,
    PartnershipGraph,
    holdings_history,
    partnership_graph,
    state_series,
    timeline,
)

__all__ = [
    "COUNTRY_STATES",
    "Conflict",
    "CountryState",
    "HoldingsPoint",
    "Partnership",
    "PartnershipGraph",
    "Projection",
    "Projector",
    "Snapshot",
    "SnapshotInfo",
    "country_state",
    "country_states",
    "effective_events",
    "fold",
    "holdings_history",
    "partnership_graph",
    "project",
    "save_snapshot",
    "state_series",
    "timeline",
    "valid_time_key",
]
