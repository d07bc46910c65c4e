"""The in-process store (``open_log(":memory:")``): for tests and scratch work; gone when closed."""

from __future__ import annotations

import bisect
import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence

from policytracker._log._base import BaseLog
from policytracker._log._core import Clock, NewRecord, StoredEvent, StoredRecord

__all__ = ["MemoryLog"]


class MemoryLog(BaseLog):
    """An ``EventLog`` held in a Python list. Thread-safe; not shared between processes."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(":memory:", clock)
        self._rows: list[NewRecord] = []
        self._by_id: dict[uuid.UUID, NewRecord] = {}
        self._states: dict[str, tuple[str, int, str, str, str]] = {}

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the base's mutex already serialises appends

    def _tail(self) -> tuple[int, str, str | None]:
        if not self._rows:
            return 0, "", None
        last = self._rows[-1]
        return last.position, last.digest, last.recorded_at

    def _lookup(
        self, ids: Mapping[uuid.UUID, str]
    ) -> Mapping[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]]:
        found: dict[uuid.UUID, tuple[StoredEvent, tuple[str, ...]]] = {}
        for event_id in ids:
            row = self._by_id.get(event_id)
            if row is not None:
                found[event_id] = (row.text, row.entry.countries)
        return found

    def _write(self, records: Sequence[NewRecord]) -> None:
        self._rows.extend(records)
        self._by_id.update((record.entry.event_id, record) for record in records)

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[StoredRecord]:
        start = bisect.bisect_right(self._rows, after, key=lambda row: row.position)
        for number in range(start, len(self._rows)):
            position, recorded_at, digest, text, index, _ = self._rows[number]
            if country is not None and country not in index.countries:
                continue
            if tags is not None and index.tag not in tags:
                continue
            previous = self._rows[number - 1] if number else None
            before = previous.digest if previous is not None and previous.position == position - 1 else None
            yield StoredRecord(position, recorded_at, digest, text, before)

    def _read_states(self) -> list[tuple[str, int, str, str, str]]:
        return [self._states[name] for name in sorted(self._states)]

    def _write_state(self, row: tuple[str, int, str, str, str]) -> None:
        self._states[row[0]] = row

    def _head(self) -> int:
        return len(self._rows)

    def _close(self) -> None:
        self._rows = []
        self._by_id = {}
