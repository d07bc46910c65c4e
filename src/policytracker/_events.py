"""Event classes, their stable type tags, and the registry users extend with their own types."""

from __future__ import annotations

import enum
import functools
import inspect
import linecache
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, NewType, TypeVar, cast

import attrs

from policytracker import _validation as v
from policytracker._codec import (
    CLASSES,
    UNCHANGING_VALUES,
    UPCASTERS,
    EncodedOnce,
    Upcaster,
    defer_given_id,
    identify,
    valid_time_columns,
)
from policytracker._dates import FuzzyDate, day_ordinals
from policytracker.exceptions import ValidationError

__all__ = [
    "AdoptionEstimated",
    "CompanyHeadquartered",
    "CountryEvent",
    "CryptoBanChanged",
    "Event",
    "EventCorrected",
    "EventRetracted",
    "HoldingsReported",
    "IMFConcernRaised",
    "IMFProgramAgreed",
    "IMFRefusal",
    "LegalTenderAdopted",
    "LegalTenderStatus",
    "LegalTenderStatusChanged",
    "MiningPowerAllocated",
    "OfficialAppointed",
    "PartnershipFormed",
    "PolicyStatement",
    "RegulatorEstablished",
    "ReserveAnnounced",
    "ReservePurchase",
    "ReserveSale",
    "ReserveStage",
    "Source",
    "Upcaster",
    "VisitPlanned",
    "event_class",
    "event_type",
    "registered_event_types",
    "valid_time_columns",
]


_TAG = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*")
_RESERVED_FIELDS = frozenset({"type", "version"})


class ReserveStage(enum.Enum):
    """How far a national digital-asset reserve has got."""

    PLANNED = "planned"
    ESTABLISHED = "established"


class LegalTenderStatus(enum.Enum):
    """The legal standing of an asset as money in a country."""

    LEGAL_TENDER = "legal_tender"
    VOLUNTARY = "voluntary"
    REVOKED = "revoked"


# --- converters (named functions so that type checkers see what __init__ accepts) -----------------


def _occurred(value: FuzzyDate | str | Any) -> FuzzyDate:
    if type(value) is FuzzyDate:
        return value
    return v.to_fuzzy_date(value, field="occurred")


def _published(value: FuzzyDate | str | Any | None) -> FuzzyDate | None:
    return None if value is None else v.to_fuzzy_date(value, field="published")


def _ends(value: FuzzyDate | str | Any | None) -> FuzzyDate | None:
    return None if value is None else v.to_fuzzy_date(value, field="ends")


def _sources(value: Iterable[Source]) -> tuple[Source, ...]:
    """The sources as a set: each once, in a canonical order, so that the order a fact's sources were
    given in changes neither the event nor its id."""
    if type(value) is tuple and len(value) == 1 and type(value[0]) is Source:
        return value
    if isinstance(value, Source):
        return (value,)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"sources: expected a tuple of Source, got {value!r}", field="sources")
    items = tuple(value)
    for item in items:
        if not isinstance(item, Source):
            raise ValidationError(f"sources: expected Source objects, got {item!r}", field="sources")
    if len(items) < 2:
        return items
    return tuple(dict.fromkeys(sorted(items, key=_source_order)))


def _source_order(source: Source) -> tuple[str, str, str, tuple[int, int]]:
    published = (0, 0) if source.published is None else day_ordinals(source.published)
    return source.publisher, source.url or "", source.title or "", published


def _event_id(value: uuid.UUID | str | None) -> uuid.UUID | None:
    return None if value is None else v.to_uuid(value, field="event_id")


def _target(value: uuid.UUID | str) -> uuid.UUID:
    return v.to_uuid(value, field="target")


#: What the converters return, so that tools inferring values from them (Hypothesis's ``st.builds``) find
#: the testing kit's strategies of valid codes and amounts rather than of any string or number.
CountryCode = NewType("CountryCode", str)
PositiveAmount = NewType("PositiveAmount", Decimal)
NonNegativeAmount = NewType("NonNegativeAmount", Decimal)


def _country(value: str) -> CountryCode:
    return CountryCode(v.to_country(value, field="country"))


def _host(value: str) -> CountryCode:
    return CountryCode(v.to_country(value, field="host"))


def _partners(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"countries: expected a tuple of country codes such as ('PK', 'SV'), got {value!r}",
            field="countries",
        )
    codes = [v.to_country(code, field="countries") for code in value]
    if len(set(codes)) != len(codes):
        raise ValidationError(f"countries: a country is listed twice in {value!r}", field="countries")
    if len(codes) < 2:
        raise ValidationError(
            f"countries: a partnership needs at least two distinct countries, got {value!r}",
            field="countries",
        )
    return tuple(sorted(codes))


def _asset(value: str) -> str:
    return v.to_asset(value)


def _amount(value: Decimal | int | str) -> PositiveAmount:
    return PositiveAmount(v.to_decimal(value, field="amount"))


def _reported_amount(value: Decimal | int | str) -> NonNegativeAmount:
    return NonNegativeAmount(v.to_decimal(value, field="amount", allow_zero=True))


def _price_usd(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else v.to_decimal(value, field="price_usd")


def _amount_usd(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else v.to_decimal(value, field="amount_usd")


def _megawatts(value: Decimal | int | str) -> PositiveAmount:
    return PositiveAmount(v.to_decimal(value, field="megawatts"))


def _areas(value: Iterable[str]) -> tuple[str, ...]:
    return _as_set(v.to_text_tuple(value, field="areas"))


def _topics(value: Iterable[str]) -> tuple[str, ...]:
    return _as_set(v.to_text_tuple(value, field="topics"))


def _as_set(items: tuple[str, ...]) -> tuple[str, ...]:
    """Order-free text (areas, topics): each item once, sorted, so that the order changes no id."""
    return items if len(items) < 2 else tuple(sorted(set(items)))


def _enum_converter(enum_cls: type[enum.Enum], field: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, enum_cls):
            return value
        try:
            return enum_cls(value)
        except ValueError:
            choices = ", ".join(repr(member.value) for member in enum_cls)
            raise ValidationError(
                f"{field}: expected a {enum_cls.__name__} ({choices}), got {value!r}", field=field
            ) from None

    return convert


_to_stage = _enum_converter(ReserveStage, "stage")
_to_status = _enum_converter(LegalTenderStatus, "status")


def _stage(value: ReserveStage | str) -> ReserveStage:
    stage: ReserveStage = _to_stage(value)
    return stage


def _status(value: LegalTenderStatus | str) -> LegalTenderStatus:
    status: LegalTenderStatus = _to_status(value)
    return status


def _standalone(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, Event) or isinstance(value, EventRetracted | EventCorrected):
        raise ValidationError(
            f"{attribute.name}: expected a standalone event (not a retraction or correction), got {value!r}",
            field=attribute.name,
        )


# --- the common parts ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Source:
    """Where a fact comes from: a publisher, and optionally the article's URL, title and date."""

    publisher: str = attrs.field(validator=v.non_empty_text)
    url: str | None = attrs.field(default=None, validator=v.optional_text)
    title: str | None = attrs.field(default=None, validator=v.optional_text)
    published: FuzzyDate | None = attrs.field(default=None, converter=_published)


UNCHANGING_VALUES.add(Source)  # frozen, of text and a date: a source cannot change once made


@attrs.frozen(kw_only=True)
class Event(EncodedOnce):
    """Base class of every policy event: an immutable, dated, sourced fact.

    Subclasses are ``attrs`` frozen, keyword-only classes registered with :func:`event_type`, which gives
    them a stable type tag (``__event_tag__``) and schema version (``__event_version__``).

    ``event_id``, when not given, is derived from the event's content: the same fact imported twice has
    the same id. ``attrs.evolve`` re-derives the id of the changed copy, unless the id was given
    explicitly when the event was made (then the copy keeps it). Events read back from a log count as
    derived when their stored id equals the derived one.

    ``key`` is a curator's stable name for the row of an event file the event comes from (one line of
    text; ``""``, the default, for none): ``sync`` matches rows to events by it. It is part of the content,
    so it takes part in the id; an event without one keeps the id it had before keys existed.
    """

    __event_tag__: ClassVar[str]
    __event_version__: ClassVar[int]
    #: Where the event sorts among events of the same dates (the third part of the valid-time order).
    __valid_time_rank__: ClassVar[int] = 0
    #: Whether the event amends another (``target``): retractions and corrections.
    __amends__: ClassVar[bool] = False

    occurred: FuzzyDate = attrs.field(converter=_occurred)
    sources: tuple[Source, ...] = attrs.field(default=(), converter=_sources)
    note: str = attrs.field(default="", validator=v.text)
    key: str = attrs.field(default="", validator=v.one_line)
    event_id: uuid.UUID = attrs.field(init=False)
    # What the caller passed as ``event_id`` (None: derive it). Kept apart from the effective id so that
    # ``attrs.evolve``, which passes every init argument on, re-derives ids that were derived.
    _given_event_id: uuid.UUID | None = attrs.field(
        default=None, alias="event_id", converter=_event_id, eq=False, hash=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        if type(self) not in _CLASSES:
            raise TypeError(
                f"{type(self).__name__} is not a registered event type: decorate it with "
                "@policytracker.event_type('your.tag')"
            )
        given = _given_id(self)
        _set_event_id(self, identify(self) if given is None else given)

    @property
    def countries(self) -> tuple[str, ...]:
        """The ISO codes of the countries whose history this event belongs to."""
        return ()

    @property
    def tag(self) -> str:
        """The stable type tag of this event's class."""
        return type(self).__event_tag__


# The slots an event's constructor sets last, read and written as attrs' own __init__ does (the given id
# straight from its slot, before the codec puts its check in front of it).
_given_id = vars(Event)["_given_event_id"].__get__
_set_event_id = vars(Event)["event_id"].__set__
# An event read back from a log decides whether its stored id was given only when asked (see the codec).
defer_given_id(Event)


@attrs.frozen(kw_only=True)
class CountryEvent(Event):
    """An event about one country (``country``: an ISO 3166-1 alpha-2 code, or ``EU`` or ``XK``; an alpha-3
    code or an English name is accepted and stored as the alpha-2 code)."""

    country: str = attrs.field(converter=_country)

    @property
    def countries(self) -> tuple[str, ...]:
        return (self.country,)


# --- registry ---------------------------------------------------------------------------------------

_CLASSES: dict[type[Event], str] = {}

E = TypeVar("E", bound=type[Event])


def event_type(
    tag: str, *, version: int = 1, upcasters: Mapping[int, Upcaster] | None = None
) -> Callable[[E], E]:
    """Register an ``attrs`` event class under a stable type *tag* and schema *version*.

    Use it above ``@attrs.frozen(kw_only=True)``::

        @policytracker.event_type("sanction.evaded")
        @attrs.frozen(kw_only=True)
        class SanctionsEvaded(policytracker.CountryEvent):
            method: str

    *upcasters* maps an old version ``n`` to a function turning the stored fields of version ``n`` into
    those of ``n + 1``; their keys must run without gaps up to ``version - 1``.

    Raises:
        ValueError: the tag is malformed or taken by another class, the class is not an attrs subclass of
            ``Event``, it uses a reserved field name (``type``, ``version``), or the upcasters have gaps.
    """
    if not isinstance(tag, str) or not _TAG.fullmatch(tag):
        raise ValueError(f"event type tag {tag!r} must be lower-case dotted words, e.g. 'reserve.purchase'")
    if type(version) is not int or version < 1:
        raise ValueError(f"event type {tag!r}: version must be an int >= 1, got {version!r}")
    steps = dict(upcasters or {})
    if steps and sorted(steps) != list(range(min(steps), version)):
        raise ValueError(
            f"event type {tag!r}: upcasters must cover consecutive versions up to {version - 1}, "
            f"got versions {sorted(steps)}"
        )

    def register(cls: E) -> E:
        if not (isinstance(cls, type) and issubclass(cls, Event) and attrs.has(cast(type, cls))):
            raise ValueError(f"@event_type({tag!r}) needs an attrs subclass of Event, got {cls!r}")
        clash = _RESERVED_FIELDS.intersection(field.name for field in attrs.fields(cls))
        if clash:
            raise ValueError(f"event type {tag!r}: field names {sorted(clash)} are reserved")
        owner = CLASSES.get(tag)
        if owner is not None and owner is not cls:
            raise ValueError(f"event type tag {tag!r} is already registered to {owner.__qualname__}")
        cls.__event_tag__ = tag
        cls.__event_version__ = version
        _wrap_init(cls)
        _CLASSES[cls] = tag
        CLASSES[tag] = cls
        UPCASTERS[tag] = MappingProxyType(steps)
        return cls

    return register


def _wrap_init(cls: type[Event]) -> None:
    """Prefix construction errors with the class name, so they say which event was wrong."""
    init = cls.__init__
    if getattr(init, "__policytracker_wrapped__", False):
        return
    wrapper = _named_wrapper(cls, init) or _any_wrapper(cls, init)
    functools.update_wrapper(wrapper, init)
    wrapper.__policytracker_wrapped__ = True  # type: ignore[attr-defined]
    cls.__init__ = wrapper  # type: ignore[method-assign]


def _any_wrapper(cls: type[Event], init: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: Event, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            raise ValidationError(f"{cls.__name__}.{exc}", field=exc.field) from None

    return __init__


def _named_wrapper(cls: type[Event], init: Callable[..., None]) -> Callable[..., None] | None:
    """The wrapper generated with the signature of *init* (as attrs writes them: named parameters, each
    passed on by name), which costs a fraction of one taking ``**kwargs``: that one packs and unpacks a
    dict for every event made. None for any other signature."""
    names: dict[str, Any] = {"_init": init, "_ValidationError": ValidationError, "_name": cls.__name__}
    parameters, passed = [], []
    for number, parameter in enumerate(list(inspect.signature(init).parameters.values())[1:]):
        if parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            return None
        if not parameter.name.isidentifier() or parameter.name.startswith("_"):
            return None  # it could hide the names the wrapper uses
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in parameters:
            parameters.append("*")
        text = parameter.name
        if parameter.default is not parameter.empty:
            names[f"_d{number}"] = parameter.default
            text += f"=_d{number}"
        parameters.append(text)
        passed.append(f"{parameter.name}={parameter.name}")
    source = (
        f"def __init__(self, {', '.join(parameters)}):\n"
        "    try:\n"
        f"        _init(self, {', '.join(passed)})\n"
        "    except _ValidationError as exc:\n"
        "        raise _ValidationError(f'{_name}.{exc}', field=exc.field) from None\n"
    )
    filename = f"<policytracker init {cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for tracebacks
    exec(compile(source, filename, "exec"), names)
    wrapper: Callable[..., None] = names["__init__"]
    wrapper.__code__ = wrapper.__code__.replace(co_qualname=f"{cls.__qualname__}.__init__")
    return wrapper


def event_class(tag: str) -> type[Event]:
    """The class registered under *tag*.

    Raises:
        LookupError: no class is registered under *tag* (``KeyError`` is avoided on purpose: the message
            names the tag and lists the known ones).
    """
    cls = CLASSES.get(tag)
    if cls is None:
        raise LookupError(f"unknown event type tag {tag!r}; known tags: {', '.join(sorted(CLASSES))}")
    return cast(type[Event], cls)


def registered_event_types() -> Mapping[str, type[Event]]:
    """A read-only view of every registered tag and its class."""
    return cast(Mapping[str, type[Event]], MappingProxyType(CLASSES))


def upcasters_for(tag: str) -> Mapping[int, Upcaster]:
    """The upcasters registered with *tag* (version ``n`` → function to ``n + 1``)."""
    return UPCASTERS.get(tag, MappingProxyType({}))


# --- built-in event types ----------------------------------------------------------------------------


@event_type("partnership.formed")
@attrs.frozen(kw_only=True)
class PartnershipFormed(Event):
    """Two or more countries formed a partnership (``countries`` is sorted; ``areas`` what it covers)."""

    countries: tuple[str, ...] = attrs.field(converter=_partners)
    areas: tuple[str, ...] = attrs.field(default=(), converter=_areas)
    instrument: str = attrs.field(default="", validator=v.text)


@event_type("reserve.purchase")
@attrs.frozen(kw_only=True)
class ReservePurchase(CountryEvent):
    """A government bought an asset for its reserve (``amount`` > 0; ``price_usd`` per unit, if known)."""

    asset: str = attrs.field(default="BTC", converter=_asset)
    amount: Decimal = attrs.field(converter=_amount)
    price_usd: Decimal | None = attrs.field(default=None, converter=_price_usd)


@event_type("reserve.sale")
@attrs.frozen(kw_only=True)
class ReserveSale(CountryEvent):
    """A government sold an asset from its holdings (``amount`` > 0)."""

    asset: str = attrs.field(default="BTC", converter=_asset)
    amount: Decimal = attrs.field(converter=_amount)


@event_type("holdings.reported")
@attrs.frozen(kw_only=True)
class HoldingsReported(CountryEvent):
    """A snapshot of a government's holdings of an asset (``amount`` >= 0), never a delta."""

    # The end-of-day snapshot: it sorts after the purchases and sales of its dates.
    __valid_time_rank__: ClassVar[int] = 1

    asset: str = attrs.field(default="BTC", converter=_asset)
    amount: Decimal = attrs.field(converter=_reported_amount)
    basis: str = attrs.field(default="", validator=v.text)


@event_type("reserve.announced")
@attrs.frozen(kw_only=True)
class ReserveAnnounced(CountryEvent):
    """A national reserve of an asset was planned or established."""

    asset: str = attrs.field(default="BTC", converter=_asset)
    stage: ReserveStage = attrs.field(converter=_stage)


@event_type("imf.program_agreed")
@attrs.frozen(kw_only=True)
class IMFProgramAgreed(CountryEvent):
    """The IMF agreed a programme with a country (``amount_usd`` > 0 when reported; ``ends`` when it runs
    out). News often mentions a programme without its size, so ``amount_usd`` may be ``None``."""

    amount_usd: Decimal | None = attrs.field(default=None, converter=_amount_usd)
    facility: str = attrs.field(default="", validator=v.text)
    ends: FuzzyDate | None = attrs.field(default=None, converter=_ends)


@event_type("imf.refusal")
@attrs.frozen(kw_only=True)
class IMFRefusal(CountryEvent):
    """The IMF declined a country's proposal."""

    proposal: str = attrs.field(validator=v.non_empty_text)


@event_type("imf.concern_raised")
@attrs.frozen(kw_only=True)
class IMFConcernRaised(CountryEvent):
    """The IMF voiced a concern about a country's digital-asset policy."""

    topic: str = attrs.field(validator=v.non_empty_text)


@event_type("regulator.established")
@attrs.frozen(kw_only=True)
class RegulatorEstablished(CountryEvent):
    """A country set up a digital-asset regulator."""

    name: str = attrs.field(validator=v.non_empty_text)
    acronym: str = attrs.field(default="", validator=v.text)


@event_type("legal_tender.adopted")
@attrs.frozen(kw_only=True)
class LegalTenderAdopted(CountryEvent):
    """A country made an asset legal tender."""

    asset: str = attrs.field(default="BTC", converter=_asset)


@event_type("legal_tender.status_changed")
@attrs.frozen(kw_only=True)
class LegalTenderStatusChanged(CountryEvent):
    """The legal-tender status of an asset changed (made voluntary, revoked, restored)."""

    asset: str = attrs.field(default="BTC", converter=_asset)
    status: LegalTenderStatus = attrs.field(converter=_status)


@event_type("crypto_ban.changed")
@attrs.frozen(kw_only=True)
class CryptoBanChanged(CountryEvent):
    """A ban on some crypto activity (``scope``, e.g. "mining") was imposed (``banned=True``) or lifted."""

    scope: str = attrs.field(validator=v.non_empty_text)
    banned: bool = attrs.field(validator=v.strict_bool)


@event_type("mining.power_allocated")
@attrs.frozen(kw_only=True)
class MiningPowerAllocated(CountryEvent):
    """Electric power (``megawatts`` > 0) was allocated to crypto mining."""

    megawatts: Decimal = attrs.field(converter=_megawatts)


@event_type("adoption.estimated")
@attrs.frozen(kw_only=True)
class AdoptionEstimated(CountryEvent):
    """An estimate of how many people in a country hold crypto (``holders`` > 0)."""

    holders: int = attrs.field(validator=v.positive_int)


@event_type("official.appointed")
@attrs.frozen(kw_only=True)
class OfficialAppointed(CountryEvent):
    """A person was appointed to (or reported in) an official crypto-policy role."""

    person: str = attrs.field(validator=v.non_empty_text)
    role: str = attrs.field(validator=v.non_empty_text)


@event_type("visit.planned")
@attrs.frozen(kw_only=True)
class VisitPlanned(CountryEvent):
    """An official of ``country`` plans a visit to ``host``; it belongs to both countries' histories."""

    host: str = attrs.field(converter=_host)
    official: str = attrs.field(validator=v.non_empty_text)

    def __attrs_post_init__(self) -> None:
        if self.host == self.country:
            raise ValidationError(f"host: a visit to one's own country {self.host!r}", field="host")
        super().__attrs_post_init__()

    @property
    def countries(self) -> tuple[str, ...]:
        return (self.country, self.host)


@event_type("company.headquartered")
@attrs.frozen(kw_only=True)
class CompanyHeadquartered(CountryEvent):
    """A company opened its headquarters in a country."""

    company: str = attrs.field(validator=v.non_empty_text)


@event_type("policy.statement")
@attrs.frozen(kw_only=True)
class PolicyStatement(CountryEvent):
    """Anything else worth recording about a country's policy, with free-form ``topics``."""

    text: str = attrs.field(validator=v.non_empty_text)
    topics: tuple[str, ...] = attrs.field(default=(), converter=_topics)


@event_type("event.retracted")
@attrs.frozen(kw_only=True)
class EventRetracted(Event):
    """An earlier event (``target``) turned out false: projections act as if it was never appended.

    Its ``countries`` are those of its target, which only the log knows; here they are empty.
    """

    __amends__: ClassVar[bool] = True

    target: uuid.UUID = attrs.field(converter=_target)
    reason: str = attrs.field(default="", validator=v.text)


@event_type("event.corrected")
@attrs.frozen(kw_only=True)
class EventCorrected(Event):
    """An earlier event (``target``) is replaced by ``replacement`` (a standalone event)."""

    __amends__: ClassVar[bool] = True

    target: uuid.UUID = attrs.field(converter=_target)
    replacement: Event = attrs.field(validator=_standalone)

    @property
    def countries(self) -> tuple[str, ...]:
        return self.replacement.countries


#: The type tags of the events that amend others: retractions and corrections.
AMENDMENT_TAGS = frozenset({EventRetracted.__event_tag__, EventCorrected.__event_tag__})
