"""Whole-file locks between processes, for the JSON Lines store: shared for readers, exclusive for writers.

- POSIX (Linux, macOS, the BSDs): ``fcntl.flock`` on the log file itself, shared or exclusive.
- Windows: ``msvcrt.locking`` on one byte of a sidecar file, ``<log>.lock``, which is left in place (removing
  it could let two processes lock two different files). Windows locks are exclusive only, so readers take
  turns with each other as well as with writers; and they are mandatory, which is why the log's own bytes
  are never locked: another process could not read them while the lock is held.

A lock is tried without blocking and retried until *timeout* seconds have passed; then
:class:`~policytracker.exceptions.ConcurrencyError` names the log. Where neither module exists, opening a
JSON Lines log is an ``ImportError`` that says so (the other stores need no file lock).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import IO

from policytracker.exceptions import ConcurrencyError

__all__ = ["DEFAULT_TIMEOUT", "FileLock"]

fcntl: ModuleType | None
msvcrt: ModuleType | None
try:
    import fcntl
except ImportError:
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None

#: Seconds to wait for another process's lock, as SQLite logs wait for theirs.
DEFAULT_TIMEOUT = 30.0
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05


class FileLock:
    """The inter-process lock of the log file *path*, opened as *file*; errors name *target*."""

    def __init__(self, file: IO[bytes], path: Path, target: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._target = target
        self._timeout = timeout
        self._os_lock: _PosixLock | _WindowsLock
        if fcntl is not None:
            self._os_lock = _PosixLock(fcntl, file.fileno())
        elif msvcrt is not None:
            self._os_lock = _WindowsLock(msvcrt, path)
        else:
            raise ImportError(
                f"{target}: JSON Lines logs need a file lock between processes, from fcntl (POSIX) or msvcrt "
                "(Windows), and this Python has neither; use a .db (SQLite) log"
            )

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock as a reader (on Windows, alone)."""
        with self._held(exclusive=False):
            yield

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock as the one writer."""
        with self._held(exclusive=True):
            yield

    def close(self) -> None:
        self._os_lock.close()

    @contextlib.contextmanager
    def _held(self, *, exclusive: bool) -> Iterator[None]:
        if not self._os_lock.take(exclusive):
            self._wait(exclusive)
        try:
            yield
        finally:
            self._os_lock.release()

    def _wait(self, exclusive: bool) -> None:
        deadline = time.monotonic() + self._timeout
        pause = _FIRST_PAUSE
        while time.monotonic() < deadline:
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            if self._os_lock.take(exclusive):
                return
            pause = min(pause * 2, _LONGEST_PAUSE)
        raise ConcurrencyError(
            f"{self._target}: another process has held the log's lock for {self._timeout:g} s; retry"
        )


class _PosixLock:
    """``flock`` on the log file itself."""

    def __init__(self, fcntl: ModuleType, fd: int) -> None:
        self._fcntl = fcntl
        self._fd = fd

    def take(self, exclusive: bool) -> bool:
        """Take the lock if no other process holds it (in a conflicting mode); say whether it was taken."""
        mode = self._fcntl.LOCK_EX if exclusive else self._fcntl.LOCK_SH
        try:
            self._fcntl.flock(self._fd, mode | self._fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        self._fcntl.flock(self._fd, self._fcntl.LOCK_UN)

    def close(self) -> None:
        """Nothing to do: the lock goes with the log's file."""


class _WindowsLock:
    """``msvcrt.locking`` of the first byte of the sidecar file ``<log>.lock``, exclusive either way."""

    def __init__(self, msvcrt: ModuleType, path: Path) -> None:
        self._msvcrt = msvcrt
        self._fd: int | None = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT | _BINARY, 0o666)

    def take(self, exclusive: bool) -> bool:
        try:
            self._locking(self._msvcrt.LK_NBLCK)
        except OSError:  # held by another process (EACCES, or EDEADLOCK)
            return False
        return True

    def release(self) -> None:
        self._locking(self._msvcrt.LK_UNLCK)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _locking(self, mode: int) -> None:
        if self._fd is None:
            raise ValueError("the log is closed")
        os.lseek(self._fd, 0, os.SEEK_SET)  # msvcrt locks from the current position
        self._msvcrt.locking(self._fd, mode, 1)


_BINARY: int = getattr(os, "O_BINARY", 0)
