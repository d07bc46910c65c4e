"""A record removed from the middle of a log is noticed by every read that could miss it: a read of some
countries or types, a valid-time read bounded by ``as_of``, and the views built on them. Each raises
``IntegrityError`` rather than answering as if the record had never been."""

import datetime as dt
import json
import sqlite3

import pytest

import policytracker as pt
from tests.log_contract import StepClock
from tests.test_one_country_reads import SERVER, STORES, Stores

_PURCHASE = pt.ReservePurchase(occurred="2025-01", country="SV", amount=1)


def _history():
    return [
        [_PURCHASE],
        [
            pt.EventCorrected(
                occurred="2025-07",
                target=_PURCHASE.event_id,
                replacement=pt.ReservePurchase(occurred="2025-01", country="SV", amount=2),
            )
        ],
        [pt.PartnershipFormed(occurred="2025-03", countries=("SV", "PK"))],
        [pt.ReservePurchase(occurred="2025-08", country="SV", amount=5)],
    ]


def _remove(stores, log, kind, positions):
    """Remove the records at *positions* behind the log's back, as someone with the file or the database
    could."""
    if kind == "log.db":
        with sqlite3.connect(log.target) as connection:
            marks = ", ".join("?" * len(positions))
            connection.execute(f"DELETE FROM records WHERE position IN ({marks})", positions)
            connection.execute(f"DELETE FROM record_countries WHERE position IN ({marks})", positions)
        connection.close()
    elif kind == "log.jsonl":
        path = log.target
        with open(path, encoding="utf-8") as file:
            lines = [line for line in file if json.loads(line)["position"] not in positions]
        with open(path, "w", encoding="utf-8") as file:
            file.writelines(lines)
    else:
        import psycopg

        with psycopg.connect(SERVER, autocommit=True) as connection:
            for table in ("policytracker_record_countries", "policytracker_records"):
                connection.execute(
                    f"DELETE FROM {stores.schemas[-1]}.{table} WHERE position = ANY(%s)", [positions]
                )


READS = {
    "read(types=...)": lambda log: list(log.read(types=[pt.PartnershipFormed])),
    "read(country=...)": lambda log: list(log.read(country="SV")),
    "partnership_graph": pt.partnership_graph,
    "country_states(as_of=...)": lambda log: pt.country_states(log, as_of="2025-06"),
    "country_state(as_of=...)": lambda log: pt.country_state(log, "SV", as_of="2025-06"),
    "holdings_history": lambda log: pt.holdings_history(log, "SV", as_of="2025-06"),
    "timeline": lambda log: pt.timeline(log, "SV", as_of="2025-06"),
    "effective_events(as_of=...)": lambda log: pt.effective_events(log, as_of="2025-06"),
    # The store's own valid-time reads, called alone, check too.
    "valid_time_events(country=...)": lambda log: list(log.valid_time_events(country="PK")),
    "valid_time_events(last_day=...)": lambda log: list(
        log.valid_time_events(last_day=dt.date(2025, 6, 30).toordinal())
    ),
}


@pytest.mark.parametrize("kind", STORES)
@pytest.mark.parametrize("read", list(READS))
def test_a_record_removed_from_the_middle_is_an_integrity_error(kind, read):
    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        for batch in _history():
            log.append(batch)
        READS[read](log)  # answers while the log is whole

        _remove(stores, log, kind, [2, 3])
        if kind == "log.jsonl":  # a new process opens the changed file
            log.close()
            log = pt.open_log(log.target)
            stores.logs.append(log)

        with pytest.raises(pt.IntegrityError, match=r"position 2 is missing|line 2 holds position 4"):
            READS[read](log)
    finally:
        stores.close()


@pytest.mark.parametrize("kind", [STORES[0], STORES[2]])  # a database can renumber its records
@pytest.mark.parametrize("read", ["read(country=...)", "country_state(as_of=...)", "timeline"])
def test_a_gap_closed_by_renumbering_the_records_after_it_is_an_integrity_error(kind, read):
    # Removing SV's last purchase (4) and moving PK's record (5) down to its place leaves positions 1 to
    # 4 without a gap, and the SV reads never meet the moved record; it no longer matches its digest,
    # and a selecting read checks the last record.
    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        for batch in [*_history(), [pt.ReservePurchase(occurred="2025-09", country="PK", amount=1)]]:
            log.append(batch)
        READS[read](log)  # answers while the log is whole
        _remove(stores, log, kind, [4])
        _renumber(stores, log, kind, {5: 4})

        with pytest.raises(pt.IntegrityError, match="position 4"):
            READS[read](log)
    finally:
        stores.close()


def _renumber(stores, log, kind, moves):
    if kind == "log.db":
        with sqlite3.connect(log.target) as connection:
            for old, new in sorted(moves.items()):
                for table in ("records", "record_countries"):
                    connection.execute(f"UPDATE {table} SET position = ? WHERE position = ?", (new, old))
        connection.close()
    else:
        import psycopg

        with psycopg.connect(SERVER, autocommit=True) as connection:
            for old, new in sorted(moves.items()):
                for table in ("policytracker_record_countries", "policytracker_records"):
                    statement = f"UPDATE {stores.schemas[-1]}.{table} SET position = %s WHERE position = %s"
                    connection.execute(statement, (new, old))
