"""Events and states in words and colours for people: what the figures, the HTML tables and the report show.

Nothing here imports matplotlib; the figures (``_plot``) and the HTML (``_html``, ``_report``) share these
words, and :func:`lane_marks`'s choice of what a country's timeline shows, so that a figure's label, a
table's row and a report's entry always say the same thing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import attrs

from policytracker._countries import country_name
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
    LegalTenderStatusChanged,
    MiningPowerAllocated,
    OfficialAppointed,
    PartnershipFormed,
    PolicyStatement,
    RegulatorEstablished,
    ReserveAnnounced,
    ReservePurchase,
    ReserveSale,
    VisitPlanned,
)
from policytracker._log import EventLog
from policytracker._projections import CountryState, timeline
from policytracker._projections._history import AsOf, KnownAt, Resolver, check_as_of, check_known_at

__all__ = [
    "FAMILIES",
    "STATUSES",
    "Family",
    "Mark",
    "basis",
    "counted",
    "country_label",
    "family_of",
    "holding",
    "lane_marks",
    "number",
    "plain_number",
    "state_rows",
    "summary",
    "type_name",
]


@attrs.frozen(kw_only=True)
class Family:
    """A group of event types drawn in one colour (Okabe and Ito's palette, safe for colour blindness)."""

    name: str
    colour: str
    prefixes: tuple[str, ...]


#: The event families, by the first part of their type tags; ``other`` takes users' own types.
FAMILIES = (
    Family(name="reserves and holdings", colour="#0072B2", prefixes=("reserve.", "holdings.")),
    Family(name="IMF", colour="#D55E00", prefixes=("imf.",)),
    Family(
        name="law and regulators", colour="#009E73", prefixes=("legal_tender.", "regulator.", "crypto_ban.")
    ),
    Family(name="partnerships and visits", colour="#CC79A7", prefixes=("partnership.", "visit.")),
    Family(
        name="mining, adoption, companies", colour="#E69F00", prefixes=("mining.", "adoption.", "company.")
    ),
    Family(name="officials", colour="#56B4E9", prefixes=("official.",)),
    Family(name="statements", colour="#F0E442", prefixes=("policy.",)),
    Family(name="other", colour="#555555", prefixes=()),
)


def family_of(event: Event) -> Family:
    """The family *event* is drawn in (a correction: that of its replacement)."""
    if isinstance(event, EventCorrected):
        return family_of(event.replacement)
    tag = event.tag
    return next((family for family in FAMILIES if tag.startswith(family.prefixes)), FAMILIES[-1])


_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def type_name(event: Event) -> str:
    """The event's class name as words: ``IMFRefusal`` → ``IMF refusal``."""
    words = _WORD.findall(type(event).__name__) or [type(event).__name__]
    shown = [word if word.isupper() else word.lower() for word in words]
    return " ".join([shown[0][:1].upper() + shown[0][1:], *shown[1:]])


def number(value: Decimal | int) -> str:
    """*value* with thousands separators and no trailing zeros: ``6,238``, ``0.5``."""
    text = f"{value:,f}" if isinstance(value, Decimal) else f"{value:,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def counted(count: int, one: str, many: str = "") -> str:
    """``1 event``, ``2 events`` (*many*: the plural, when it is not *one* + s)."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def country_label(code: str) -> str:
    """``Pakistan (PK)``; a code pycountry does not name (``EU``, ``XK``) stays as it is."""
    name = country_name(code)
    return f"{name} ({code})" if name != code else code


def _countries(codes: Iterable[str]) -> str:
    return " and ".join(country_name(code) for code in codes)


def _programme(event: IMFProgramAgreed) -> str:
    size = f"USD {number(event.amount_usd)}" if event.amount_usd is not None else "size not reported"
    ends = f", to {event.ends}" if event.ends is not None else ""
    return f"{size}{', ' + event.facility if event.facility else ''}{ends}"


_SUMMARIES: dict[type[Event], Callable[[Any], str]] = {
    ReservePurchase: lambda e: (
        f"bought {number(e.amount)} {e.asset}"
        + (f" at USD {number(e.price_usd)}" if e.price_usd is not None else "")
    ),
    ReserveSale: lambda e: f"sold {number(e.amount)} {e.asset}",
    HoldingsReported: lambda e: f"holds {number(e.amount)} {e.asset}" + (f" ({e.basis})" if e.basis else ""),
    ReserveAnnounced: lambda e: f"{e.asset} reserve {e.stage.value}",
    PartnershipFormed: lambda e: _countries(e.countries) + (f": {', '.join(e.areas)}" if e.areas else ""),
    IMFProgramAgreed: _programme,
    IMFRefusal: lambda e: e.proposal,
    IMFConcernRaised: lambda e: e.topic,
    RegulatorEstablished: lambda e: e.name + (f" ({e.acronym})" if e.acronym else ""),
    LegalTenderAdopted: lambda e: f"{e.asset} made legal tender",
    LegalTenderStatusChanged: lambda e: f"{e.asset}: {e.status.value.replace('_', ' ')}",
    CryptoBanChanged: lambda e: f"{e.scope}: {'banned' if e.banned else 'allowed'}",
    MiningPowerAllocated: lambda e: f"{number(e.megawatts)} MW for mining",
    AdoptionEstimated: lambda e: f"{number(e.holders)} holders",
    OfficialAppointed: lambda e: f"{e.person}, {e.role}",
    VisitPlanned: lambda e: f"{e.official} to {country_name(e.host)}",
    CompanyHeadquartered: lambda e: e.company,
    PolicyStatement: lambda e: e.text,
    EventRetracted: lambda e: f"retracts {e.target}" + (f": {e.reason}" if e.reason else ""),
    EventCorrected: lambda e: f"corrects {e.target}: {summary(e.replacement)}",
}


def summary(event: Event) -> str:
    """What *event* says, in a few words (``bought 7 BTC``); for users' own types, their first text field."""
    describe = _SUMMARIES.get(type(event))
    if describe is not None:
        return describe(event)
    for field in attrs.fields(type(event)):
        value = getattr(event, field.name)
        if field.name not in ("note", "country") and isinstance(value, str) and value:
            return value
    return ""


def plain_number(value: Decimal | int) -> str:
    """*value* in full, without thousands separators, as spreadsheets read numbers."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def holding(state: CountryState, asset: str, number: Callable[[Decimal], str] = number) -> str:
    """*state*'s figure for *asset*, saying what it rests on (``6,238 BTC (report of 2025-07)``): a holdings
    report, or, without one, only the purchases minus the sales the history knows of, which is not what
    the country holds (``7 BTC net, no holdings report``)."""
    amount = state.holdings[asset]
    report = state.holdings_reports.get(asset)
    if asset not in state.reported_assets or report is None:
        return f"{number(amount)} {asset} net, no holdings report"
    since = "" if report.amount == amount else " plus later purchases and sales"
    return f"{number(amount)} {asset} (report of {report.occurred}{since})"


def basis(state: CountryState, asset: str) -> str:
    """What *state*'s figure for *asset* rests on, for a column beside the number."""
    report = state.holdings_reports.get(asset)
    if asset not in state.reported_assets or report is None:
        return "net purchases and sales, no holdings report"
    since = "" if report.amount == state.holdings[asset] else " plus later purchases and sales"
    return f"holdings report of {report.occurred}{since}"


def state_rows(state: CountryState, number: Callable[[Any], str] = number) -> list[tuple[str, str]]:
    """*state* as (label, text) rows (``—`` for nothing), numbers written by *number*: the table
    ``policytracker replay`` prints, the report's and ``CountryState._repr_html_``'s, and the text
    columns of the replay's CSV."""

    def listing(items: Iterable[str]) -> str:
        return "; ".join(items) or "—"

    def programme(p: IMFProgramAgreed) -> str:
        size = f"USD {number(p.amount_usd)}" if p.amount_usd is not None else "size not reported"
        return ", ".join(
            part for part in (size, p.facility, f"{p.occurred}" + (f" to {p.ends}" if p.ends else "")) if part
        )

    return [
        ("legal tender", listing(f"{a}: {s.value.replace('_', ' ')}" for a, s in state.legal_tender.items())),
        ("holdings", listing(holding(state, asset, number) for asset in state.holdings)),
        ("reserve", listing(f"{asset}: {stage.value}" for asset, stage in state.reserve.items())),
        ("regulators", listing(f"{summary(r)}, {r.occurred}" for r in state.regulators)),
        ("partners", listing(country_label(code) for code in sorted(state.partners))),
        ("IMF programmes", listing(programme(p) for p in state.imf_programs)),
        ("IMF refusals", listing(f"{r.proposal} ({r.occurred})" for r in state.imf_refusals)),
        ("IMF concerns", listing(f"{c.topic} ({c.occurred})" for c in state.imf_concerns)),
        ("mining", f"{number(state.mining_megawatts)} MW" if state.mining_megawatts else "—"),
        ("crypto holders", number(state.crypto_holders) if state.crypto_holders is not None else "—"),
        ("bans", listing(f"{scope}: {'banned' if b else 'allowed'}" for scope, b in state.bans.items())),
        ("officials", listing(f"{role}: {person}" for role, person in state.officials.items())),
        (
            "planned visits",
            listing(f"{v.official}, {v.country} to {v.host} ({v.occurred})" for v in state.planned_visits),
        ),
        ("companies", listing(sorted(state.headquartered_companies))),
        ("conflicts", listing(c.message for c in state.conflicts)),
    ]


# -- what a timeline's lane shows -----

#: How an event drawn in a timeline stands, as known at the moment asked about.
STATUSES = {
    "stands": "stands as recorded",
    "replacement": "stands, as a correction gave it",
    "superseded": "replaced by a correction",
    "retracted": "retracted",
}


@attrs.frozen(kw_only=True)
class Mark:
    """One event in one country's lane of a timeline, and how it stands (a key of ``STATUSES``)."""

    event: Event
    status: str


def lane_marks(
    log: EventLog, country: str, *, as_of: AsOf = None, known_at: KnownAt = None, amended: bool = True
) -> list[Mark]:
    """What a timeline draws in *country*'s lane: its effective events (see :func:`timeline`), and with
    *amended* also the versions retracted or replaced by a correction recorded by *known_at*, in
    valid-time order."""
    marks = [
        Mark(event=event, status="stands") for event in timeline(log, country, as_of=as_of, known_at=known_at)
    ]
    if not amended:
        return marks
    moment = None if known_at is None else check_known_at(known_at)
    last_day = None if as_of is None else check_as_of(as_of)
    records = []
    for record in log.read(country=country):
        if moment is not None and record.recorded_at > moment:
            break  # recorded_at never goes backwards
        records.append(record)
    root: dict[uuid.UUID, uuid.UUID] = {}  # an amendment's or a replacement's id -> the original's
    versions: dict[uuid.UUID, Event] = {}
    for record in records:
        event = record.event
        if isinstance(event, EventRetracted | EventCorrected):
            root[event.event_id] = root.get(event.target, event.target)
        if isinstance(event, EventCorrected):
            root.setdefault(event.replacement.event_id, root[event.event_id])
            versions.setdefault(event.replacement.event_id, event.replacement)
        elif not isinstance(event, EventRetracted):
            versions.setdefault(event.event_id, event)
    # Which version of each fact stands, whichever country it is about now: the country's records hold
    # the amendments of its facts, but not always their originals (a fact moved here from elsewhere).
    # (every retraction and correction is read: a retraction of a fact moved here is not about here).
    resolver = Resolver(open_world=True)
    for record in log.read(types=[EventRetracted, EventCorrected]):
        if moment is not None and record.recorded_at > moment:
            break
        resolver.add(record.event)
    standing = {event.event_id for event in timeline(log, country, known_at=known_at)}
    replacements = {event_id for event_id in versions if root.get(event_id, event_id) != event_id}
    marks = [
        attrs.evolve(mark, status="replacement") if mark.event.event_id in replacements else mark
        for mark in marks
    ]
    for event_id, event in versions.items():
        if event_id in standing or country not in event.countries:
            continue
        if last_day is not None and event.occurred.latest > last_day:
            continue
        status = "retracted" if resolver.amended_value(root.get(event_id, event_id)) is None else "superseded"
        marks.append(Mark(event=event, status=status))
    return sorted(marks, key=lambda mark: (mark.event.occurred, mark.status != "stands"))
