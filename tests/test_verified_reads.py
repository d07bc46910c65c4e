"""No read serves a record that does not match its digest, or whose predecessor is missing."""

import sqlite3

import pytest

import policytracker as pt
from tests.log_contract import partnership, purchase, refusal

EVENTS = [partnership(), purchase(), refusal(), purchase(amount=8, country="PK"), purchase(amount=9)]

READS = {
    "read": lambda log: list(log.read()),
    "read after": lambda log: list(log.read(after=1)),
    "read a country": lambda log: list(log.read(country="SV")),
    "read a type": lambda log: list(log.read(types=[pt.ReservePurchase])),
    "country_states": pt.country_states,
    "country_state": lambda log: pt.country_state(log, "SV"),
    "as_of": lambda log: pt.country_states(log, as_of="2025-06-30"),
    "known_at": lambda log: pt.country_states(log, known_at="2099-01-01T00:00:00Z"),
    "timeline": lambda log: pt.timeline(log, "SV"),
    "catch_up": lambda log: pt.Projector(log).catch_up(),
}


def _log(tmp_path, suffix):
    path = tmp_path / f"log.{suffix}"
    with pt.open_log(path) as log:
        log.append(EVENTS)
    return path


def _change_amount_in_sqlite(path):
    with sqlite3.connect(path) as conn:
        conn.execute('UPDATE records SET event = replace(event, \'"amount":"7"\', \'"amount":"70"\')')


def _change_amount_in_jsonl(path):
    path.write_bytes(path.read_bytes().replace(b'"amount":"7"', b'"amount":"70"'))


def _delete_middle_sqlite(path):
    # Position 4 is Pakistan's purchase; a read of El Salvador's records meets the gap at position 5.
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM records WHERE position = 4")
        conn.execute("DELETE FROM record_countries WHERE position = 4")


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize(
    ("suffix", "damage"),
    [("db", _change_amount_in_sqlite), ("jsonl", _change_amount_in_jsonl)],
    ids=["sqlite", "jsonl"],
)
def test_a_changed_amount_is_refused_by_every_read(tmp_path, suffix, damage, read):
    path = _log(tmp_path, suffix)
    damage(path)

    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 2"):
        read(log)


@pytest.mark.parametrize(
    "read",
    [READS["read a country"], READS["read a type"], READS["country_states"]],
    ids=["country", "type", "replay"],
)
def test_a_missing_middle_record_is_refused_even_by_a_filtered_read(tmp_path, read):
    path = _log(tmp_path, "db")
    _delete_middle_sqlite(path)

    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 4 is missing"):
        read(log)


def test_a_damaged_log_is_never_copied(tmp_path):
    path = _log(tmp_path, "db")
    _change_amount_in_sqlite(path)

    with pytest.raises(pt.IntegrityError):
        pt.copy_log(path, tmp_path / "copy.jsonl")


@pytest.mark.parametrize(
    ("statement", "read"),
    [
        ("UPDATE records SET type = 'event.retracted' WHERE position = 2", READS["country_states"]),
        (
            "UPDATE records SET type = 'reserve.sale' WHERE position = 2",
            lambda log: list(log.read(types=["reserve.sale"])),
        ),
        (
            "INSERT INTO record_countries (country, position) VALUES ('US', 2)",
            lambda log: list(log.read(country="US")),
        ),
    ],
    ids=["relabelled as an amendment", "relabelled as a sale", "indexed under another country"],
)
def test_a_record_a_filtered_read_selects_by_a_changed_index_is_refused(tmp_path, statement, read):
    path = _log(tmp_path, "db")
    with sqlite3.connect(path) as conn:
        conn.execute(statement)

    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match=r"position 2.*index"):
        read(log)


def _sqlite(path, *statements):
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()


@pytest.mark.parametrize(
    "read", [*READS.values(), lambda log: pt.copy_log(log, ":memory:")], ids=[*READS, "copy"]
)
def test_an_event_stored_as_bytes_is_refused_naming_its_position(tmp_path, read):
    path = _log(tmp_path, "db")
    _sqlite(path, "UPDATE records SET event = CAST(event AS BLOB) WHERE position = 2")

    with pt.open_log(path) as log:
        with pytest.raises(pt.IntegrityError, match="position 2"):
            read(log)
        report = log.verify()
    assert not report.ok
    assert report.first_bad_position == 2


@pytest.mark.parametrize(
    "read", [READS["country_state"], READS["timeline"]], ids=["country_state", "timeline"]
)
def test_a_row_below_position_1_does_not_hide_a_removed_record_from_a_one_country_read(tmp_path, read):
    path = _log(tmp_path, "db")
    # Position 2 is El Salvador's first purchase and position 3 Pakistan's refusal, which a read of El
    # Salvador skips: removed with its index row, and a row at position 0 put in its place so that the
    # count of records matches the head again.
    _sqlite(
        path,
        "DELETE FROM record_countries WHERE position = 2",
        "INSERT INTO records (position, recorded_at, event_id, type, countries, event, digest, vt_earliest, "
        "vt_latest, vt_rank) SELECT 0, recorded_at, 'x', type, countries, event, digest, vt_earliest, "
        "vt_latest, vt_rank FROM records WHERE position = 2",
        "DELETE FROM records WHERE position = 2",
    )

    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 0"):
        read(log)


def test_a_retraction_whose_type_column_was_changed_is_refused_by_every_projection(tmp_path):
    path = tmp_path / "log.db"
    with pt.open_log(path) as log:
        log.append(EVENTS)
        target = next(record.event for record in log.read() if record.position == 5)
        log.append([pt.EventRetracted(occurred="2025-08", target=target.event_id)])
    _sqlite(path, "UPDATE records SET type = 'reserve.purchase' WHERE position = 6")

    with pt.open_log(path) as log:
        for read in (READS["country_states"], READS["country_state"], READS["timeline"]):
            with pytest.raises(pt.IntegrityError, match="position 6 as a standalone event"):
                read(log)
        # A read up to a date before the retraction's never meets it: as documented, only verify() sees
        # what a changed index leaves out.
        assert not log.verify().ok
