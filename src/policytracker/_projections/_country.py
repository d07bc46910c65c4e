"""Per-country state: ``CountryState``, the built-in ``COUNTRY_STATES`` projection, ``country_states``."""

from __future__ import annotations

import datetime as _dt
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from policytracker._dates import FuzzyDate
from policytracker._events import (
    AdoptionEstimated,
    CompanyHeadquartered,
    CryptoBanChanged,
    Event,
    HoldingsReported,
    IMFConcernRaised,
    IMFProgramAgreed,
    IMFRefusal,
    LegalTenderAdopted,
    LegalTenderStatus,
    LegalTenderStatusChanged,
    MiningPowerAllocated,
    OfficialAppointed,
    PartnershipFormed,
    PolicyStatement,
    RegulatorEstablished,
    ReserveAnnounced,
    ReservePurchase,
    ReserveSale,
    ReserveStage,
    VisitPlanned,
)
from policytracker._frozenmap import FrozenMap
from policytracker._projections._core import Projection
from policytracker._projections._history import valid_time_key
from policytracker._validation import EXACT

__all__ = [
    "COUNTRY_STATES",
    "Conflict",
    "CountryState",
    "fold_country",
    "fold_country_series",
    "fold_country_states_keyed",
    "fold_country_steps",
]

T = TypeVar("T")
_EMPTY: Mapping[Any, Any] = FrozenMap()
_ZERO = Decimal(0)
# Sums and differences run in the exact context of amounts, never the caller's (decimal.getcontext()).
_add = EXACT.add
_subtract = EXACT.subtract


@attrs.frozen(kw_only=True)
class Conflict:
    """Two facts that disagree, recorded rather than raised: a readable ``message`` and the ids of the
    events involved (the later one last)."""

    message: str
    event_ids: tuple[uuid.UUID, ...]


def _frozen_mapping(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return value if isinstance(value, FrozenMap) else FrozenMap(value)


def _frozen_set(value: Iterable[str]) -> frozenset[str]:
    return value if isinstance(value, frozenset) else frozenset(value)


@attrs.frozen(kw_only=True, eq=True, hash=False)
class CountryState:
    """What the effective history says about one country's digital-asset policy.

    - ``legal_tender``: asset → ``LegalTenderStatus``; ``reserve``: asset → ``ReserveStage``; ``bans``:
      scope → banned; ``officials``: role → person (latest by valid time wins in each);
    - ``holdings``: asset → amount: the latest ``HoldingsReported`` figure plus purchases minus sales after
      it (a report is a snapshot, never summed; a sale larger than the holdings leaves 0);
      ``holdings_reports``: asset → the latest report; ``reported_assets``: the assets whose figure in
      ``holdings`` rests on a holdings report (the others are only the purchases minus the sales the
      history knows of, not what the country holds);
    - ``regulators``, ``imf_programs``, ``imf_refusals``, ``imf_concerns``, ``planned_visits`` (visits by or
      to the country): tuples of the events, in valid-time order;
    - ``partners`` and ``headquartered_companies``: frozensets of strings;
    - ``mining_megawatts``: the sum (0 when none); ``crypto_holders``: the latest estimate or None;
    - ``conflicts``: facts that disagree (a report that differs from the previous report plus the
      purchases and sales since; a sale larger than the holdings);
    - ``event_count``: effective events about the country; ``last_occurred``: the latest of their dates.
    """

    country: str
    legal_tender: Mapping[str, LegalTenderStatus] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    holdings: Mapping[str, Decimal] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    holdings_reports: Mapping[str, HoldingsReported] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    reported_assets: frozenset[str] = attrs.field(
        default=attrs.Factory(lambda self: frozenset(self.holdings_reports), takes_self=True),
        converter=_frozen_set,
    )
    reserve: Mapping[str, ReserveStage] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    regulators: tuple[RegulatorEstablished, ...] = ()
    partners: frozenset[str] = frozenset()
    imf_programs: tuple[IMFProgramAgreed, ...] = ()
    imf_refusals: tuple[IMFRefusal, ...] = ()
    imf_concerns: tuple[IMFConcernRaised, ...] = ()
    mining_megawatts: Decimal = _ZERO
    crypto_holders: int | None = None
    bans: Mapping[str, bool] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    officials: Mapping[str, str] = attrs.field(default=_EMPTY, converter=_frozen_mapping)
    planned_visits: tuple[VisitPlanned, ...] = ()
    headquartered_companies: frozenset[str] = frozenset()
    conflicts: tuple[Conflict, ...] = ()
    event_count: int = 0
    last_occurred: FuzzyDate | None = None

    def _repr_html_(self) -> str:
        from policytracker._html import state_html

        return state_html(self)


class _Builder:
    """A transient, mutable ``CountryState`` used inside one fold; never seen by callers."""

    __slots__ = (
        "bans",
        "companies",
        "concerns",
        "conflicts",
        "count",
        "country",
        "holders",
        "holdings",
        "last",
        "legal_tender",
        "megawatts",
        "officials",
        "partners",
        "programs",
        "refusals",
        "regulators",
        "reports",
        "reserve",
        "visits",
    )

    def __init__(self, state: CountryState) -> None:
        self.country = state.country
        self.legal_tender = dict(state.legal_tender)
        self.holdings = dict(state.holdings)
        self.reports = dict(state.holdings_reports)
        self.reserve = dict(state.reserve)
        self.regulators = list(state.regulators)
        self.partners = set(state.partners)
        self.programs = list(state.imf_programs)
        self.refusals = list(state.imf_refusals)
        self.concerns = list(state.imf_concerns)
        self.megawatts = state.mining_megawatts
        self.holders = state.crypto_holders
        self.bans = dict(state.bans)
        self.officials = dict(state.officials)
        self.visits = list(state.planned_visits)
        self.companies = set(state.headquartered_companies)
        self.conflicts = list(state.conflicts)
        self.count = state.event_count
        self.last = state.last_occurred

    def apply(self, event: Event) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return  # event types this projection does not know are ignored
        handler(self, event)
        self.count += 1
        occurred = event.occurred
        if self.last is None or occurred > self.last:
            self.last = occurred

    def freeze(self) -> CountryState:
        return CountryState(
            country=self.country,
            legal_tender=FrozenMap(self.legal_tender),
            holdings=FrozenMap(self.holdings),
            holdings_reports=FrozenMap(self.reports),
            reported_assets=frozenset(self.reports),
            reserve=FrozenMap(self.reserve),
            regulators=tuple(self.regulators),
            partners=frozenset(self.partners),
            imf_programs=tuple(self.programs),
            imf_refusals=tuple(self.refusals),
            imf_concerns=tuple(self.concerns),
            mining_megawatts=self.megawatts,
            crypto_holders=self.holders,
            bans=FrozenMap(self.bans),
            officials=FrozenMap(self.officials),
            planned_visits=tuple(self.visits),
            headquartered_companies=frozenset(self.companies),
            conflicts=tuple(self.conflicts),
            event_count=self.count,
            last_occurred=self.last,
        )

    # -- holdings -----------------------------------------------------------------------------------------

    def purchase(self, event: ReservePurchase) -> None:
        self.holdings[event.asset] = _add(self.holdings.get(event.asset, _ZERO), event.amount)

    def sale(self, event: ReserveSale) -> None:
        held = self.holdings.get(event.asset, _ZERO)
        if event.amount > held:
            self.conflicts.append(
                Conflict(
                    message=f"{self.country}: a sale of {event.amount} {event.asset} on {event.occurred} is "
                    f"larger than the {held} {event.asset} held; holdings set to 0",
                    event_ids=(event.event_id,),
                )
            )
            self.holdings[event.asset] = _ZERO
        else:
            self.holdings[event.asset] = _subtract(held, event.amount)

    def report(self, event: HoldingsReported) -> None:
        previous = self.reports.get(event.asset)
        implied = self.holdings.get(event.asset, _ZERO)
        if previous is not None and implied != event.amount:
            self.conflicts.append(
                Conflict(
                    message=f"{self.country}: {event.amount} {event.asset} reported on {event.occurred} "
                    f"disagrees with {implied} {event.asset} implied by the report of {previous.amount} on "
                    f"{previous.occurred} plus the purchases and sales since",
                    event_ids=(previous.event_id, event.event_id),
                )
            )
        self.reports[event.asset] = event
        self.holdings[event.asset] = event.amount


def _other_partners(builder: _Builder, event: PartnershipFormed) -> None:
    builder.partners.update(code for code in event.countries if code != builder.country)


_HANDLERS: dict[type[Event], Any] = {
    ReservePurchase: _Builder.purchase,
    ReserveSale: _Builder.sale,
    HoldingsReported: _Builder.report,
    PartnershipFormed: _other_partners,
    ReserveAnnounced: lambda b, e: b.reserve.__setitem__(e.asset, e.stage),
    IMFProgramAgreed: lambda b, e: b.programs.append(e),
    IMFRefusal: lambda b, e: b.refusals.append(e),
    IMFConcernRaised: lambda b, e: b.concerns.append(e),
    RegulatorEstablished: lambda b, e: b.regulators.append(e),
    LegalTenderAdopted: lambda b, e: b.legal_tender.__setitem__(e.asset, LegalTenderStatus.LEGAL_TENDER),
    LegalTenderStatusChanged: lambda b, e: b.legal_tender.__setitem__(e.asset, e.status),
    CryptoBanChanged: lambda b, e: b.bans.__setitem__(e.scope, e.banned),
    MiningPowerAllocated: lambda b, e: setattr(b, "megawatts", _add(b.megawatts, e.megawatts)),
    AdoptionEstimated: lambda b, e: setattr(b, "holders", e.holders),
    OfficialAppointed: lambda b, e: b.officials.__setitem__(e.role, e.person),
    VisitPlanned: lambda b, e: b.visits.append(e),
    CompanyHeadquartered: lambda b, e: b.companies.add(e.company),
    PolicyStatement: lambda b, e: None,
}


def _fold_country_states(
    states: Mapping[str, CountryState], events: Iterable[Event]
) -> Mapping[str, CountryState]:
    builders: dict[str, _Builder] = {}
    for event in events:
        if type(event) not in _HANDLERS:
            continue
        for code in event.countries:
            builder = builders.get(code)
            if builder is None:
                builder = builders[code] = _Builder(states.get(code) or CountryState(country=code))
            builder.apply(event)
    if not builders:
        return states
    merged = dict(states)
    merged.update((code, builder.freeze()) for code, builder in builders.items())
    return FrozenMap(dict(sorted(merged.items())))


def fold_country_states_keyed(
    events: Iterable[Event],
) -> tuple[dict[str, CountryState], dict[str, tuple[int, int, int, uuid.UUID]]]:
    """``country_states`` of *events* (the effective history, in valid-time order), and for each country
    the valid-time key of the last event about it (which a stored state continues from)."""
    builders: dict[str, _Builder] = {}
    last: dict[str, tuple[int, int, int, uuid.UUID]] = {}
    for event in events:
        known = type(event) in _HANDLERS
        key = None
        for code in event.countries:
            key = key or valid_time_key(event)
            last[code] = key
            if not known:
                continue
            builder = builders.get(code)
            if builder is None:
                builder = builders[code] = _Builder(CountryState(country=code))
            builder.apply(event)
    return {code: builder.freeze() for code, builder in sorted(builders.items())}, last


def _apply_country_states(states: Mapping[str, CountryState], event: Event) -> Mapping[str, CountryState]:
    return _fold_country_states(states, (event,))


def fold_country(country: str, events: Iterable[Event], *, state: CountryState | None = None) -> CountryState:
    """The state of *country* after *events* (in the order given; only events touching it count), starting
    from *state* (default: the empty state)."""
    builder = _Builder(CountryState(country=country) if state is None else state)
    for event in events:
        if country in event.countries:
            builder.apply(event)
    return builder.freeze()


def fold_country_steps(
    country: str, groups: Iterable[Sequence[Event]], read: Callable[[Any], T]
) -> Iterator[T]:
    """Fold each of *groups* (events about *country*, in order) in turn into one state, from the empty
    state, and yield ``read(state)`` after each: a view of the state's growth at the cost of one fold
    (the state is never copied in between). *read* gets the transient state, with the attributes of
    ``_Builder``; it must only read it."""
    builder = _Builder(CountryState(country=country))
    for events in groups:
        for event in events:
            builder.apply(event)
        yield read(builder)


def fold_country_series(
    country: str, events: Sequence[Event], days: Iterable[_dt.date]
) -> list[CountryState]:
    """*country*'s state as of each of *days*, in one pass over *events* (the effective events about it,
    in valid-time order): for each day, the fold of the events whose ``occurred.latest`` is on or before
    it, exactly as ``country_state(..., as_of=day)``.

    Those events are not always a prefix of the valid-time order: a fact dated only "2021" sorts at the
    start of 2021 but counts only from 2021-12-31 on. The longest prefix that counts is folded once, in
    increasing order of the days; only the few events after a pending one are folded again for each day.
    """
    wanted = list(days)
    states: list[CountryState | None] = [None] * len(wanted)
    builder = _Builder(CountryState(country=country))
    done = 0
    for index in sorted(range(len(wanted)), key=wanted.__getitem__):
        day = wanted[index]
        while done < len(events) and events[done].occurred.latest <= day:
            builder.apply(events[done])
            done += 1
        state = builder.freeze()
        tail = []
        for event in itertools.islice(events, done, None):
            if event.occurred.earliest > day:
                break  # sorted by earliest day: nothing later can count by *day*
            if event.occurred.latest <= day:
                tail.append(event)
        states[index] = fold_country(country, tail, state=state) if tail else state
    return [state for state in states if state is not None]


def _country_entry(country: str, state: CountryState | None, events: Sequence[Event]) -> CountryState | None:
    """*country*'s entry in ``COUNTRY_STATES`` after *events*: None while no event it knows is about it."""
    new = fold_country(country, events, state=state)
    return None if state is None and not new.event_count else new


#: The built-in projection behind ``country_states``: a read-only mapping of country code → CountryState.
COUNTRY_STATES: Projection[Mapping[str, CountryState]] = Projection(
    name="policytracker.country_states",
    version=1,
    initial=FrozenMap({}),
    apply=_apply_country_states,
    fold_many=_fold_country_states,
    fold_country=_country_entry,
)
