"""Opening a SQLite log: readers take no write lock, read-only files and folders can be read, and a file
that is not a healthy SQLite log is refused with a policytracker error naming it."""

import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

import policytracker as pt
from policytracker._log.sqlite import SQLiteLog
from tests.log_contract import StepClock, purchase, small_sqlite_history

#: Well under the 30 s a writer waits for the write lock: a reader that waited for it would fail this.
PROMPT = 5.0

_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO record_countries (country, position) VALUES ('ZZ', 999)")
print("holding", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""

root_ignores_permissions = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write any file"
)


@pytest.fixture
def path(tmp_path):
    return small_sqlite_history(tmp_path)


def _hold_the_lock(path):
    """Another process in the middle of a write: it holds SQLite's write lock until its input ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert "holding" == holder.stdout.readline().strip()
    return holder


@pytest.fixture
def writer_holding_the_lock(path):
    holder = _hold_the_lock(path)
    yield holder
    holder.communicate("", timeout=30)


def _everything_a_reader_does(path):
    with pt.open_log(path) as log:
        return (
            log.head,
            [record.position for record in log.read()],
            log.verify().ok,
            sorted(pt.country_states(log)),
        )


EVERYTHING = (4, [1, 2, 3, 4], True, ["PK", "SV"])


@pytest.mark.usefixtures("writer_holding_the_lock")
def test_a_reader_is_never_blocked_by_a_writer_holding_the_lock(path):
    started = time.monotonic()

    assert EVERYTHING == _everything_a_reader_does(path)
    assert time.monotonic() - started < PROMPT


@pytest.mark.usefixtures("writer_holding_the_lock")
def test_an_append_waits_for_the_writer_and_then_says_so(path):
    with SQLiteLog(path, timeout=0.2) as log, pytest.raises(pt.ConcurrencyError, match="write lock"):
        log.append([purchase(9)])


def test_opening_a_current_log_takes_no_write_lock(path, monkeypatch):
    def refuse(self):
        raise AssertionError("the write lock was taken")

    monkeypatch.setattr(SQLiteLog, "_transaction", refuse)

    assert EVERYTHING == _everything_a_reader_does(path)


def test_a_log_opened_read_only_reads_everything(path):
    with SQLiteLog(path, read_only=True) as log:
        assert EVERYTHING == (
            log.head,
            [record.position for record in log.read()],
            log.verify().ok,
            sorted(pt.country_states(log)),
        )


def test_appending_to_a_log_opened_read_only_is_a_permission_error_naming_the_file(path):
    with SQLiteLog(path, read_only=True) as log, pytest.raises(PermissionError) as info:
        log.append([purchase(9)])

    assert str(path) in str(info.value)
    assert "read-only" in str(info.value)
    assert 1 == len(str(info.value).splitlines())
    assert EVERYTHING == _everything_a_reader_does(path)


def test_a_log_opened_read_only_sees_a_later_append(path):
    with SQLiteLog(path, read_only=True) as reader, pt.open_log(path, clock=StepClock()) as writer:
        writer.append([purchase(9)])

        assert 5 == reader.head


def test_a_missing_log_cannot_be_opened_read_only(tmp_path):
    with pytest.raises(FileNotFoundError, match="no log"):
        SQLiteLog(tmp_path / "missing.db", read_only=True)


def _read_only(folder, path):
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)


@pytest.fixture
def read_only_folder(path):
    _read_only(path.parent, path)
    yield path
    os.chmod(path.parent, 0o755)
    os.chmod(path, 0o644)


@root_ignores_permissions
def test_a_log_in_a_read_only_folder_is_read(read_only_folder):
    assert EVERYTHING == _everything_a_reader_does(read_only_folder)


@root_ignores_permissions
def test_appending_to_a_log_in_a_read_only_folder_is_a_permission_error_naming_the_file(read_only_folder):
    with pt.open_log(read_only_folder) as log, pytest.raises(PermissionError, match="read-only") as info:
        log.append([purchase(9)])

    assert str(read_only_folder) in str(info.value)


@root_ignores_permissions
def test_a_read_only_log_in_a_writable_folder_is_read(path):
    os.chmod(path, 0o444)

    assert EVERYTHING == _everything_a_reader_does(path)


@root_ignores_permissions
def test_a_log_in_a_read_only_folder_is_read_while_its_writer_holds_the_lock(path, tmp_path):
    os.chmod(path, 0o644)
    with pt.open_log(path, clock=StepClock()) as writer:
        writer.append([purchase(9)])  # still open: its journal holds the last append
        holder = _hold_the_lock(path)
        os.chmod(tmp_path, 0o555)
        try:
            started = time.monotonic()
            with pt.open_log(path) as log:
                assert (5, True) == (log.head, log.verify().ok)
            assert time.monotonic() - started < PROMPT
        finally:
            os.chmod(tmp_path, 0o755)
            holder.communicate("", timeout=30)


@root_ignores_permissions
def test_creating_a_log_in_a_read_only_folder_is_a_permission_error_naming_it(tmp_path):
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(PermissionError, match="cannot create the log") as info:
            pt.open_log(tmp_path / "new.db")
    finally:
        os.chmod(tmp_path, 0o755)

    assert str(tmp_path / "new.db") in str(info.value)


# -- files that are not a healthy SQLite log ----------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_a_serialization_error_naming_it(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)

    with pytest.raises(pt.SerializationError, match="not a SQLite database") as info:
        pt.open_log(path)

    assert str(path) in str(info.value)


def test_a_truncated_log_is_an_integrity_error_naming_it(path, tmp_path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executemany(
        "INSERT INTO policytracker_meta (key, value) VALUES (?, ?)",
        [(f"padding {n}", "x" * 2000) for n in range(50)],
    )
    conn.close()  # the last connection to close writes the journal back into the file
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(path.read_bytes()[: path.stat().st_size // 3])

    with pytest.raises(pt.IntegrityError, match="damaged") as info:
        _everything_a_reader_does(damaged)

    assert str(damaged) in str(info.value)


def test_a_folder_named_like_a_log_is_an_is_a_directory_error_naming_it(tmp_path):
    path = tmp_path / "history.db"
    path.mkdir()

    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        pt.open_log(path)

    assert str(path) in str(info.value)


def test_an_empty_file_becomes_a_new_log(tmp_path):
    path = tmp_path / "history.db"
    path.touch()

    with pt.open_log(path) as log:
        assert 0 == log.head


def test_a_copy_of_a_log_is_read_like_the_original(path, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)

    assert EVERYTHING == _everything_a_reader_does(copy)


def test_a_log_read_in_a_folder_it_cannot_write_sees_a_later_writer_s_appends(path, monkeypatch):
    from policytracker._log import sqlite as store

    monkeypatch.setattr(store, "_writable", lambda target: target != path.parent)
    with pt.open_log(path) as reader:
        assert (True, 4) == (reader.read_only, reader.head)
        monkeypatch.undo()
        with pt.open_log(path, clock=StepClock()) as writer:
            writer.append([purchase(9)])

            assert 5 == reader.head
            assert [1, 2, 3, 4, 5] == [record.position for record in reader.read()]
