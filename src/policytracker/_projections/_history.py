"""Effective history: which events count, by record time, once retractions and corrections are applied.

The rules are those of docs/projections.md, "The effective history": retractions and corrections act by
record time only. The latest (by position) correction of an event that is not itself void wins; a
correction may itself be corrected. A retraction voids its target; a retraction that is itself retracted
voids nothing, so retracting a correction restores what it replaced. Events with the same id (the same
fact) count once.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import uuid
from collections.abc import Iterable
from typing import TypeAlias

import pendulum

from policytracker._dates import FuzzyDate, as_of_date
from policytracker._events import Event, EventCorrected, EventRetracted, valid_time_columns
from policytracker._log._core import EventLog, EventReader, Recorded, ValidTimeReader
from policytracker.exceptions import ValidationError

__all__ = [
    "AsOf",
    "KnownAt",
    "Resolver",
    "check_known_at",
    "effective_events",
    "effective_history",
    "in_valid_time",
    "stream_effective",
    "valid_time_key",
]

ValidKey = tuple[int, int, int, uuid.UUID]

#: What ``as_of`` takes: a date (its day), a ``FuzzyDate`` or an EDTF string (their last day), or None.
AsOf: TypeAlias = FuzzyDate | _dt.date | str | None
#: What ``known_at`` takes: a timezone-aware datetime, an ISO 8601 string with a time zone, or None.
KnownAt: TypeAlias = _dt.datetime | str | None


def valid_time_key(event: Event) -> ValidKey:
    """The valid-time order: ``(earliest, latest, rank, event_id)``. On the same dates a holdings report
    ranks after purchases and sales (it is the end-of-day snapshot); the id breaks remaining ties, so the
    order depends on content only, never on the order of appends."""
    earliest, latest, rank = valid_time_columns(event)
    return (earliest, latest, rank, event.event_id)


def in_valid_time(events: Iterable[Event]) -> list[Event]:
    """*events* sorted by :func:`valid_time_key`."""
    return sorted(events, key=valid_time_key)


def check_known_at(known_at: object) -> pendulum.DateTime:
    """Validate a ``known_at`` moment: a timezone-aware datetime or ISO 8601 string (returned in UTC).

    Raises:
        ValidationError: a naive datetime, a string that is not an ISO 8601 moment with a time zone, a
            date, or anything else.
    """
    given = known_at
    if isinstance(known_at, str):
        known_at = _moment(known_at)
    if not isinstance(known_at, _dt.datetime):
        raise ValidationError(
            f"known_at: expected a timezone-aware datetime, got {known_at!r}; use as_of for dates",
            field="known_at",
        )
    if known_at.tzinfo is None or known_at.utcoffset() is None:
        if isinstance(given, str):
            raise ValidationError(
                f"known_at: {given!r} has no time zone; write a moment with one, such as "
                "2025-07-18T09:30:00Z (use as_of for dates)",
                field="known_at",
            )
        raise ValidationError(
            f"known_at: {known_at!r} is naive; give it a time zone, e.g. datetime(..., tzinfo=UTC)",
            field="known_at",
        )
    try:
        return pendulum.instance(known_at).in_timezone("UTC")
    except OverflowError:
        raise ValidationError(
            f"known_at: {known_at.isoformat()} falls outside the years 1-9999 in UTC", field="known_at"
        ) from None


def _moment(text: str) -> _dt.datetime:
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"known_at: {text!r} is not an ISO 8601 moment such as 2025-07-18T09:30:00Z", field="known_at"
        ) from None


def check_as_of(as_of: object, *, field: str = "as_of") -> pendulum.Date:
    """Validate an ``as_of`` date (a date, a ``FuzzyDate`` or an EDTF string; its latest day)."""
    if not isinstance(as_of, FuzzyDate | str | _dt.date):
        raise ValidationError(
            f"{field}: expected a date, a FuzzyDate or a date string, got {as_of!r}", field=field
        )
    return as_of_date(as_of, field=field)


class Resolver:
    """Accumulates events in position order and answers which events are effective."""

    def __init__(self, *, open_world: bool = False) -> None:
        # open_world: amendments only are added; an unknown target is taken to be an original event.
        self.open_world = open_world
        self.originals: dict[uuid.UUID, Event] = {}
        self.corrections: dict[uuid.UUID, EventCorrected] = {}
        self.retractions: dict[uuid.UUID, EventRetracted] = {}
        self.corrected_by: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.retracted_by: dict[uuid.UUID, list[uuid.UUID]] = {}
        self.root: dict[uuid.UUID, uuid.UUID] = {}  # amendment id -> the original it (indirectly) amends

    def copy(self) -> Resolver:
        """An independent copy: adding events to either leaves the other as it was."""
        other = Resolver(open_world=self.open_world)
        other.originals = dict(self.originals)
        other.corrections = dict(self.corrections)
        other.retractions = dict(self.retractions)
        other.corrected_by = {key: list(value) for key, value in self.corrected_by.items()}
        other.retracted_by = {key: list(value) for key, value in self.retracted_by.items()}
        other.root = dict(self.root)
        return other

    def root_of(self, event_id: uuid.UUID) -> uuid.UUID | None:
        """The original event at the root of *event_id*'s chain of amendments (None: unknown)."""
        if event_id in self.originals:
            return event_id
        return self.root.get(event_id, event_id if self.open_world else None)

    def add(self, event: Event) -> uuid.UUID | None:
        """Take one event (in position order); return the id of the original event whose effective
        version this may change (None for an event whose target is unknown)."""
        event_id = event.event_id
        if isinstance(event, EventRetracted | EventCorrected):
            root = self.root_of(event.target)
            if root is None:
                return None  # the log refuses these; a user-built history may hold them: ignore
            if isinstance(event, EventRetracted):
                self.retractions[event_id] = event
                self.retracted_by.setdefault(event.target, []).append(event_id)
            else:
                self.corrections[event_id] = event
                self.corrected_by.setdefault(event.target, []).append(event_id)
            self.root[event_id] = root
            return root
        if event_id not in self.originals:
            self.originals[event_id] = event
        return event_id

    def is_void(self, event_id: uuid.UUID) -> bool:
        """Whether a standing (not itself void) retraction targets *event_id*."""
        return any(not self.is_void(retraction) for retraction in self.retracted_by.get(event_id, ()))

    def value(self, root: uuid.UUID) -> Event | None:
        """The effective version of the original event *root*, or None when it is retracted."""
        if self.is_void(root):
            return None
        replacement = self._replacement(root)
        return self.originals[root] if replacement is None else replacement

    def amended_value(self, root: uuid.UUID) -> Event | bool | None:
        """For an open-world resolver: False when the original *root* stands as it is, None when it is
        retracted, else the replacement that stands in for it."""
        if self.is_void(root):
            return None
        replacement = self._replacement(root)
        return False if replacement is None else replacement

    def _replacement(self, root: uuid.UUID) -> Event | None:
        """The replacement at the end of *root*'s chain of standing corrections (None: no standing
        correction): the latest correction that is not void wins, and may itself be corrected."""
        current_id = root
        replacement: Event | None = None
        while True:
            standing = [c for c in self.corrected_by.get(current_id, ()) if not self.is_void(c)]
            if not standing:
                return replacement
            current_id = standing[-1]
            replacement = self.corrections[current_id].replacement

    def effective(self) -> list[Event]:
        """The effective events, in the order their originals were added, each fact once."""
        if not self.corrections and not self.retractions:
            return list(self.originals.values())  # nothing amended: every original stands, once each
        seen: set[uuid.UUID] = set()
        out = []
        for root in self.originals:
            event = self.value(root)
            if event is not None and event.event_id not in seen:
                seen.add(event.event_id)
                out.append(event)
        return out


def effective_events(
    records: Iterable[Recorded | Event],
    *,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> list[Event]:
    """The effective history of *records* (in position order), as known at *known_at* and as of *as_of*,
    sorted by valid time (see :func:`project` for the rules and the arguments). Bare events count as
    known at any moment; ``Recorded`` ones from their ``recorded_at`` on.

    Raises:
        ValidationError: *as_of* is a datetime or not a date; *known_at* is naive or not a moment.
    """
    moment, last_day = _times(as_of, known_at)
    return _effective(records, moment, last_day)


_AMENDMENT_TAGS = ["event.retracted", "event.corrected"]


def _times(as_of: AsOf, known_at: KnownAt) -> tuple[pendulum.DateTime | None, pendulum.Date | None]:
    """The validated record-time moment and valid-time last day of a query (None where not given)."""
    return (
        None if known_at is None else check_known_at(known_at),
        None if as_of is None else check_as_of(as_of),
    )


def stream_effective(
    log: EventLog,
    *,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    country: str | None = None,
    types: frozenset[str] | None = None,
) -> Iterable[Event]:
    """The effective history of *log* in valid-time order, streamed when the store can hand over its
    events in valid-time order (a ``ValidTimeReader``), else as a list. With *country* (a normalised
    alpha-2 code), only the effective events about that country; with *types* (type tags), only the
    effective events of those types.

    Streaming holds only the retractions, corrections and replacements in memory: the amendments are
    resolved first (by record time), then the store's events arrive already ordered and are merged with
    the replacements. With *country* or *types*, the store reads only the records of that country or of
    those types through its indexes; the amendments are still all read (they are few, and a correction
    may move a fact into or out of the country, or give it another type), so the answer is the whole
    history's, restricted.
    """
    moment, last_day = _times(as_of, known_at)
    if not isinstance(log, ValidTimeReader):
        events = effective_history(log, as_of=as_of, known_at=known_at)
        return [
            event
            for event in events
            if (country is None or country in event.countries) and (types is None or event.tag in types)
        ]
    resolver = Resolver(open_world=True)
    for record in log.read(types=_AMENDMENT_TAGS):
        if moment is not None and record.recorded_at > moment:
            break
        resolver.add(record.event)
    skip: set[uuid.UUID] = set()  # originals that are retracted or replaced
    replacements: dict[uuid.UUID, Event] = {}
    for root in set(resolver.root.values()):
        value = resolver.amended_value(root)
        if value is False:
            continue  # every amendment of it was itself voided: the original stands
        skip.add(root)
        if (
            isinstance(value, Event)
            and (last_day is None or value.occurred.latest <= last_day)
            and (country is None or country in value.countries)
            and (types is None or value.tag in types)
        ):
            replacements.setdefault(value.event_id, value)
    standing = in_valid_time(replacements.values())
    skip.update(replacements)  # an original equal to a standing replacement is that same fact: once
    stored = log.valid_time_events(
        last_day=None if last_day is None else last_day.toordinal(),
        known_at=moment,
        country=country,
        types=types,
        gaps_checked=True,  # by the read of the amendments above
    )
    originals = (event for event in stored if event.event_id not in skip) if skip else stored
    if not standing:
        return originals
    return heapq.merge(originals, standing, key=valid_time_key)


def effective_history(log: EventLog, *, as_of: AsOf = None, known_at: KnownAt = None) -> list[Event]:
    """:func:`effective_events` of a whole log, without building a ``Recorded`` per record when *known_at*
    is not used and the log can hand over bare events (an ``EventReader``)."""
    moment, last_day = _times(as_of, known_at)
    if moment is None and isinstance(log, EventReader):
        return _effective(log.read_events(), None, last_day)
    return _effective(log.read(), moment, last_day)


def _effective(
    records: Iterable[Recorded | Event], moment: pendulum.DateTime | None, last_day: pendulum.Date | None
) -> list[Event]:
    resolver = Resolver()
    for item in records:
        if isinstance(item, Recorded):
            if moment is not None and item.recorded_at > moment:
                break  # recorded_at never goes backwards, so nothing later was known either
            resolver.add(item.event)
        else:
            resolver.add(item)
    events = resolver.effective()
    if last_day is not None:
        events = [event for event in events if event.occurred.latest <= last_day]
    return in_valid_time(events)
