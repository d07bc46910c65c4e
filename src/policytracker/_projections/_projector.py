"""``Projector``: projection state kept up to date as the log grows, and snapshots of it."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, cast

import attrs

from policytracker._events import Event
from policytracker._frozenmap import FrozenMap
from policytracker._log._core import EventLog
from policytracker._projections._core import Projection, fold
from policytracker._projections._country import COUNTRY_STATES
from policytracker._projections._history import Resolver, ValidKey, valid_time_key
from policytracker.exceptions import IntegrityError

__all__ = ["Projector", "Snapshot"]

S = TypeVar("S")
_ALL = "*"  # the one partition of a projection that is not per country


@attrs.frozen(kw_only=True)
class Snapshot(Generic[S]):
    """Projection state as of a log position, keyed by the projection's ``name`` and ``version`` and the
    log's ``position`` and ``digest`` there. A projector restored from it refuses a log or projection that
    does not match the key."""

    name: str
    version: int
    position: int
    digest: str
    state: S
    _internals: Any = attrs.field(alias="internals", repr=False, eq=False)


#: A partition keeps its state after every ``_CHECKPOINT`` events (in valid-time order), so that a
#: back-dated event refolds from the checkpoint before it instead of from the partition's first event.
_CHECKPOINT = 512


class _Internals:
    """Everything a projector needs to continue: the resolver, the effective events per partition in
    valid-time order, each partition's state, how many of its events that state has folded, and its
    checkpoints (``marks[i]``: the state after the first ``i * _CHECKPOINT`` events; ``marks[0]`` is None,
    the initial state)."""

    def __init__(self) -> None:
        self.resolver = Resolver()
        self.effective: dict[uuid.UUID, Event | None] = {}
        self.refs: dict[uuid.UUID, int] = {}
        self.lists: dict[str, list[tuple[ValidKey, Event]]] = {}
        self.states: dict[str, Any] = {}
        self.folded: dict[str, int] = {}
        self.marks: dict[str, list[Any]] = {}

    def copy(self) -> _Internals:
        other = _Internals()
        other.resolver = self.resolver.copy()
        other.effective = dict(self.effective)
        other.refs = dict(self.refs)
        other.lists = {key: list(value) for key, value in self.lists.items()}
        other.states = dict(self.states)
        other.folded = dict(self.folded)
        other.marks = {key: list(value) for key, value in self.marks.items()}
        return other


class Projector(Generic[S]):
    """Keeps ``state`` equal to ``project(log, projection)`` as the log grows: call :meth:`catch_up`.

    Events that arrive in valid-time order are folded in incrementally. A back-dated event, a retraction
    or a correction refolds only what it touches: for a per-country projection (one that gives
    ``fold_country``, such as the built-in ``COUNTRY_STATES``), the countries involved; for any other
    projection, the effective history (kept in memory). Each refold starts from a checkpoint (the state
    kept every 512 events), so it costs what lies after the change, not the whole history. The state of a
    per-country projection is a read-only mapping sorted by country code.
    """

    def __init__(self, log: EventLog, projection: Projection[Any] = COUNTRY_STATES) -> None:
        self._log = log
        self._projection: Projection[Any] = projection
        self._per_country = projection.per_country
        self._position = 0
        self._digest = ""
        self._data = _Internals()
        self._cached: Any = None

    @classmethod
    def from_snapshot(cls, log: EventLog, projection: Projection[S], snapshot: Snapshot[S]) -> Projector[S]:
        """A projector that continues from *snapshot*.

        Raises:
            ValueError: the snapshot was taken with another projection name or version.
            IntegrityError: *log* does not hold the record the snapshot was taken at (another log, or a
                damaged one).
        """
        if (snapshot.name, snapshot.version) != (projection.name, projection.version):
            raise ValueError(
                f"the snapshot is of {snapshot.name!r} version {snapshot.version}, not of "
                f"{projection.name!r} version {projection.version}"
            )
        if snapshot.position:
            record = next(log.read(after=snapshot.position - 1), None)
            if record is None or record.position != snapshot.position or record.digest != snapshot.digest:
                raise IntegrityError(
                    f"the snapshot was taken at position {snapshot.position} with digest "
                    f"{snapshot.digest[:12]}…, which this log does not hold: it is another log, or changed"
                )
        projector: Projector[S] = cls(log, projection)
        projector._position = snapshot.position
        projector._digest = snapshot.digest
        projector._data = cast(_Internals, snapshot._internals).copy()
        return projector

    @property
    def position(self) -> int:
        """The last log position folded in."""
        return self._position

    @property
    def state(self) -> S:
        """The projection state as of :attr:`position`."""
        if self._cached is None:
            if self._per_country:
                states = self._data.states
                self._cached = FrozenMap(
                    {code: states[code] for code in sorted(states) if states[code] is not None}
                )
            else:
                self._cached = self._data.states.get(_ALL, self._projection.initial)
        return cast(S, self._cached)

    def snapshot(self) -> Snapshot[S]:
        """The current state, keyed by projection name and version and by log position and digest."""
        return Snapshot(
            name=self._projection.name,
            version=self._projection.version,
            position=self._position,
            digest=self._digest,
            state=self.state,
            internals=self._data.copy(),
        )

    def catch_up(self) -> int:
        """Fold in every record appended since the last call; return how many there were."""
        data = self._data
        touched: dict[uuid.UUID, None] = {}
        count = 0
        for record in self._log.read(after=self._position):
            root = data.resolver.add(record.event)
            if root is not None:
                touched[root] = None
            self._position, self._digest = record.position, record.digest
            count += 1
        if touched:
            self._refresh(touched)
        return count

    def _partitions(self, event: Event) -> tuple[str, ...]:
        return event.countries if self._per_country else (_ALL,)

    def _refresh(self, roots: Mapping[uuid.UUID, None]) -> None:
        data = self._data
        first_change: dict[str, int] = {}  # partition -> index of its first changed entry
        for root in roots:
            old = data.effective.get(root)
            new = data.resolver.value(root)
            if old is not None and new is not None and old.event_id == new.event_id:
                continue
            data.effective[root] = new
            if old is not None and self._release(old):
                key = valid_time_key(old)
                for part in self._partitions(old):
                    entries = data.lists[part]
                    index = bisect.bisect_left(entries, key, key=_entry_key)
                    del entries[index]
                    first_change[part] = min(index, first_change.get(part, index))
            if new is not None and self._hold(new):
                key = valid_time_key(new)
                for part in self._partitions(new):
                    entries = data.lists.setdefault(part, [])
                    index = bisect.bisect_right(entries, key, key=_entry_key)
                    entries.insert(index, (key, new))
                    first_change[part] = min(index, first_change.get(part, index))
        for part, index in first_change.items():
            self._refold(part, index)
        self._cached = None

    def _refold(self, part: str, start: int) -> None:
        """Bring *part*'s state up to date after its entries changed from index *start* on: continue from
        the current state when only new entries follow it, else from the last checkpoint before *start*."""
        data = self._data
        entries = data.lists.get(part, [])
        if not entries:
            for table in (data.lists, data.states, data.folded, data.marks):
                table.pop(part, None)
            return
        marks = data.marks.setdefault(part, [None])
        if start >= data.folded.get(part, 0):
            begin, state = data.folded.get(part, 0), data.states.get(part)
        else:
            mark = start // _CHECKPOINT
            del marks[mark + 1 :]
            begin, state = mark * _CHECKPOINT, marks[mark]
        while begin < len(entries):
            end = min(len(entries), (begin // _CHECKPOINT + 1) * _CHECKPOINT)
            state = self._fold(part, [event for _, event in entries[begin:end]], state)
            begin = end
            if end % _CHECKPOINT == 0 and len(marks) == end // _CHECKPOINT:
                marks.append(state)
        data.states[part] = state
        data.folded[part] = len(entries)

    def _hold(self, event: Event) -> bool:
        """Count one more root resolving to *event*; True when it is the first (the fact is new)."""
        refs = self._data.refs
        refs[event.event_id] = refs.get(event.event_id, 0) + 1
        return refs[event.event_id] == 1

    def _release(self, event: Event) -> bool:
        refs = self._data.refs
        refs[event.event_id] -= 1
        if refs[event.event_id] == 0:
            del refs[event.event_id]
            return True
        return False

    def _fold(self, part: str, events: list[Event], state: Any) -> Any:
        """Fold *events* into *state*, the state of *part* (None: the initial state, or for a per-country
        projection no entry; it returns None while the events give *part* no entry)."""
        projection = self._projection
        if projection.fold_country is not None:
            return projection.fold_country(part, state, events)
        return fold(projection, events, state=projection.initial if state is None else state)


def _entry_key(entry: tuple[ValidKey, Event]) -> ValidKey:
    return entry[0]
