"""Locking a JSON Lines log between processes, on every platform: flock on POSIX, msvcrt on Windows, a
timeout with a clear error, and an import that works where ``fcntl`` does not exist."""

import fcntl
import subprocess
import sys
import textwrap

import pytest

import policytracker as pt
from policytracker._log.jsonl import JSONLinesLog
from tests.log_contract import purchase

# Stands in for Windows' msvcrt on this machine: exclusive, non-blocking byte-range locks (os.lockf uses
# POSIX record locks, which like Windows' LockFile are granted to one holder at a time).
FAKE_MSVCRT = """
import os, sys, types
msvcrt = types.ModuleType("msvcrt")
msvcrt.LK_UNLCK, msvcrt.LK_LOCK, msvcrt.LK_NBLCK, msvcrt.LK_RLCK, msvcrt.LK_NBRLCK = 0, 1, 2, 3, 4
msvcrt.calls = []
def locking(fd, mode, nbytes):
    msvcrt.calls.append((mode, os.lseek(fd, 0, os.SEEK_CUR), nbytes))
    os.lockf(fd, os.F_ULOCK if mode == msvcrt.LK_UNLCK else os.F_TLOCK, nbytes)
msvcrt.locking = locking
sys.modules["msvcrt"] = msvcrt
"""


def _run(script, *args):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)], capture_output=True, text=True
    )


def test_the_library_imports_and_works_without_fcntl(tmp_path):
    result = _run(
        """
        import sys
        sys.modules["fcntl"] = None  # as on Windows: import fcntl raises ImportError
        import policytracker as pt

        event = pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)
        for target in (":memory:", sys.argv[1]):
            with pt.open_log(target) as log:
                log.append([event])
                assert [event] == [record.event for record in log.read()]
                assert log.verify().ok
        try:
            pt.open_log(sys.argv[2])
        except ImportError as exc:
            print(exc)
        """,
        tmp_path / "history.db",
        tmp_path / "history.jsonl",
    )

    assert 0 == result.returncode, result.stderr
    assert "JSON Lines logs need a file lock" in result.stdout
    assert "use a .db (SQLite) log" in result.stdout


def test_json_lines_logs_lock_with_msvcrt_where_there_is_no_fcntl(tmp_path):
    path = tmp_path / "history.jsonl"
    result = _run(
        FAKE_MSVCRT
        + """
import os
sys.modules["fcntl"] = None
del os.pread  # Windows has no pread either
import policytracker as pt

with pt.open_log(sys.argv[1]) as log:
    log.append([pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)])
    log.append([pt.ReservePurchase(occurred="2025-05", country="SV", amount=1)])
    assert 2 == log.head
    assert ["1", "7"] == [str(event.amount) for event in pt.effective_events(log.read())]
    assert "8" == str(pt.country_state(log, "SV").holdings["BTC"])
    assert log.verify().ok
modes = {mode for mode, _, _ in msvcrt.calls}
assert {msvcrt.LK_NBLCK, msvcrt.LK_UNLCK} == modes, modes
assert {(0, 1)} == {(offset, size) for _, offset, size in msvcrt.calls}
print("locked", len(msvcrt.calls) // 2, "times")
""",
        path,
    )

    assert 0 == result.returncode, result.stderr
    assert "locked" in result.stdout
    assert (tmp_path / "history.jsonl.lock").exists()
    with pt.open_log(path) as log:
        assert log.verify().ok
        assert 2 == log.head


def test_a_windows_lock_held_too_long_is_a_concurrency_error_naming_the_log(tmp_path):
    path = tmp_path / "history.jsonl"
    with pt.open_log(path) as log:
        log.append([purchase()])
    lock = open(f"{path}.lock", "a+b")  # noqa: SIM115 - held for the whole test
    try:
        import os

        os.lockf(lock.fileno(), os.F_LOCK, 1)  # another process holds the log
        result = _run(
            FAKE_MSVCRT
            + """
sys.modules["fcntl"] = None
import policytracker as pt
from policytracker._log.jsonl import JSONLinesLog

with JSONLinesLog(sys.argv[1], timeout=0.2) as log:
    try:
        log.append([pt.ReservePurchase(occurred="2025-06", country="SV", amount=8)])
    except pt.ConcurrencyError as exc:
        print(exc)
""",
            path,
        )
    finally:
        lock.close()

    assert 0 == result.returncode, result.stderr
    assert f"{path}: another process has held the log's lock for 0.2 s; retry" in result.stdout


def test_a_posix_lock_held_too_long_is_a_concurrency_error_naming_the_log(tmp_path):
    path = tmp_path / "history.jsonl"
    with open(path, "a+b") as other:  # another open file: flock treats it as another process
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with JSONLinesLog(path, timeout=0.2) as log:
            with pytest.raises(pt.ConcurrencyError) as info:
                log.append([purchase()])
            with pytest.raises(pt.ConcurrencyError):
                _ = log.head  # readers wait for a writer too

    assert f"{path}: another process has held the log's lock for 0.2 s; retry" in str(info.value)
    with pt.open_log(path) as log:
        assert 0 == log.head


def test_readers_share_the_posix_lock(tmp_path):
    path = tmp_path / "history.jsonl"
    with pt.open_log(path) as log:
        log.append([purchase()])
    with open(path, "rb") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_SH)  # another reader
        with JSONLinesLog(path, timeout=0.2) as log:
            assert 1 == log.head
            with pytest.raises(pt.ConcurrencyError):
                log.append([purchase(8)])


def test_a_lock_released_while_waiting_is_taken(tmp_path):
    path = tmp_path / "history.jsonl"
    script = """
        import fcntl, sys, time
        with open(sys.argv[1], "a+b") as other:
            fcntl.flock(other.fileno(), fcntl.LOCK_EX)
            print("locked", flush=True)
            time.sleep(0.3)
        """
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), str(path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert "locked" == holder.stdout.readline().strip()
        with JSONLinesLog(path, timeout=10) as log:
            log.append([purchase()])
            assert 1 == log.head
