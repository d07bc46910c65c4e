"""The public surface of ``policytracker``: exactly these names, each defined by the package itself."""

import types
import typing

import policytracker as pt
import policytracker.testing

PUBLIC = [
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


def test_the_public_names_are_exactly_these():
    assert PUBLIC == pt.__all__


def test_every_public_name_is_exported_and_nothing_else_is_public():
    exported = {
        name
        for name, value in vars(pt).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }

    assert set(PUBLIC) == exported


def test_every_public_name_comes_from_the_package():
    for name in PUBLIC:
        value = getattr(pt, name)
        if typing.get_origin(value) is not None:  # a type alias such as Upcaster
            continue
        module = getattr(value, "__module__", None) or type(value).__module__
        assert module.startswith("policytracker"), name


def test_the_testing_kit_exports_what_its_all_says():
    for name in policytracker.testing.__all__:
        assert getattr(policytracker.testing, name) is not None, name
    assert sorted(policytracker.testing.__all__) == policytracker.testing.__all__
