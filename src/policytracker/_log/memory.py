"""The in-process store (``open_log(":memory:")``): for tests and scratch work; gone when closed."""

from __future__ import annotations

import bisect
import contextlib
import uuid
from collections.abc import Iterator, Mapping, Sequence

from policytracker._log._core import Clock, _BaseLog, _Row

__all__ = ["MemoryLog"]


class MemoryLog(_BaseLog):
    """An ``EventLog`` held in a Python list. Thread-safe; not shared between processes."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(":memory:", clock)
        self._rows: list[_Row] = []
        self._by_id: dict[uuid.UUID, _Row] = {}

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the base's mutex already serialises appends

    def _tail(self) -> tuple[int, str, str | None]:
        if not self._rows:
            return 0, "", None
        last = self._rows[-1]
        return last.position, last.digest, last.recorded_at

    def _lookup(self, ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, tuple[str, tuple[str, ...]]]:
        found = {}
        for event_id in ids:
            row = self._by_id.get(event_id)
            if row is not None:
                found[event_id] = (row.event_json, row.countries)
        return found

    def _write(self, rows: Sequence[_Row]) -> None:
        self._rows.extend(rows)
        self._by_id.update((row.event_id, row) for row in rows)

    def _scan(self, after: int, country: str | None, tags: frozenset[str] | None) -> Iterator[_Row]:
        start = bisect.bisect_right(self._rows, after, key=lambda row: row.position)
        for index in range(start, len(self._rows)):
            row = self._rows[index]
            if country is not None and country not in row.countries:
                continue
            if tags is not None and row.tag not in tags:
                continue
            yield row

    def _head(self) -> int:
        return len(self._rows)

    def _close(self) -> None:
        self._rows = []
        self._by_id = {}
