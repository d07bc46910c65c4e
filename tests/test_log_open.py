import subprocess
import sys

import pytest

import policytracker as pt


@pytest.mark.parametrize("target", ["history.csv", "history", "history.json"])
def test_unknown_targets_are_a_value_error(tmp_path, target):
    with pytest.raises(ValueError, match="cannot tell which store"):
        pt.open_log(tmp_path / target)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pt.open_log(tmp_path / "nowhere" / "history.db")


def test_an_unreachable_postgres_server_is_a_connection_error_without_the_password():
    with pytest.raises(ConnectionError) as info:
        pt.open_log("postgresql://analyst:secret@127.0.0.1:1/policy?connect_timeout=2")

    assert "secret" not in str(info.value)
    assert "analyst:***@127.0.0.1:1" in str(info.value)


def test_postgres_without_the_extra_names_the_extra():
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        "import policytracker as pt\n"
        "try:\n    pt.open_log('postgresql://analyst:secret@127.0.0.1/test')\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout

    assert "pip install 'policytracker[postgres]'" in output
    assert "secret" not in output


@pytest.mark.parametrize("suffix", [".db", ".sqlite", ".DB"])
def test_sqlite_suffixes_open_the_sqlite_store(tmp_path, suffix):
    with pt.open_log(tmp_path / f"history{suffix}") as log:
        assert "SQLiteLog" == type(log).__name__


def test_a_clock_must_be_callable():
    with pytest.raises(TypeError, match="clock"):
        pt.open_log(":memory:", clock="now")
