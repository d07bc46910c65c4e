"""``Projection``, ``fold`` and ``project``: pure folds of events into state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs

from policytracker._events import Event
from policytracker._log._core import EventLog
from policytracker._projections._history import AsOf, KnownAt, stream_effective

__all__ = ["Projection", "fold", "project"]

S = TypeVar("S")


def _positive_version(_instance: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"Projection.version must be an int >= 1, got {value!r}")


def _non_empty(_instance: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"Projection.name must be a non-empty string, got {value!r}")


def _per_country(instance: Any, _attribute: Any, value: Any) -> None:
    if value is None:
        return
    if not callable(value):
        raise ValueError(f"Projection.fold_country must be a function or None, got {value!r}")
    if not isinstance(instance.initial, Mapping) or instance.initial:
        raise ValueError(
            f"Projection {instance.name!r} has a fold_country, so its initial state must be an empty "
            f"mapping (country code -> state), got {instance.initial!r}"
        )


@attrs.frozen(kw_only=True)
class Projection(Generic[S]):
    """A pure fold ``(state, event) -> state`` with an ``initial`` state.

    ``name`` and ``version`` identify the projection (snapshots are keyed by them: bump ``version`` when
    ``apply`` changes meaning). ``apply`` must be pure: the same state and event always give the same new
    state, and it must never mutate the state it is given.

    ``fold_many``, when given, folds a whole sequence at once (for speed, e.g. with transient mutable
    builders); it must equal applying ``apply`` event by event.

    ``fold_country``, when given, declares that the projection is per country: its state is a mapping of
    country code → that country's entry, and each entry depends only on the events about that country
    (those whose ``countries`` include it); ``initial`` is then an empty mapping.
    ``fold_country(code, entry, events)`` returns *code*'s entry after *events* (events about *code*, in
    order), starting from *entry* (None: no entry yet), or None while they give *code* no entry. It must
    agree with ``apply``: ``fold(projection, events).get(code)`` equals
    ``fold_country(code, None, [e for e in events if code in e.countries])``. A ``Projector`` relies on it
    to refold only the countries that a back-dated event, a retraction or a correction touches. The
    built-in ``COUNTRY_STATES`` gives one.
    """

    name: str = attrs.field(validator=_non_empty)
    version: int = attrs.field(default=1, validator=_positive_version)
    initial: S
    apply: Callable[[S, Event], S]
    fold_many: Callable[[S, Iterable[Event]], S] | None = attrs.field(default=None, eq=False, repr=False)
    fold_country: Callable[[str, Any, Sequence[Event]], object] | None = attrs.field(
        default=None, validator=_per_country, eq=False, repr=False
    )

    @property
    def per_country(self) -> bool:
        """Whether the projection is per country (it gives ``fold_country``)."""
        return self.fold_country is not None


def fold(projection: Projection[S], events: Iterable[Event], *, state: Any = attrs.NOTHING) -> S:
    """Apply *projection* to *events* in the order given (nothing is sorted), starting from *state*
    (default: ``projection.initial``). Pure: the same events give the same state."""
    current: S = projection.initial if state is attrs.NOTHING else state
    if projection.fold_many is not None:
        return projection.fold_many(current, events)
    apply = projection.apply
    for event in events:
        current = apply(current, event)
    return current


def project(log: EventLog, projection: Projection[S], *, as_of: AsOf = None, known_at: KnownAt = None) -> S:
    """Fold the effective history of *log* with *projection*.

    The effective history holds the records recorded at or before *known_at* (a timezone-aware datetime,
    or an ISO 8601 string with a time zone; default: everything), with the retractions and corrections
    recorded by then applied, keeps the events whose ``occurred.latest`` is on or before *as_of* (a date,
    a ``FuzzyDate`` or an EDTF string meaning its last day; default: all), and orders them by valid time
    with a content-derived tie-break, so the result never depends on the order in which facts were
    appended. The rules are those of docs/projections.md, "The effective history".

    Raises:
        ValidationError: *as_of* is a datetime or not a date; *known_at* is naive or not a moment.
    """
    return fold(projection, stream_effective(log, as_of=as_of, known_at=known_at))
