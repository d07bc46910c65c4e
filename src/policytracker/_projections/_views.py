"""Views of the effective history: a country's timeline, its holdings over time, the partnership graph."""

from __future__ import annotations

import datetime as _dt
import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TypeVar

import attrs

from policytracker._countries import normalize_country
from policytracker._dates import FuzzyDate
from policytracker._events import Event, HoldingsReported, PartnershipFormed, ReservePurchase, ReserveSale
from policytracker._frozenmap import FrozenMap
from policytracker._gcpause import collector_paused
from policytracker._log._core import EventLog
from policytracker._projections._country import CountryState, fold_country_series, fold_country_steps
from policytracker._projections._history import AsOf, KnownAt, check_as_of, stream_effective
from policytracker._validation import to_asset
from policytracker.exceptions import ValidationError

__all__ = [
    "HoldingsPoint",
    "Partnership",
    "PartnershipGraph",
    "holdings_history",
    "partnership_graph",
    "state_series",
    "timeline",
]

D = TypeVar("D", bound=FuzzyDate | _dt.date | str)


def timeline(
    log: EventLog, country: str, *, as_of: AsOf = None, known_at: KnownAt = None
) -> tuple[Event, ...]:
    """The effective events about *country*, in valid-time order (see :func:`project` for the arguments),
    read through the store's country index.

    Raises:
        ValidationError: *country* is not a known code, or *as_of* / *known_at* are invalid.
    """
    code = normalize_country(country)
    events = stream_effective(log, as_of=as_of, known_at=known_at, country=code)
    with collector_paused():
        return tuple(event for event in events if code in event.countries)


def state_series(
    log: EventLog, country: str, dates: Iterable[D], *, known_at: KnownAt = None
) -> Mapping[D, CountryState]:
    """*country*'s state on each of *dates*, as known at *known_at*, in one pass over its history.

    Returns a read-only mapping from each date, as given and in the order given, to the state then:
    ``state_series(log, "SV", month_ends)[d] == country_state(log, "SV", as_of=d)`` for each ``d``. A date
    may be a ``datetime.date``, a ``FuzzyDate`` or an EDTF string (their last day, as for ``as_of``); a
    date given twice appears once.

    Raises:
        ValidationError: *country* is not a known code, a date is not a date, or *known_at* is invalid.
    """
    code = normalize_country(country)
    if isinstance(dates, str | FuzzyDate | _dt.date):
        raise ValidationError(
            f"dates: expected a list of dates, got the single date {dates!r}; wrap it in a list",
            field="dates",
        )
    wanted = list(dates)
    days = [check_as_of(date, field=f"dates[{index}]") for index, date in enumerate(wanted)]
    if not wanted:
        return FrozenMap({})
    with collector_paused():
        events = timeline(log, code, known_at=known_at)
        return FrozenMap(dict(zip(wanted, fold_country_series(code, events, days), strict=True)))


#: The events holdings_history and partnership_graph read: the store reads no other standalone records.
_HOLDINGS_TAGS = frozenset(cls.__event_tag__ for cls in (ReservePurchase, ReserveSale, HoldingsReported))
_PARTNERSHIP_TAGS = frozenset({PartnershipFormed.__event_tag__})


@attrs.frozen(kw_only=True)
class HoldingsPoint:
    """The holdings of one asset after the events dated ``occurred`` (``event_ids``) are applied."""

    occurred: FuzzyDate
    amount: Decimal
    event_ids: tuple[uuid.UUID, ...]


def holdings_history(
    log: EventLog, country: str, asset: str = "BTC", *, as_of: AsOf = None, known_at: KnownAt = None
) -> tuple[HoldingsPoint, ...]:
    """The series of a country's holdings of *asset*: one point per date on which a purchase, a sale or a
    holdings report changed or confirmed them, under the same rules as ``CountryState.holdings``."""
    code = normalize_country(country)
    symbol = to_asset(asset)
    events = stream_effective(log, as_of=as_of, known_at=known_at, country=code, types=_HOLDINGS_TAGS)
    relevant = (
        event
        for event in events
        if isinstance(event, ReservePurchase | ReserveSale | HoldingsReported)
        and event.country == code
        and event.asset == symbol
    )
    with collector_paused():
        groups = [tuple(group) for _, group in itertools.groupby(relevant, key=lambda event: event.occurred)]
        amounts = fold_country_steps(code, groups, lambda state: state.holdings[symbol])
    return tuple(
        HoldingsPoint(
            occurred=events[0].occurred, amount=amount, event_ids=tuple(event.event_id for event in events)
        )
        for events, amount in zip(groups, amounts, strict=True)
    )


@attrs.frozen(kw_only=True)
class Partnership:
    """An edge of the partnership graph: two countries (sorted), when, what about, and the event."""

    countries: tuple[str, str]
    occurred: FuzzyDate
    areas: tuple[str, ...]
    instrument: str
    event_id: uuid.UUID


@attrs.frozen(kw_only=True)
class PartnershipGraph:
    """Countries as ``nodes``, partnerships as ``edges`` (one per pair of partners, in valid-time order; a
    partnership of three countries gives three edges)."""

    nodes: frozenset[str]
    edges: tuple[Partnership, ...]

    def partners_of(self, country: str) -> frozenset[str]:
        """The countries *country* has a partnership with."""
        code = normalize_country(country)
        return frozenset(
            other for edge in self.edges if code in edge.countries for other in edge.countries
        ) - {code}

    def __iter__(self) -> Iterator[Partnership]:
        return iter(self.edges)


def partnership_graph(log: EventLog, *, as_of: AsOf = None, known_at: KnownAt = None) -> PartnershipGraph:
    """The graph of partnerships in the effective history (see :func:`project` for the arguments)."""
    edges = []
    # Only the partnerships are read; a correction that turns another fact into one, or one into another
    # fact, is among the amendments, which are always read whole.
    for event in stream_effective(log, as_of=as_of, known_at=known_at, types=_PARTNERSHIP_TAGS):
        if not isinstance(event, PartnershipFormed):
            continue
        for pair in itertools.combinations(event.countries, 2):
            edges.append(
                Partnership(
                    countries=pair,
                    occurred=event.occurred,
                    areas=event.areas,
                    instrument=event.instrument,
                    event_id=event.event_id,
                )
            )
    return PartnershipGraph(
        nodes=frozenset(code for edge in edges for code in edge.countries), edges=tuple(edges)
    )
