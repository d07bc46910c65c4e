"""``changes``: what the log learned between two moments of record time, and what that changed."""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pendulum

from policytracker._events import AMENDMENT_TAGS, Event, EventCorrected, EventRetracted
from policytracker._frozenmap import FrozenMap
from policytracker._log import EventLog, Recorded
from policytracker._projections import CountryState, country_state
from policytracker._projections._history import AsOf, KnownAt, check_as_of, check_known_at
from policytracker.exceptions import ValidationError

__all__ = ["Changes", "changes"]


def _frozen(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


@attrs.frozen(kw_only=True)
class Changes:
    """What the log learned after ``since`` up to ``until`` (UTC moments; ``until`` None: up to its last
    record), and what that changed: the bitemporal difference :func:`changes` returns.

    - ``recorded``: every record stored in that window, in position order; ``added``, ``retractions`` and
      ``corrections`` split them by kind;
    - ``targets``: event id → the event each of those retractions and corrections amends (which may have
      been recorded long before ``since``);
    - ``before`` and ``after``: for every country the window's records touch (a retraction or correction
      touches the countries of what it amends, and of its replacement), its state as known at ``since``
      and as known at ``until``, both as of ``as_of`` (None: every date); ``changed`` lists the countries
      whose state differs.
    """

    since: pendulum.DateTime
    until: pendulum.DateTime | None
    as_of: pendulum.Date | None
    recorded: tuple[Recorded, ...]
    targets: Mapping[uuid.UUID, Event] = attrs.field(converter=_frozen)
    before: Mapping[str, CountryState] = attrs.field(converter=_frozen)
    after: Mapping[str, CountryState] = attrs.field(converter=_frozen)

    @property
    def countries(self) -> tuple[str, ...]:
        """The countries the window's records touch, sorted."""
        return tuple(self.after)

    @property
    def changed(self) -> tuple[str, ...]:
        """The countries whose state as known at ``until`` differs from their state as known at ``since``."""
        return tuple(code for code in self.after if self.after[code] != self.before[code])

    @property
    def added(self) -> tuple[Recorded, ...]:
        """The window's records of new facts (neither retractions nor corrections)."""
        return tuple(r for r in self.recorded if not isinstance(r.event, EventRetracted | EventCorrected))

    @property
    def retractions(self) -> tuple[Recorded, ...]:
        """The window's records of retractions."""
        return tuple(r for r in self.recorded if isinstance(r.event, EventRetracted))

    @property
    def corrections(self) -> tuple[Recorded, ...]:
        """The window's records of corrections."""
        return tuple(r for r in self.recorded if isinstance(r.event, EventCorrected))

    def _repr_html_(self) -> str:
        from policytracker._html import changes_html

        return changes_html(self)


def changes(log: EventLog, since: KnownAt, until: KnownAt = None, *, as_of: AsOf = None) -> Changes:
    """What *log* learned after *since* and up to *until* (None: up to its last record), and the state
    then beside the state now of every country that touched.

    *since* and *until* are moments of record time, as ``known_at`` takes them (timezone-aware datetimes
    or ISO 8601 strings with a time zone); *as_of* fixes the valid time of both states. The states are
    those of :func:`country_state`: ``result.before[c] == country_state(log, c, as_of=as_of,
    known_at=since)``, ``result.after[c]`` the same at *until*.

    Raises:
        ValidationError: *since* or *until* is not a timezone-aware moment, *until* is before *since*, or
            *as_of* is invalid.
    """
    start = _moment(since, "since")
    end = None if until is None else _moment(until, "until")
    if end is not None and end < start:
        raise ValidationError(
            f"until: {end.isoformat()} is before since ({start.isoformat()}); swap them", field="until"
        )
    last_day = None if as_of is None else check_as_of(as_of)
    window = []
    for record in log.read():
        if end is not None and record.recorded_at > end:
            break  # recorded_at never goes backwards
        if record.recorded_at > start:
            window.append(record)
    amendments = {record.event.event_id: record.event for record in log.read(types=sorted(AMENDMENT_TAGS))}
    targets, touched = _reach(log, window, amendments)
    return Changes(
        since=start,
        until=end,
        as_of=last_day,
        recorded=tuple(window),
        targets=targets,
        before={code: country_state(log, code, as_of=last_day, known_at=start) for code in touched},
        after={code: country_state(log, code, as_of=last_day, known_at=end) for code in touched},
    )


def _moment(value: object, field: str) -> pendulum.DateTime:
    if not isinstance(value, str | _dt.datetime):
        raise ValidationError(f"{field}: expected a timezone-aware datetime, got {value!r}", field=field)
    try:
        return check_known_at(value)
    except ValidationError as exc:
        raise ValidationError(f"{field}{str(exc).removeprefix('known_at')}", field=field) from None


def _reach(
    log: EventLog, window: Iterable[Recorded], amendments: Mapping[uuid.UUID, Event]
) -> tuple[dict[uuid.UUID, Event], list[str]]:
    """The events the window's amendments target (by id), and the countries the window touches, sorted:
    those of every event, and for an amendment those of the original at the root of its chain and of
    every replacement along it."""
    touched: set[str] = set()
    chains: list[list[Event]] = []  # per amendment: it, then what it amends, up to the last amendment
    for record in window:
        event = record.event
        touched.update(event.countries)
        if isinstance(event, EventRetracted | EventCorrected):
            chain: list[Event] = [event]
            while (
                isinstance(link := chain[-1], EventRetracted | EventCorrected) and link.target in amendments
            ):
                chain.append(amendments[link.target])
            chains.append(chain)
    roots = {chain[-1].target for chain in chains if isinstance(chain[-1], EventRetracted | EventCorrected)}
    originals = _events_by_id(log, roots)
    targets: dict[uuid.UUID, Event] = {}
    for chain in chains:
        for amendment in chain:
            if isinstance(amendment, EventRetracted | EventCorrected):
                target = amendments.get(amendment.target) or originals.get(amendment.target)
                if target is not None:
                    targets[amendment.target] = target
                    touched.update(target.countries)
    return targets, sorted(touched)


def _events_by_id(log: EventLog, wanted: set[uuid.UUID]) -> dict[uuid.UUID, Event]:
    found: dict[uuid.UUID, Event] = {}
    if not wanted:
        return found
    for record in log.read():
        if record.event.event_id in wanted:
            found.setdefault(record.event.event_id, record.event)
            if len(found) == len(wanted):
                break
    return found
