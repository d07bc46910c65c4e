import pytest

import policytracker as pt


@pytest.mark.parametrize("target", ["history.csv", "history", "history.json"])
def test_unknown_targets_are_a_value_error(tmp_path, target):
    with pytest.raises(ValueError, match="cannot tell which store"):
        pt.open_log(tmp_path / target)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pt.open_log(tmp_path / "nowhere" / "history.db")


def test_postgres_targets_hide_passwords_in_errors():
    with pytest.raises(ValueError, match="PostgreSQL") as info:
        pt.open_log("postgresql://analyst:secret@db.example/policy")

    assert "secret" not in str(info.value)


@pytest.mark.parametrize("suffix", [".db", ".sqlite", ".DB"])
def test_sqlite_suffixes_open_the_sqlite_store(tmp_path, suffix):
    with pt.open_log(tmp_path / f"history{suffix}") as log:
        assert "SQLiteLog" == type(log).__name__


def test_a_clock_must_be_callable():
    with pytest.raises(TypeError, match="clock"):
        pt.open_log(":memory:", clock="now")
