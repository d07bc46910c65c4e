"""The same workload on the eventsourcing library (SQLite), for comparison in the same benchmark run."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEvent, event
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex  # type: ignore[attr-defined]
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from workload import BATCH, SOURCES

# The same sources policytracker's events cite, as the JSON objects eventsourcing's transcoder stores as is.
ES_SOURCES = tuple(
    [
        {
            "publisher": s.publisher,
            **({"title": s.title} if s.title else {}),
            **({"published": str(s.published)} if s.published else {}),
        }
    ]
    for s in SOURCES
)

NAMESPACE = uuid.UUID("2f1a2a60-8c0e-4c55-8d0f-6a6ad0b4e5c1")


@dataclass(frozen=True)
class PolicyEvent(DomainEvent):
    kind: str
    country: str
    other: str
    occurred: str
    amount: Decimal
    note: str
    sources: list[dict[str, str]]


def _mapper() -> Mapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def _recorder(path: str) -> SQLiteApplicationRecorder:
    recorder = SQLiteApplicationRecorder(SQLiteDatastore(path))
    recorder.create_table()
    return recorder


def append(path: str, raws: list[tuple[Any, ...]]) -> None:
    """Construct each event and store it, in batches, as policytracker's benchmark does."""
    mapper, recorder = _mapper(), _recorder(path)
    versions: dict[str, int] = {}
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(raws), BATCH):
        stored = []
        for kind, country, other, occurred, amount, index in raws[start : start + BATCH]:
            version = versions.get(country, 0) + 1
            versions[country] = version
            event = PolicyEvent(
                originator_id=uuid.uuid5(NAMESPACE, country),
                originator_version=version,
                timestamp=now,
                kind=kind,
                country=country,
                other=other,
                occurred=occurred,
                amount=amount,
                note=f"#{index}",
                sources=ES_SOURCES[index % 3],
            )
            stored.append(mapper.to_stored_event(event))
        recorder.insert_events(stored)


def replay(path: str) -> dict[str, dict[str, Any]]:
    """Read every notification back and fold per-country state (holdings, partners, megawatts, counts)."""
    mapper, recorder = _mapper(), _recorder(path)
    states: dict[str, dict[str, Any]] = {}
    start = 1
    while True:
        notifications = recorder.select_notifications(start, BATCH)
        if not notifications:
            return states
        for notification in notifications:
            event = mapper.to_domain_event(notification)
            _apply(states, event)
        start = notifications[-1].id + 1


def _apply(states: dict[str, dict[str, Any]], event: Any) -> None:
    countries = (event.country, event.other) if event.kind == "partnership" else (event.country,)
    for country in countries:
        state = states.setdefault(
            country, {"holdings": Decimal(0), "partners": set(), "megawatts": Decimal(0), "count": 0}
        )
        state["count"] += 1
        if event.kind == "purchase":
            state["holdings"] += event.amount
        elif event.kind == "sale":
            state["holdings"] = max(Decimal(0), state["holdings"] - event.amount)
        elif event.kind == "holdings":
            state["holdings"] = event.amount * 10
        elif event.kind == "mining":
            state["megawatts"] += event.amount
        elif event.kind == "partnership":
            state["partners"].add(event.other if country == event.country else event.country)


# -- the application-level way, as the eventsourcing documentation shows it ----------------------------------


class CountryHistory(Aggregate):
    def __init__(self, country: str) -> None:
        self.country = country

    @event("Recorded")
    def record(
        self, kind: str, other: str, occurred: str, amount: Decimal, note: str, sources: list[dict[str, str]]
    ) -> None:
        pass


class PolicyApplication(Application):
    def register_transcodings(self, transcoder: Any) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DecimalAsStr())


def _app(path: str) -> Any:
    os.environ["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
    os.environ["SQLITE_DBNAME"] = path
    return PolicyApplication(), CountryHistory


def app_append(path: str, raws: list[tuple[Any, ...]]) -> None:
    app, history = _app(path)
    aggregates: dict[str, Any] = {}
    for start in range(0, len(raws), BATCH):
        touched: dict[str, Any] = {}
        for kind, country, other, occurred, amount, index in raws[start : start + BATCH]:
            aggregate = aggregates.get(country)
            if aggregate is None:
                aggregate = aggregates[country] = history(country)
            aggregate.record(
                kind=kind,
                other=other,
                occurred=occurred,
                amount=amount,
                note=f"#{index}",
                sources=ES_SOURCES[index % 3],
            )
            touched[country] = aggregate
        app.save(*touched.values())


def app_replay(path: str) -> dict[str, dict[str, Any]]:
    app, _ = _app(path)
    states: dict[str, dict[str, Any]] = {}
    countries: dict[Any, str] = {}
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start, BATCH)
        if not notifications:
            return states
        for notification in notifications:
            domain_event = app.mapper.to_domain_event(notification)
            if not hasattr(domain_event, "kind"):  # the aggregate's creation event names its country
                countries[domain_event.originator_id] = domain_event.country
                continue
            _apply(states, _AppEvent(domain_event, countries[domain_event.originator_id]))
        start = notifications[-1].id + 1


class _AppEvent:
    __slots__ = ("amount", "country", "kind", "other")

    def __init__(self, domain_event: Any, country: str) -> None:
        self.kind = domain_event.kind
        self.country = country
        self.other = domain_event.other
        self.amount = domain_event.amount
