"""verify() checks everything a read uses, and a kept checkpoint shows records cut off the log's end."""

import os
import sqlite3

import pytest

import policytracker as pt
from tests.log_contract import partnership, purchase, refusal

EVENTS = [partnership(), purchase(), refusal(), purchase(amount=8, country="PK")]


def _sqlite_log(tmp_path):
    path = tmp_path / "log.db"
    with pt.open_log(path) as log:
        log.append(EVENTS[:2])
        log.append(EVENTS[2:])
    return path


def _tamper(path, *statements):
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def _verified(tmp_path, *statements):
    """verify()'s report on the SQLite test log after *statements* changed it."""
    path = _sqlite_log(tmp_path)
    _tamper(path, *statements)
    with pt.open_log(path) as log:
        return log.verify()


@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE records SET type = 'reserve.sale' WHERE position = 2", "type"),
        (
            "UPDATE records SET event_id = '00000000-0000-0000-0000-000000000007' WHERE position = 2",
            "event_id",
        ),
        ("UPDATE records SET countries = 'PK' WHERE position = 1", "countries"),
        ("UPDATE records SET vt_earliest = 1 WHERE position = 3", "valid-time"),
        ("UPDATE records SET vt_rank = 1 WHERE position = 2", "valid-time"),
        ("DELETE FROM record_countries WHERE position = 1 AND country = 'SV'", "country index"),
        ("INSERT INTO record_countries (country, position) VALUES ('US', 4)", "country index"),
    ],
)
def test_a_changed_index_column_is_reported_with_its_position_and_column(tmp_path, statement, column):
    report = _verified(tmp_path, statement)

    assert (False, int(statement.split("position = ")[-1][0]) if "position =" in statement else 4) == (
        report.ok,
        report.first_bad_position,
    )
    assert column in report.reason


@pytest.mark.parametrize(
    ("position", "shown"),
    [("5", "5"), ("1000", "1000"), ("0", "0"), ("-3", "-3"), ("2.5", "2.5"), ("'x'", "'x'")],
)
def test_a_country_index_row_for_a_position_the_log_does_not_hold_is_reported(tmp_path, position, shown):
    # Reads pass over such a row, but the next append at that position would put its record under the
    # row's country too. The records are intact, so no record's position is named as the first bad one.
    report = _verified(
        tmp_path, f"INSERT INTO record_countries (country, position) VALUES ('US', {position})"
    )

    assert (False, None, 4) == (report.ok, report.first_bad_position, report.head)
    assert f"country index lists position {shown} (for 'US')" in report.reason


def test_a_country_index_row_reason_shows_control_characters_as_escapes(tmp_path):
    report = _verified(
        tmp_path, "INSERT INTO record_countries (country, position) VALUES (char(27) || '[2J' || char(10), 9)"
    )

    assert not report.ok
    assert r"\x1b[2J\n" in report.reason
    assert not any(character in report.reason for character in "\x1b\n")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE record_countries SET country = CAST(country AS BLOB) WHERE position = 2",
        "UPDATE records SET countries = CAST(countries AS BLOB) WHERE position = 2",
        "UPDATE records SET type = CAST(type AS BLOB) WHERE position = 2",
    ],
)
def test_an_index_value_stored_as_bytes_is_reported(tmp_path, statement):
    # A read selecting 'SV' does not match the bytes b'SV', so it would leave the record out.
    report = _verified(tmp_path, statement)

    assert (False, 2) == (report.ok, report.first_bad_position)


def test_an_append_after_a_country_index_row_beyond_the_head_is_reported_by_verify(tmp_path):
    path = _sqlite_log(tmp_path)
    _tamper(path, "INSERT INTO record_countries (country, position) VALUES ('US', 5)")

    with pt.open_log(path) as log:
        log.append([purchase(amount=9)])
        report = log.verify()

    assert (False, 5) == (report.ok, report.first_bad_position)
    assert "country index" in report.reason


def test_an_intact_log_reports_its_head_and_head_digest(tmp_path):
    path = _sqlite_log(tmp_path)
    with pt.open_log(path) as log:
        report = log.verify()
        last = list(log.read())[-1]

    assert (True, 4, 4, last.digest) == (report.ok, report.checked, report.head, report.head_digest)


def test_an_empty_log_reports_head_zero(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        assert (True, 0, "") == (log.verify().ok, log.verify().head, log.verify().head_digest)


@pytest.mark.parametrize("target", [":memory:", "log.db", "log.jsonl"])
def test_a_checkpoint_that_still_holds_verifies(tmp_path, target):
    with pt.open_log(target if target == ":memory:" else tmp_path / target) as log:
        log.append(EVENTS[:2])
        checkpoint = log.verify()
        log.append(EVENTS[2:])

        report = log.verify(expect=(checkpoint.head, checkpoint.head_digest))

    assert (True, 4) == (report.ok, report.head)


def test_records_cut_off_the_end_fail_against_a_checkpoint(tmp_path):
    path = _sqlite_log(tmp_path)
    with pt.open_log(path) as log:
        checkpoint = log.verify()
    _tamper(path, "DELETE FROM record_countries WHERE position = 4", "DELETE FROM records WHERE position = 4")

    with pt.open_log(path) as log:
        assert log.verify().ok  # the chain alone cannot tell
        report = log.verify(expect=(checkpoint.head, checkpoint.head_digest))

    assert (False, 4) == (report.ok, report.first_bad_position)
    assert "cut off" in report.reason


def test_a_jsonl_log_cut_short_fails_against_a_checkpoint(tmp_path):
    path = tmp_path / "log.jsonl"
    with pt.open_log(path) as log:
        for event in EVENTS:  # one append each: a cut between appends only a checkpoint can see
            log.append([event])
        checkpoint = log.verify()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))

    with pt.open_log(path) as log:
        report = log.verify(expect=(checkpoint.head, checkpoint.head_digest))

    assert (False, 4) == (report.ok, report.first_bad_position)


def test_a_checkpoint_of_another_log_fails(tmp_path):
    path = _sqlite_log(tmp_path)
    with pt.open_log(path) as log:
        report = log.verify(expect=(2, "ab" * 32))

    assert (False, 2) == (report.ok, report.first_bad_position)
    assert "not the checkpoint's" in report.reason


@pytest.mark.parametrize(
    "expect", [(0, "ab" * 32), (1, "AB" * 32), (1, "ab"), ("1", "ab" * 32), "1:ab", (1,)]
)
def test_a_malformed_checkpoint_is_refused(tmp_path, expect):
    with pt.open_log(tmp_path / "log.db") as log, pytest.raises(pt.ValidationError, match="expect"):
        log.verify(expect=expect)


@pytest.mark.skipif(
    not os.environ.get("POLICYTRACKER_TEST_POSTGRES"), reason="needs POLICYTRACKER_TEST_POSTGRES"
)
@pytest.mark.parametrize(
    ("statement", "column"),
    [
        ("UPDATE policytracker_records SET type = 'reserve.sale' WHERE position = 2", "type"),
        ("UPDATE policytracker_records SET countries = '{PK}' WHERE position = 1", "countries"),
        ("INSERT INTO policytracker_record_countries (country, position) VALUES ('US', 2)", "country index"),
    ],
)
def test_a_changed_postgres_index_column_is_reported(statement, column):
    import psycopg

    from tests.test_log_postgres import fresh_schema

    with fresh_schema() as url:
        with pt.open_log(url) as log:
            log.append(EVENTS)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)
        with pt.open_log(url) as log:
            report = log.verify()

    assert (False, int(statement.rsplit("position = ", 1)[-1][0]) if "position =" in statement else 2) == (
        report.ok,
        report.first_bad_position,
    )
    assert column in report.reason


@pytest.mark.skipif(
    not os.environ.get("POLICYTRACKER_TEST_POSTGRES"), reason="needs POLICYTRACKER_TEST_POSTGRES"
)
@pytest.mark.parametrize("position", [5, 0])
def test_a_postgres_country_index_row_for_a_position_the_log_does_not_hold_is_reported(position):
    import psycopg

    from tests.test_log_postgres import fresh_schema

    with fresh_schema() as url:
        with pt.open_log(url) as log:
            log.append(EVENTS)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO policytracker_record_countries (country, position) VALUES ('US', %s)",
                (position,),
            )
        with pt.open_log(url) as log:
            report = log.verify()

    assert (False, None, 4) == (report.ok, report.first_bad_position, report.head)
    assert f"country index lists position {position} (for 'US')" in report.reason


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE records SET type = 'reserve.sale' WHERE position = 2",
        "UPDATE records SET vt_earliest = 1, vt_latest = 2 WHERE position = 2",
        "DELETE FROM record_countries WHERE position = 2",
    ],
)
def test_a_log_with_a_changed_index_column_is_never_copied(tmp_path, statement):
    path = _sqlite_log(tmp_path)
    _tamper(path, statement)

    with pytest.raises(pt.IntegrityError, match=r"cannot copy.*position 2"):
        pt.copy_log(path, tmp_path / "copy.jsonl")


def test_damage_before_a_checkpoint_says_the_records_were_committed(tmp_path):
    path = tmp_path / "log.jsonl"
    with pt.open_log(path) as log:
        log.append(EVENTS)
        checkpoint = log.verify()
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"\n") + 20])  # a cut in the middle of the second line

    with pt.open_log(path) as log:
        report = log.verify(expect=(checkpoint.head, checkpoint.head_digest))

    assert not report.ok
    assert "committed: restore the log from a copy" in report.reason


@pytest.mark.parametrize(
    ("index", "columns"),
    [
        ("records_by_valid_time", "vt_earliest, vt_latest, vt_rank, event_id"),
        ("records_by_type", "type, position"),
    ],
)
def test_a_sqlite_index_that_leaves_records_out_is_reported(tmp_path, index, columns):
    # The schema says the index is whole, but its entries leave position 2 out: reads through it would
    # skip that record without a word.
    report = _verified(
        tmp_path,
        f"DROP INDEX {index}",
        f"CREATE INDEX {index} ON records ({columns}) WHERE position <> 2",
        "PRAGMA writable_schema = ON",
        f"UPDATE sqlite_master SET sql = 'CREATE INDEX {index} ON records ({columns})' "
        f"WHERE name = '{index}'",
    )

    assert (False, None, 4) == (report.ok, report.first_bad_position, report.head)
    assert f"the index {index} holds 3 of the 4 records" in report.reason


def test_a_sqlite_index_whose_entries_are_not_its_records_is_reported(tmp_path):
    # An extra index the planner may prefer, whose schema says it is whole while its entries leave a
    # record out: only SQLite's own integrity check compares each index with the table.
    report = _verified(
        tmp_path,
        "CREATE INDEX records_by_kind ON records (type, position) WHERE position <> 2",
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = 'CREATE INDEX records_by_kind ON records (type, position)' "
        "WHERE name = 'records_by_kind'",
    )

    assert (False, None) == (report.ok, report.first_bad_position)
    assert "SQLite's integrity check" in report.reason
    assert "records_by_kind" in report.reason


def test_a_sqlite_index_declared_in_another_order_than_its_entries_is_reported(tmp_path):
    # Reads through an index declared descending would stream the records in reverse valid-time order.
    report = _verified(
        tmp_path,
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = 'CREATE INDEX records_by_valid_time ON records (vt_earliest DESC, "
        "vt_latest DESC, vt_rank DESC, event_id DESC)' WHERE name = 'records_by_valid_time'",
    )

    assert not report.ok
    assert "SQLite's integrity check" in report.reason
