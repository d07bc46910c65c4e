"""What every store keeps beside an event to answer reads comes from the codec, and survives reopening:
a partnership and a visit belong to every country they name, and an amendment to its target's countries."""

import contextlib
import os

import pytest

import policytracker as pt

STORES = ["memory", "sqlite", "jsonl", "postgres"]


@contextlib.contextmanager
def _target(store, tmp_path):
    if store == "postgres":
        if not os.environ.get("POLICYTRACKER_TEST_POSTGRES"):
            pytest.skip("set POLICYTRACKER_TEST_POSTGRES to test the PostgreSQL store")
        from tests.test_log_postgres import fresh_schema

        with fresh_schema() as url:
            yield url
    else:
        yield {"memory": ":memory:", "sqlite": tmp_path / "log.db", "jsonl": tmp_path / "log.jsonl"}[store]


PARTNERSHIP = pt.PartnershipFormed(occurred="2025-07", countries=("SV", "PK", "AR"))
VISIT = pt.VisitPlanned(occurred="2025-08", country="SV", host="RU", official="Bukele")
PURCHASE = pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)
RETRACTION = pt.EventRetracted(occurred="2025-09", target=PARTNERSHIP.event_id)
CORRECTION = pt.EventCorrected(
    occurred="2025-09",
    target=VISIT.event_id,
    replacement=pt.VisitPlanned(occurred="2025-10", country="SV", host="CN", official="Bukele"),
)
EXPECTED = {
    "AR": [PARTNERSHIP, RETRACTION],
    "PK": [PARTNERSHIP, RETRACTION],
    "SV": [PARTNERSHIP, VISIT, PURCHASE, RETRACTION, CORRECTION],
    "RU": [VISIT, CORRECTION],
    "CN": [CORRECTION],
    "US": [],
}


def _by_country(log):
    return {code: [record.event for record in log.read(country=code)] for code in EXPECTED}


@pytest.mark.parametrize("store", STORES)
def test_every_country_an_event_names_finds_it_fresh_and_reopened(store, tmp_path):
    with _target(store, tmp_path) as target:
        with pt.open_log(target) as log:
            log.append([PARTNERSHIP, VISIT])
            log.append([PURCHASE, RETRACTION, CORRECTION])
            assert EXPECTED == _by_country(log)
        if store != "memory":
            with pt.open_log(target) as reopened:
                assert EXPECTED == _by_country(reopened)


@pytest.mark.parametrize("store", ["sqlite", "jsonl", "postgres"])
def test_a_copy_keeps_every_country_an_event_names(store, tmp_path):
    with pt.open_log(tmp_path / "source.jsonl") as source:
        source.append([PARTNERSHIP, VISIT, PURCHASE, RETRACTION, CORRECTION])
    with _target(store, tmp_path) as target:
        pt.copy_log(tmp_path / "source.jsonl", target)
        with pt.open_log(target) as copy:
            assert EXPECTED == _by_country(copy)


@pytest.mark.parametrize("store", STORES)
def test_one_country_state_sees_a_partnership_from_every_side(store, tmp_path):
    with _target(store, tmp_path) as target, pt.open_log(target) as log:
        log.append([PARTNERSHIP])
        for code, others in {"SV": {"PK", "AR"}, "PK": {"SV", "AR"}, "AR": {"SV", "PK"}}.items():
            assert others == pt.country_state(log, code).partners
