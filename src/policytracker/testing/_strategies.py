"""The strategies behind ``policytracker.testing``.

Every strategy here is built once, when the public function is called: drawing an event draws its field
values and calls the class, nothing more. Building strategies while drawing (a table of ``st.builds`` per
history, say) costs more than the events themselves, and Hypothesis counts it against the draw-time budget
of its ``too_slow`` health check.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
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

__all__ = [
    "BUILT_IN_TYPES",
    "FIELD_STRATEGIES",
    "CustomStrategies",
    "amounts",
    "country_codes",
    "events",
    "fuzzy_dates",
    "histories",
    "sources",
]

_DEFAULT_MIN = _dt.date(2015, 1, 1)
_DEFAULT_MAX = _dt.date(2030, 12, 31)
_ASSETS = ("BTC", "ETH", "USDT")


def _checked_countries(countries: Iterable[str] | None) -> tuple[str, ...]:
    if countries is None:
        return _ALL_COUNTRIES
    if isinstance(countries, str):
        raise ValidationError(f"countries: expected an iterable of codes, got the string {countries!r}")
    codes = tuple(sorted({normalize_country(code, field="countries") for code in countries}))
    if not codes:
        raise ValidationError("countries: expected at least one country code")
    return codes


_ALL_COUNTRIES = tuple(sorted(known_country_codes()))


def country_codes(*, countries: Iterable[str] | None = None) -> st.SearchStrategy[str]:
    """Upper-case country codes (ISO 3166-1 alpha-2, and the jurisdictions ``EU`` and ``XK``), from
    *countries* when given (validated now), else all of them.

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


# A fixed alphabet, drawn with sampled_from, rather than Unicode categories, a codec or an alphabet
# string: each of those builds Hypothesis's character tables, which takes up to seconds on a machine
# without its cache, inside the first draw. The alphabet still reaches what stores must survive: quotes
# and backslashes, two-, three- and four-byte UTF-8, combining and right-to-left text, and the
# separators that some line splitters break on.
_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,;:'\"\\/&()%$#@!?+=_"
    "éñüßøłçÅ€₿ñ中文字日本абвгдاالعربيةעבריתé\u0301😀🇸🇻\u00a0\u200b\u200d\ufeff\u2028\u2029"
)
_text = st.text(st.sampled_from(tuple(_ALPHABET)), min_size=1, max_size=16).filter(str.strip)
_words = st.sampled_from(
    ("mining", "reserve", "knowledge sharing", "sanctions", "payments", "infrastructure")
)
_labels = _words | _text
_notes = st.just("") | _text
# A curator's key for an event file's row: mostly none, else one line without spaces at its ends (so
# quotes, separators and non-ASCII letters, but no line breaks).
_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_.:/,;'\"é₿中"
_keys = (
    st.just("")
    | st.just("")
    | st.just("")
    | st.text(st.sampled_from(tuple(_KEY_ALPHABET)), min_size=1, max_size=24)
)
_DATES = fuzzy_dates()


def sources() -> st.SearchStrategy[Source]:
    """``Source`` values: a publisher, and sometimes a URL, a title and a publication date."""
    return _SOURCES


_SOURCES = st.builds(
    Source,
    publisher=st.sampled_from(("Cryptonews", "Bloomberg", "Reuters")) | _text,
    url=st.none() | st.just("https://example.org/article"),
    title=st.none() | _text,
    published=st.none() | _DATES,
)
_source_tuples = st.lists(_SOURCES, max_size=2).map(tuple)


#: scaleb() rounds in the given context: an exact one of its own, whatever the caller's context is.
_EXACT = decimal.Context(prec=40)


def amounts(*, allow_zero: bool = False) -> st.SearchStrategy[Decimal]:
    # Whole figures (7 BTC, 2,000 MW) and figures to eight places; no filter, so nothing is rejected.
    low = 0 if allow_zero else 1
    return st.integers(low, 1_000_000).map(Decimal) | st.integers(low, 10**14).map(
        lambda units: Decimal(units).scaleb(-8, _EXACT)
    )


_POSITIVE = amounts()
_NON_NEGATIVE = amounts(allow_zero=True)
_OPTIONAL_POSITIVE = st.none() | _POSITIVE

#: Valid values for the field types events commonly have: non-empty text, positive numbers, dates. For
#: drawing the required fields of event classes that have no strategy of their own.
FIELD_STRATEGIES: dict[Any, st.SearchStrategy[Any]] = {
    str: _labels,
    int: st.integers(1, 10**9),
    Decimal: _POSITIVE,
    bool: st.booleans(),
    FuzzyDate: _DATES,
    tuple[str, ...]: st.lists(_labels, max_size=3).map(tuple),
}


@attrs.frozen
class _Scope:
    """What the events drawn together share: their countries, dates and assets."""

    codes: tuple[str, ...]
    occurred: st.SearchStrategy[FuzzyDate] = _DATES
    assets: tuple[str, ...] = _ASSETS
    country: st.SearchStrategy[str] = attrs.field(init=False)
    asset: st.SearchStrategy[str] = attrs.field(init=False)
    several: st.SearchStrategy[list[str]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        countries = st.sampled_from(self.codes)
        object.__setattr__(self, "country", countries)
        object.__setattr__(self, "asset", st.sampled_from(self.assets))
        object.__setattr__(self, "several", st.lists(countries, min_size=2, max_size=3, unique=True))


#: A builder draws the fields of one event class from its scope and makes the event.
_Builder = Callable[[st.DrawFn, _Scope], Event]

# The fields of each built-in type beyond the common ones. A field is a strategy, or the name of the
# scope's strategy it draws from ("country", "asset").
_FIELDS: dict[type[Event], dict[str, st.SearchStrategy[Any] | str]] = {
    ReservePurchase: {
        "country": "country",
        "asset": "asset",
        "amount": _POSITIVE,
        "price_usd": _OPTIONAL_POSITIVE,
    },
    ReserveSale: {"country": "country", "asset": "asset", "amount": _POSITIVE},
    HoldingsReported: {"country": "country", "asset": "asset", "amount": _NON_NEGATIVE, "basis": _labels},
    ReserveAnnounced: {"country": "country", "asset": "asset", "stage": st.sampled_from(ReserveStage)},
    IMFProgramAgreed: {
        "country": "country",
        "amount_usd": _OPTIONAL_POSITIVE,
        "facility": st.just("") | _labels,
        "ends": st.none() | _DATES,
    },
    IMFRefusal: {"country": "country", "proposal": _labels},
    IMFConcernRaised: {"country": "country", "topic": _labels},
    RegulatorEstablished: {"country": "country", "name": _labels, "acronym": st.just("") | _labels},
    LegalTenderAdopted: {"country": "country", "asset": "asset"},
    LegalTenderStatusChanged: {
        "country": "country",
        "asset": "asset",
        "status": st.sampled_from(LegalTenderStatus),
    },
    CryptoBanChanged: {"country": "country", "scope": _labels, "banned": st.booleans()},
    MiningPowerAllocated: {"country": "country", "megawatts": _POSITIVE},
    AdoptionEstimated: {"country": "country", "holders": st.integers(1, 10**9)},
    OfficialAppointed: {"country": "country", "person": _labels, "role": _labels},
    CompanyHeadquartered: {"country": "country", "company": _labels},
    PolicyStatement: {
        "country": "country",
        "text": _labels,
        "topics": st.lists(_labels, max_size=3).map(tuple),
    },
    PartnershipFormed: {
        "countries": "several",
        "areas": st.lists(_labels, max_size=3).map(tuple),
        "instrument": st.just("") | _labels,
    },
}


def _builder(cls: type[Event], fields: Mapping[str, st.SearchStrategy[Any] | str]) -> _Builder:
    def build(draw: st.DrawFn, scope: _Scope) -> Event:
        values = {
            name: draw(getattr(scope, field) if isinstance(field, str) else field)
            for name, field in fields.items()
        }
        return cls(
            occurred=draw(scope.occurred),
            sources=draw(_source_tuples),
            note=draw(_notes),
            key=draw(_keys),
            **values,
        )

    return build


def _visit(draw: st.DrawFn, scope: _Scope) -> Event:
    visitor, host, *_ = draw(scope.several)
    return VisitPlanned(
        occurred=draw(scope.occurred),
        sources=draw(_source_tuples),
        note=draw(_notes),
        key=draw(_keys),
        country=visitor,
        host=host,
        official=draw(_labels),
    )


_BUILDERS: dict[type[Event], _Builder] = {cls: _builder(cls, fields) for cls, fields in _FIELDS.items()}
_BUILDERS[VisitPlanned] = _visit
_NEEDS_TWO = (PartnershipFormed, VisitPlanned)

#: The built-in standalone event types, in the order strategies prefer them (shrinking goes to the first).
BUILT_IN_TYPES: tuple[type[Event], ...] = tuple(_BUILDERS)
_HOLDINGS_TYPES = (ReservePurchase, ReserveSale, HoldingsReported)


def _types_for(codes: Sequence[str]) -> tuple[type[Event], ...]:
    return tuple(cls for cls in BUILT_IN_TYPES if len(codes) >= 2 or cls not in _NEEDS_TWO)


def _bound(builder: _Builder, scope: _Scope) -> st.SearchStrategy[Event]:
    @st.composite
    def drawn(draw: st.DrawFn) -> Event:
        return builder(draw, scope)

    return drawn()


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
    extra = _checked_custom(custom, "events")
    available = (*_types_for(codes), *extra)
    if types is None:
        chosen = available
    else:
        chosen = tuple(types)
        if not chosen:
            raise ValidationError("events: types must not be empty")
        for cls in chosen:
            if cls in (EventRetracted, EventCorrected):
                raise ValidationError(
                    f"events: {cls.__name__} needs a target; use histories() for retractions and corrections"
                )
            if cls not in available:
                raise ValidationError(
                    f"events: no strategy for {cls!r} with countries {codes}; pass custom={{cls: strategy}}"
                )
    scope = _Scope(codes)
    return st.one_of([extra[cls] if cls in extra else _bound(_BUILDERS[cls], scope) for cls in chosen])


_KIND = st.sampled_from(("event", "event", "event", "retraction", "correction"))


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
    return _histories(
        min_size=min_size,
        max_size=max_size,
        chosen_codes=st.lists(st.sampled_from(codes), min_size=min(2, len(codes)), max_size=4, unique=True),
        extra=extra,
    )


_SHARED_DATES = st.lists(_DATES, min_size=1, max_size=6, unique=True)


@st.composite
def _histories(
    draw: st.DrawFn,
    *,
    min_size: int,
    max_size: int,
    chosen_codes: st.SearchStrategy[list[str]],
    extra: tuple[st.SearchStrategy[Event], ...],
) -> list[Event]:
    # The size comes first: Hypothesis caps its first examples at a multiple of the simplest completion of
    # a random first choice, and a size drawn later would make that simplest completion an empty history.
    size = draw(st.integers(min_size, max_size))
    codes = tuple(draw(chosen_codes))
    occurred = st.sampled_from(draw(_SHARED_DATES))
    scope = _Scope(codes, occurred=occurred, assets=("BTC",))
    types = _types_for(codes)
    holdings = st.sampled_from(_HOLDINGS_TYPES)
    others = st.sampled_from([cls for cls in types if cls not in _HOLDINGS_TYPES])
    branch = st.integers(0, 1 + len(extra))

    def standalone() -> Event:
        chosen = draw(branch)
        if chosen >= 2:
            return draw(extra[chosen - 2])
        return _BUILDERS[draw(holdings if chosen == 0 else others)](draw, scope)

    history: list[Event] = []
    while len(history) < size:
        kind = draw(_KIND) if history else "event"
        if kind == "event":
            history.append(standalone())
        elif kind == "retraction":
            target = history[draw(st.integers(0, len(history) - 1))]
            history.append(EventRetracted(occurred=draw(occurred), target=target.event_id))
        else:
            correctable = [event for event in history if not isinstance(event, EventRetracted)]
            target = correctable[draw(st.integers(0, len(correctable) - 1))]
            history.append(
                EventCorrected(occurred=draw(occurred), target=target.event_id, replacement=standalone())
            )
    return history
