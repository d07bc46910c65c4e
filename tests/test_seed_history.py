"""The seed articles' facts are all expressible, and the bundled dataset holds every one of them."""

from decimal import Decimal
from pathlib import Path

import pytest

import policytracker as pt

DATASET = Path(__file__).parent.parent / "examples" / "data" / "seed_history.jsonl"


@pytest.fixture(scope="module")
def history():
    return pt.load_events(DATASET)


def _one(history, cls, **fields):
    found = [
        event
        for event in history
        if type(event) is cls and all(getattr(event, name) == value for name, value in fields.items())
    ]
    assert len(found) == 1, f"expected one {cls.__name__} with {fields}, found {len(found)}"
    return found[0]


FACTS = [
    (pt.PartnershipFormed, {"countries": ("PK", "SV")}, "2025-07"),
    (pt.ReservePurchase, {"country": "SV", "asset": "BTC", "amount": Decimal(7)}, "2025-06"),
    (
        pt.HoldingsReported,
        {"country": "SV", "amount": Decimal(6238), "basis": "government figures"},
        "2025-07",
    ),
    (pt.IMFRefusal, {"country": "PK"}, "2025-07"),
    (pt.RegulatorEstablished, {"country": "PK", "acronym": "PVARA"}, "2025"),
    (pt.MiningPowerAllocated, {"country": "PK", "megawatts": Decimal(2000)}, "2025"),
    (pt.ReserveAnnounced, {"country": "PK", "stage": pt.ReserveStage.PLANNED}, "2025"),
    (pt.AdoptionEstimated, {"country": "PK", "holders": 20_000_000}, "2025"),
    (pt.LegalTenderAdopted, {"country": "SV", "asset": "BTC"}, "2021-09"),
    (pt.CompanyHeadquartered, {"country": "SV", "company": "Tether"}, "2025-01"),
    (pt.IMFProgramAgreed, {"country": "PK", "amount_usd": Decimal(7_000_000_000)}, "2024"),
    (pt.IMFProgramAgreed, {"country": "SV"}, "2025"),
    (pt.IMFConcernRaised, {"country": "SV"}, "2025"),
    (pt.VisitPlanned, {"country": "SV", "host": "RU", "official": "Nayib Bukele"}, "2024"),
    (
        pt.OfficialAppointed,
        {"country": "PK", "person": "Bilal Bin Saqib", "role": "Head of the Pakistan Crypto Council"},
        "2025-07",
    ),
    (pt.OfficialAppointed, {"country": "SV", "person": "Maria Luisa Hayem"}, "2025-06"),
    (pt.PolicyStatement, {"country": "RU", "topics": ("payments", "sanctions")}, "2024"),
]


@pytest.mark.parametrize(("cls", "fields", "occurred"), FACTS, ids=[f"{c.__name__}-{o}" for c, _, o in FACTS])
def test_each_fact_of_the_articles_is_in_the_history(history, cls, fields, occurred):
    event = _one(history, cls, **fields)

    assert pt.FuzzyDate.parse(occurred) == event.occurred
    assert event.sources, "every fact names its source"


def test_the_pakistan_imf_programme_runs_through_2027(history):
    programme = _one(history, pt.IMFProgramAgreed, country="PK")

    assert pt.FuzzyDate.parse("2027") == programme.ends


def test_every_event_survives_serialisation(history):
    assert history == [pt.event_from_json(pt.event_to_json(event)) for event in history]


def test_no_fact_is_recorded_twice(history):
    assert len(history) == len({event.event_id for event in history})


def test_every_source_names_its_publisher_and_date(history):
    sources = {source for event in history for source in event.sources}

    assert {"Cryptonews", "Crypto news report", "Bloomberg"} == {source.publisher for source in sources}
    assert all(source.published is not None for source in sources)


def test_vague_dates_stay_vague(history):
    precisions = {str(event.occurred): event.occurred.precision for event in history}

    assert pt.Precision.MONTH == precisions["2025-01"]  # "Tether opened a headquarters there in January"
    assert pt.Precision.YEAR == precisions["2024"]  # "in 2024, Russia turned to crypto"
    assert pt.Precision.MONTH == precisions["2021-09"]  # "since as early as September 2021"


def test_every_row_has_its_own_key_so_the_dataset_can_be_synced(history):
    keys = [event.key for event in history]

    assert all(keys)
    assert len(keys) == len(set(keys))
