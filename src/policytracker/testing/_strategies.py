"""The strategies behind ``policytracker.testing``."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from policytracker._countries import known_country_codes, normalize_country
from policytracker._dates import FuzzyDate
from policytracker._events import (
    AdoptionEstimated,
    CompanyHeadquartered,
    CryptoBanChanged,
    Event,
    EventCorrected,
    EventRetracted,
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
    Source,
    VisitPlanned,
)
from policytracker.exceptions import ValidationError

__all__ = ["country_codes", "events", "fuzzy_dates", "histories", "sources"]

_DEFAULT_MIN = _dt.date(2015, 1, 1)
_DEFAULT_MAX = _dt.date(2030, 12, 31)
_ASSETS = ("BTC", "ETH", "USDT")


def _checked_countries(countries: Iterable[str] | None) -> tuple[str, ...]:
    if countries is None:
        return tuple(sorted(known_country_codes()))
    if isinstance(countries, str):
        raise ValidationError(f"countries: expected an iterable of codes, got the string {countries!r}")
    codes = tuple(sorted({normalize_country(code, field="countries") for code in countries}))
    if not codes:
        raise ValidationError("countries: expected at least one country code")
    return codes


def country_codes(*, countries: Iterable[str] | None = None) -> st.SearchStrategy[str]:
    """Upper-case ISO 3166-1 alpha-2 codes, from *countries* when given (validated now), else all of them.

    Shrinks toward the alphabetically first code.
    """
    return st.sampled_from(_checked_countries(countries))


def fuzzy_dates(
    *, min_value: _dt.date = _DEFAULT_MIN, max_value: _dt.date = _DEFAULT_MAX
) -> st.SearchStrategy[FuzzyDate]:
    """``FuzzyDate`` values of mixed precision whose days all lie within *min_value*..*max_value*.

    Shrinks toward day precision and toward *min_value*.
    """
    for name, bound in (("min_value", min_value), ("max_value", max_value)):
        if isinstance(bound, _dt.datetime) or not isinstance(bound, _dt.date):
            raise ValidationError(f"fuzzy_dates: {name} must be a date, got {bound!r}", field=name)
    if min_value > max_value:
        raise ValidationError(f"fuzzy_dates: min_value {min_value} is after max_value {max_value}")

    def truncate(day: _dt.date, precision: int) -> FuzzyDate:
        if precision == 0:
            return FuzzyDate.from_date(day)
        if precision == 1:
            return FuzzyDate(year=day.year, month=day.month)
        return FuzzyDate(year=day.year)

    def inside(value: FuzzyDate) -> bool:
        return min_value <= value.earliest and value.latest <= max_value

    day_dates = st.dates(min_value=min_value, max_value=max_value)
    return st.builds(truncate, day_dates, st.integers(0, 2)).filter(inside) | day_dates.map(
        FuzzyDate.from_date
    )


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24
).filter(lambda s: bool(s.strip()))
_words = st.sampled_from(
    ("mining", "reserve", "knowledge sharing", "sanctions", "payments", "infrastructure")
)
_labels = _words | _text


def sources() -> st.SearchStrategy[Source]:
    """``Source`` values: a publisher, and sometimes a URL, a title and a publication date."""
    return st.builds(
        Source,
        publisher=st.sampled_from(("Cryptonews", "Bloomberg", "Reuters")) | _text,
        url=st.none() | st.just("https://example.org/article"),
        title=st.none() | _text,
        published=st.none() | fuzzy_dates(),
    )


def _amounts(*, allow_zero: bool = False) -> st.SearchStrategy[Decimal]:
    low = Decimal(0) if allow_zero else Decimal("0.00000001")
    return st.decimals(
        min_value=low, max_value=Decimal(1_000_000), places=8, allow_nan=False, allow_infinity=False
    ).filter(lambda d: allow_zero or d > 0)


def _common(occurred: st.SearchStrategy[FuzzyDate] | None = None) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "occurred": fuzzy_dates() if occurred is None else occurred,
        "sources": st.lists(sources(), max_size=2).map(tuple),
        "note": st.just("") | _text,
    }


def _per_type(
    codes: Sequence[str],
    *,
    occurred: st.SearchStrategy[FuzzyDate] | None = None,
    assets: Sequence[str] = _ASSETS,
) -> dict[type[Event], st.SearchStrategy[Event]]:
    country = st.sampled_from(codes)
    asset = st.sampled_from(assets)
    common = _common(occurred)

    def make(cls: Callable[..., Event], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Event]:
        return st.builds(cls, **common, **fields)

    table: dict[type[Event], st.SearchStrategy[Event]] = {
        ReservePurchase: make(
            ReservePurchase, country=country, asset=asset, amount=_amounts(), price_usd=st.none() | _amounts()
        ),
        ReserveSale: make(ReserveSale, country=country, asset=asset, amount=_amounts()),
        HoldingsReported: make(
            HoldingsReported, country=country, asset=asset, amount=_amounts(allow_zero=True), basis=_labels
        ),
        ReserveAnnounced: make(
            ReserveAnnounced, country=country, asset=asset, stage=st.sampled_from(ReserveStage)
        ),
        IMFProgramAgreed: make(
            IMFProgramAgreed,
            country=country,
            amount_usd=st.none() | _amounts(),
            facility=st.just("") | _labels,
            ends=st.none() | fuzzy_dates(),
        ),
        IMFRefusal: make(IMFRefusal, country=country, proposal=_labels),
        IMFConcernRaised: make(IMFConcernRaised, country=country, topic=_labels),
        RegulatorEstablished: make(
            RegulatorEstablished, country=country, name=_labels, acronym=st.just("") | _labels
        ),
        LegalTenderAdopted: make(LegalTenderAdopted, country=country, asset=asset),
        LegalTenderStatusChanged: make(
            LegalTenderStatusChanged, country=country, asset=asset, status=st.sampled_from(LegalTenderStatus)
        ),
        CryptoBanChanged: make(CryptoBanChanged, country=country, scope=_labels, banned=st.booleans()),
        MiningPowerAllocated: make(MiningPowerAllocated, country=country, megawatts=_amounts()),
        AdoptionEstimated: make(AdoptionEstimated, country=country, holders=st.integers(1, 10**9)),
        OfficialAppointed: make(OfficialAppointed, country=country, person=_labels, role=_labels),
        CompanyHeadquartered: make(CompanyHeadquartered, country=country, company=_labels),
        PolicyStatement: make(
            PolicyStatement, country=country, text=_labels, topics=st.lists(_labels, max_size=3).map(tuple)
        ),
    }
    if len(codes) >= 2:
        table[PartnershipFormed] = make(
            PartnershipFormed,
            countries=st.lists(country, min_size=2, max_size=3, unique=True).map(tuple),
            areas=st.lists(_labels, max_size=3).map(tuple),
            instrument=st.just("") | _labels,
        )
        table[VisitPlanned] = st.lists(country, min_size=2, max_size=2, unique=True).flatmap(
            lambda pair: make(VisitPlanned, country=st.just(pair[0]), host=st.just(pair[1]), official=_labels)
        )
    return table


CustomStrategies = Mapping[type[Event], st.SearchStrategy[Event]]


def _checked_custom(
    custom: CustomStrategies | None, where: str
) -> dict[type[Event], st.SearchStrategy[Event]]:
    if custom is None:
        return {}
    if not isinstance(custom, Mapping):
        raise ValidationError(f"{where}: custom must map event classes to strategies, got {custom!r}")
    checked = {}
    for cls, strategy in custom.items():
        if not (isinstance(cls, type) and issubclass(cls, Event) and "__event_tag__" in vars(cls)):
            raise ValidationError(f"{where}: custom keys must be registered event classes, got {cls!r}")
        if cls in (EventRetracted, EventCorrected):
            raise ValidationError(f"{where}: {cls.__name__} needs a target; histories() makes those")
        if not isinstance(strategy, st.SearchStrategy):
            raise ValidationError(f"{where}: the strategy for {cls.__name__} is not a strategy: {strategy!r}")
        checked[cls] = strategy
    return checked


def events(
    *,
    types: Iterable[type[Event]] | None = None,
    countries: Iterable[str] | None = None,
    custom: CustomStrategies | None = None,
) -> st.SearchStrategy[Event]:
    """Standalone events (no retractions or corrections: those need a target in a history).

    By default every built-in standalone type. *custom* adds your own registered event types, each with
    the strategy that builds it (``{SanctionsEvaded: st.builds(SanctionsEvaded, ...)}``); *types* limits
    the classes drawn from (built-in or custom); *countries* the codes the built-in types use.
    Partnerships and visits need two countries, so with one country they are left out.

    Raises:
        ValidationError: an unknown country code, an empty *types*, a type this strategy cannot build, or
            a *custom* entry that is not a registered event class with a strategy.
    """
    codes = _checked_countries(countries)
    table: dict[type[Event], st.SearchStrategy[Event]] = {
        **_per_type(codes),
        **_checked_custom(custom, "events"),
    }
    if types is None:
        chosen = list(table.values())
    else:
        wanted = list(types)
        if not wanted:
            raise ValidationError("events: types must not be empty")
        chosen = []
        for cls in wanted:
            if cls in (EventRetracted, EventCorrected):
                raise ValidationError(
                    f"events: {cls.__name__} needs a target; use histories() for retractions and corrections"
                )
            if cls not in table:
                raise ValidationError(
                    f"events: no strategy for {cls!r} with countries {codes}; pass custom={{cls: strategy}}"
                )
            chosen.append(table[cls])
    return st.one_of(chosen)


_HOLDINGS_TYPES = (ReservePurchase, ReserveSale, HoldingsReported)
_KINDS = ("event", "event", "event", "retraction", "correction")


def histories(
    *,
    min_size: int = 0,
    max_size: int = 20,
    countries: Iterable[str] | None = None,
    custom: CustomStrategies | None = None,
) -> st.SearchStrategy[list[Event]]:
    """Realistic histories: lists of events in append order, including retractions and corrections that
    point at earlier events.

    A history shares a few countries and a few dates of mixed precision between its events, and leans
    on purchases, sales and holdings reports of one asset, so that reports, deltas and conflicts meet.
    Histories shrink toward fewer, standalone events. *custom* mixes in your own registered event types,
    as for :func:`events` (their strategies choose their own countries and dates).

    Raises:
        ValidationError: negative or inverted sizes, an unknown country code, or a bad *custom* entry.
    """
    for name, value in (("min_size", min_size), ("max_size", max_size)):
        if type(value) is not int or value < 0:
            raise ValidationError(f"histories: {name} must be an int >= 0, got {value!r}", field=name)
    if min_size > max_size:
        raise ValidationError(f"histories: min_size {min_size} is larger than max_size {max_size}")
    codes = _checked_countries(countries)
    extra = tuple(_checked_custom(custom, "histories").values())
    return _histories(min_size, max_size, codes, extra)


@st.composite
def _histories(
    draw: st.DrawFn,
    min_size: int,
    max_size: int,
    codes: tuple[str, ...],
    extra: tuple[st.SearchStrategy[Event], ...] = (),
) -> list[Event]:
    chosen = draw(st.lists(st.sampled_from(codes), min_size=min(2, len(codes)), max_size=4, unique=True))
    dates = draw(st.lists(fuzzy_dates(), min_size=1, max_size=6, unique=True))
    occurred = st.sampled_from(dates)
    table = _per_type(chosen, occurred=occurred, assets=("BTC",))
    holdings = st.one_of([table[cls] for cls in _HOLDINGS_TYPES])
    others = st.one_of([strategy for cls, strategy in table.items() if cls not in _HOLDINGS_TYPES])
    standalone = st.one_of(holdings, others, *extra)
    size = draw(st.integers(min_size, max_size))
    history: list[Event] = []
    while len(history) < size:
        kind = draw(st.sampled_from(_KINDS) if history else st.just("event"))
        if kind == "event":
            history.append(draw(standalone))
            continue
        if kind == "retraction":
            target = draw(st.sampled_from(history))
            history.append(EventRetracted(occurred=draw(occurred), target=target.event_id))
            continue
        correctable = [event for event in history if not isinstance(event, EventRetracted)]
        target = draw(st.sampled_from(correctable))
        history.append(
            EventCorrected(occurred=draw(occurred), target=target.event_id, replacement=draw(standalone))
        )
    return history
