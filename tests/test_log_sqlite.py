"""SQLite specifics: tampering is detected, foreign databases are refused, filters use indexes."""

import sqlite3

import pytest

import policytracker as pt
from policytracker.cli import main
from tests.log_contract import StepClock, purchase, rechain_sqlite, small_sqlite_history


@pytest.fixture
def path(tmp_path):
    return small_sqlite_history(tmp_path)


def _sql(path, statement, *params):
    with sqlite3.connect(path) as conn:
        conn.execute(statement, params)


def _verify(path):
    with pt.open_log(path) as log:
        return log.verify()


def test_a_changed_byte_is_detected_at_its_position(path):
    _sql(path, "UPDATE records SET event = replace(event, '\"7\"', '\"70\"') WHERE position = 1")

    report = _verify(path)

    assert (False, 1, 0) == (report.ok, report.first_bad_position, report.checked)
    assert "digest" in report.reason


def test_a_deleted_record_is_detected_and_reading_refuses_the_gap(path):
    _sql(path, "DELETE FROM records WHERE position = 2")

    assert 2 == _verify(path).first_bad_position
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 2 is missing"):
        list(log.read())


def test_swapped_records_are_detected(path):
    with sqlite3.connect(path) as conn:
        one, two = (
            conn.execute("SELECT event FROM records WHERE position = ?", (p,)).fetchone()[0] for p in (2, 3)
        )
        conn.execute("UPDATE records SET event = ? WHERE position = 2", (two,))
        conn.execute("UPDATE records SET event = ? WHERE position = 3", (one,))

    assert 2 == _verify(path).first_bad_position


def test_an_inserted_record_is_detected(path):
    _sql(
        path,
        "INSERT INTO records (position, recorded_at, event_id, type, countries, event, digest) "
        "SELECT 5, recorded_at, 'x', type, countries, event, digest FROM records WHERE position = 4",
    )

    assert 5 == _verify(path).first_bad_position


def test_a_stored_record_of_an_unknown_type_names_its_position_and_tag(path):
    _sql(path, "UPDATE records SET event = replace(event, 'imf.refusal', 'imf.unknown') WHERE position = 2")
    rechain_sqlite(path)  # as written by a version that knows the type

    with pt.open_log(path) as log, pytest.raises(pt.SerializationError, match=r"position 2.*'imf.unknown'"):
        list(log.read())


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [("imf.refusal", "imf.unknown", "'imf.unknown'"), ('"version":1', '"version":9', "version 9")],
)
def test_verify_reports_a_record_it_cannot_read_without_raising(path, old, new, reason):
    _sql(path, "UPDATE records SET event = replace(event, ?, ?) WHERE position = 2", old, new)
    rechain_sqlite(path)  # as written by another version: its chain is intact

    report = _verify(path)

    assert (False, 2, 1) == (report.ok, report.first_bad_position, report.checked)
    assert report.reason.startswith("position 2: the stored event cannot be read: ")
    assert report.reason.count("position 2") == 1
    assert reason in report.reason


def test_a_future_schema_version_of_a_record_is_refused_on_read(path):
    _sql(
        path, "UPDATE records SET event = replace(event, '\"version\":1', '\"version\":9') WHERE position = 3"
    )
    rechain_sqlite(path)  # as written by a newer version

    with pt.open_log(path) as log, pytest.raises(pt.SerializationError, match=r"position 3.*version 9"):
        list(log.read())


def test_reading_never_rewrites_records(path):
    with sqlite3.connect(path) as conn:
        before = conn.execute("SELECT * FROM records ORDER BY position").fetchall()
    with pt.open_log(path) as log:
        list(log.read())
        log.verify()
    with sqlite3.connect(path) as conn:
        assert before == conn.execute("SELECT * FROM records ORDER BY position").fetchall()


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    _sql(path, "CREATE TABLE invoices (id INTEGER)")

    with pytest.raises(pt.SerializationError, match="not a policytracker log"):
        pt.open_log(path)


def test_a_newer_storage_schema_is_refused(path):
    _sql(path, "UPDATE policytracker_meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(pt.SerializationError, match="newer"):
        pt.open_log(path)


@pytest.mark.parametrize("value", ["2.0", "abc", "", " 2", "²", "-1", "9" * 5000])
def test_a_storage_schema_version_that_is_not_a_whole_number_is_refused(path, value, capsys):
    _sql(path, f"UPDATE policytracker_meta SET value = '{value}' WHERE key = 'schema_version'")

    with pytest.raises(pt.SerializationError, match=r"storage schema version .* is not a version number"):
        pt.open_log(path)
    assert 1 == main(["verify", str(path)])
    err = capsys.readouterr().err
    assert "is not a version number (digits only)" in err
    assert len(err) < 500


@pytest.mark.parametrize(
    ("country", "tags"),
    [("SV", None), (None, frozenset({"imf.refusal"})), ("SV", frozenset({"reserve.purchase"}))],
)
def test_filters_are_answered_through_indexes(path, country, tags):
    from policytracker._log.sqlite import SQLiteLog

    sql, params = SQLiteLog._query(0, country, tags)
    with sqlite3.connect(path) as conn:
        plan = " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    assert "SCAN r" not in plan, plan
    assert "SCAN records" not in plan, plan
    assert "INDEX" in plan or "PRIMARY KEY" in plan, plan


def test_the_journal_is_checkpointed_every_16_mb_and_cut_back_to_64_mb_and_pages_cached_up_to_16_mb(path):
    with pt.open_log(path) as log:
        conn = log._conn
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (4000,)
        assert conn.execute("PRAGMA journal_size_limit").fetchone() == (64 * 1024 * 1024,)
        assert conn.execute("PRAGMA cache_size").fetchone() == (-16384,)  # KiB: 16 MB


def test_a_large_append_leaves_no_journal_larger_than_the_limit(tmp_path, monkeypatch):
    from policytracker._log import sqlite as store

    monkeypatch.setattr(store, "_WAL_AUTOCHECKPOINT_PAGES", 16)
    monkeypatch.setattr(store, "_WAL_SIZE_LIMIT", 256 * 1024)
    path = tmp_path / "history.db"
    wal = tmp_path / "history.db-wal"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(amount) for amount in range(1, 3001)])
        grown = wal.stat().st_size
        log.append([purchase(5000)])  # the next commit checkpoints, then cuts the journal back
        assert grown > 256 * 1024
        assert wal.stat().st_size <= 256 * 1024
        assert len(log) == 3001
