"""policytracker: an event-sourced record of national digital-asset policy.

Typed, dated, sourced policy events (attrs classes), fuzzy dates, strict canonical serialisation, and
an append-only, digest-chained log with in-memory, SQLite and JSON Lines stores, pure projections
over valid time and record time, and pictures of them (figures and an HTML report, with the ``plot``
extra).
Everything importable from here is stable; modules whose names start with ``_`` are not.
"""

from __future__ import annotations

from policytracker._changes import Changes, changes
from policytracker._countries import country_name
from policytracker._dates import FuzzyDate, Precision
from policytracker._eventfiles import dump_events, load_events
from policytracker._events import (
    AdoptionEstimated,
    CompanyHeadquartered,
    CountryEvent,
    CryptoBanChanged,
    Event,
    EventCorrected,
    EventRetracted,
    HoldingsReported,
    IMFConcernRaised,
    IMFProgramAgreed,
    IMFRefusal,
    LegalTenderAdopted,
    LegalTenderStatus,
    LegalTenderStatusChanged,
    MiningPowerAllocated,
    OfficialAppointed,
    PartnershipFormed,
    PolicyStatement,
    RegulatorEstablished,
    ReserveAnnounced,
    ReservePurchase,
    ReserveSale,
    ReserveStage,
    Source,
    Upcaster,
    VisitPlanned,
    event_class,
    event_type,
    registered_event_types,
)
from policytracker._frames import events_frame, state_series_frame, states_frame
from policytracker._log import (
    AppendResult,
    EventLog,
    Recorded,
    VerifyReport,
    copy_log,
    open_log,
)
from policytracker._plot import plot_holdings, plot_timeline
from policytracker._projections import (
    COUNTRY_STATES,
    Conflict,
    CountryState,
    HoldingsPoint,
    Partnership,
    PartnershipGraph,
    Projection,
    Projector,
    Snapshot,
    SnapshotInfo,
    country_state,
    country_states,
    effective_events,
    fold,
    holdings_history,
    partnership_graph,
    project,
    save_snapshot,
    state_series,
    timeline,
)
from policytracker._report import report
from policytracker._serialization import (
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
    make_converter,
)
from policytracker._sync import SyncChange, SyncPlan, sync
from policytracker.exceptions import (
    ConcurrencyError,
    DuplicateEventError,
    IntegrityError,
    PolicyTrackerError,
    ProjectionLawError,
    SerializationError,
    ValidationError,
)

__all__ = [
    "COUNTRY_STATES",
    "AdoptionEstimated",
    "AppendResult",
    "Changes",
    "CompanyHeadquartered",
    "ConcurrencyError",
    "Conflict",
    "CountryEvent",
    "CountryState",
    "CryptoBanChanged",
    "DuplicateEventError",
    "Event",
    "EventCorrected",
    "EventLog",
    "EventRetracted",
    "FuzzyDate",
    "HoldingsPoint",
    "HoldingsReported",
    "IMFConcernRaised",
    "IMFProgramAgreed",
    "IMFRefusal",
    "IntegrityError",
    "LegalTenderAdopted",
    "LegalTenderStatus",
    "LegalTenderStatusChanged",
    "MiningPowerAllocated",
    "OfficialAppointed",
    "Partnership",
    "PartnershipFormed",
    "PartnershipGraph",
    "PolicyStatement",
    "PolicyTrackerError",
    "Precision",
    "Projection",
    "ProjectionLawError",
    "Projector",
    "Recorded",
    "RegulatorEstablished",
    "ReserveAnnounced",
    "ReservePurchase",
    "ReserveSale",
    "ReserveStage",
    "SerializationError",
    "Snapshot",
    "SnapshotInfo",
    "Source",
    "SyncChange",
    "SyncPlan",
    "Upcaster",
    "ValidationError",
    "VerifyReport",
    "VisitPlanned",
    "changes",
    "copy_log",
    "country_name",
    "country_state",
    "country_states",
    "dump_events",
    "effective_events",
    "event_class",
    "event_from_dict",
    "event_from_json",
    "event_to_dict",
    "event_to_json",
    "event_type",
    "events_frame",
    "fold",
    "holdings_history",
    "load_events",
    "make_converter",
    "open_log",
    "partnership_graph",
    "plot_holdings",
    "plot_timeline",
    "project",
    "registered_event_types",
    "report",
    "save_snapshot",
    "state_series",
    "state_series_frame",
    "states_frame",
    "sync",
    "timeline",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("policytracker")
    raise AttributeError(f"module 'policytracker' has no attribute {name!r}")
