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
from policytracker._projections._country import _HANDLERS, COUNTRY_STATES, CountryState, _Builder
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


class _Internals:
    """Everything a projector needs to continue: the resolver and the effective events per partition."""

    def __init__(self) -> None:
        self.resolver = Resolver()
        self.effective: dict[uuid.UUID, Event | None] = {}
        self.refs: dict[uuid.UUID, int] = {}
        self.lists: dict[str, list[tuple[ValidKey, Event]]] = {}
        self.states: dict[str, Any] = {}

    def copy(self) -> _Internals:
        other = _Internals()
        source = self.resolver
        target = other.resolver
        target.originals = dict(source.originals)
        target.corrections = dict(source.corrections)
        target.retractions = dict(source.retractions)
        target.corrected_by = {key: list(value) for key, value in source.corrected_by.items()}
        target.retracted_by = {key: list(value) for key, value in source.retracted_by.items()}
        target.root = dict(source.root)
        other.effective = dict(self.effective)
        other.refs = dict(self.refs)
        other.lists = {key: list(value) for key, value in self.lists.items()}
        other.states = dict(self.states)
        return other


class Projector(Generic[S]):
    """Keeps ``state`` equal to ``project(log, projection)`` as the log grows: call :meth:`catch_up`.

    Events that arrive in valid-time order are folded in incrementally. A back-dated event, a retraction
    or a correction refolds only what it touches: for the built-in ``COUNTRY_STATES`` projection, the
    countries involved; for any other projection, the whole effective history (kept in memory).
    """

    def __init__(self, log: EventLog, projection: Projection[Any] = COUNTRY_STATES) -> None:
        self._log = log
        self._projection: Projection[Any] = projection
        self._per_country = projection is COUNTRY_STATES
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
                self._cached = FrozenMap({code: states[code] for code in sorted(states)})
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
        if not self._per_country:
            return (_ALL,)
        return event.countries if type(event) in _HANDLERS else ()

    def _refresh(self, roots: Mapping[uuid.UUID, None]) -> None:
        data = self._data
        appended: dict[str, list[Event]] = {}
        dirty: set[str] = set()
        for root in roots:
            old = data.effective.get(root)
            new = data.resolver.value(root)
            if old is not None and new is not None and old.event_id == new.event_id:
                continue
            data.effective[root] = new
            if old is not None and self._release(old):
                for part in self._partitions(old):
                    dirty.add(part)
                    entries = data.lists[part]
                    del entries[bisect.bisect_left(entries, valid_time_key(old), key=lambda item: item[0])]
            if new is not None and self._hold(new):
                key = valid_time_key(new)
                for part in self._partitions(new):
                    entries = data.lists.setdefault(part, [])
                    if part not in dirty and (not entries or entries[-1][0] < key):
                        appended.setdefault(part, []).append(new)
                    else:
                        dirty.add(part)
                    bisect.insort(entries, (key, new), key=lambda item: item[0])
        for part, events in appended.items():
            if part not in dirty:
                data.states[part] = self._fold(part, events, data.states.get(part))
        for part in dirty:
            entries = data.lists.get(part, [])
            if entries:
                data.states[part] = self._fold(part, [event for _, event in entries], None)
            else:
                data.lists.pop(part, None)
                data.states.pop(part, None)
        self._cached = None

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
        if not self._per_country:
            return fold(self._projection, events, state=self._projection.initial if state is None else state)
        builder = _Builder(state if state is not None else CountryState(country=part))
        for event in events:
            builder.apply(event)
        return builder.freeze()
