"""The benchmark workload: a deterministic stream of mixed policy events over 20 countries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import policytracker as pt

COUNTRIES = (
    "AE", "AR", "BR", "CN", "DE", "GB", "IN", "JP", "KE", "KR",
    "MX", "NG", "PK", "RU", "SG", "SV", "TH", "TR", "UA", "US",
)  # fmt: skip
KINDS = (
    ("purchase", 30),
    ("sale", 10),
    ("holdings", 10),
    ("statement", 20),
    ("mining", 10),
    ("refusal", 5),
    ("partnership", 5),
    ("official", 5),
    ("ban", 5),
)
SOURCES = (
    pt.Source(publisher="Cryptonews"),
    pt.Source(publisher="Bloomberg", title="Policy wire"),
    pt.Source(publisher="Reuters", published="2025-07"),
)
START = dt.date(2015, 1, 1)
BATCH = 1000


def raw_events(n: int, *, seed: int = 1, day_offset: int = 0) -> Iterator[tuple[Any, ...]]:
    """Plain tuples (kind, country, other country, occurred text, amount, index): what each library builds
    its own events from. Dates advance with the index, so later events are mostly later in valid time."""
    rng = random.Random(seed)
    names, weights = zip(*KINDS, strict=True)
    span = 3650
    for index in range(n):
        kind = rng.choices(names, weights)[0]
        country = rng.choice(COUNTRIES)
        other = rng.choice([c for c in COUNTRIES if c != country])
        day = START + dt.timedelta(days=day_offset + index * span // max(n, 1) + rng.randint(0, 30))
        precision = rng.random()
        occurred = (
            day.isoformat() if precision < 0.8 else day.isoformat()[:7] if precision < 0.95 else str(day.year)
        )
        amount = Decimal(rng.randint(1, 5000)) / (10 if rng.random() < 0.3 else 1)
        yield kind, country, other, occurred, amount, index


def policytracker_event(raw: tuple[Any, ...]) -> pt.Event:
    kind, country, other, occurred, amount, index = raw
    sources = (SOURCES[index % 3],)
    note = f"#{index}"
    if kind == "purchase":
        return pt.ReservePurchase(
            occurred=occurred, country=country, amount=amount, sources=sources, note=note
        )
    if kind == "sale":
        return pt.ReserveSale(occurred=occurred, country=country, amount=amount, sources=sources, note=note)
    if kind == "holdings":
        return pt.HoldingsReported(
            occurred=occurred, country=country, amount=amount * 10, sources=sources, note=note
        )
    if kind == "mining":
        return pt.MiningPowerAllocated(
            occurred=occurred, country=country, megawatts=amount, sources=sources, note=note
        )
    if kind == "refusal":
        return pt.IMFRefusal(
            occurred=occurred, country=country, proposal="subsidy", sources=sources, note=note
        )
    if kind == "partnership":
        return pt.PartnershipFormed(occurred=occurred, countries=(country, other), sources=sources, note=note)
    if kind == "official":
        return pt.OfficialAppointed(
            occurred=occurred,
            country=country,
            person=f"Person {index % 50}",
            role="adviser",
            sources=sources,
            note=note,
        )
    if kind == "ban":
        return pt.CryptoBanChanged(
            occurred=occurred,
            country=country,
            scope="mining",
            banned=index % 2 == 0,
            sources=sources,
            note=note,
        )
    return pt.PolicyStatement(
        occurred=occurred, country=country, text="A statement.", sources=sources, note=note
    )


def machine_reference(repeat: int = 5) -> float:
    """Seconds a fixed task that does not use policytracker takes on this machine, best of *repeat*: dict
    updates and string formatting in a Python loop, a stdlib JSON round trip and SHA-256 over 4 MB. The
    same code measured on the same machine class can run at half the speed on another day; printed beside
    a table, this shows how fast the machine ran (compare a row's seconds divided by it across runs)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        table: dict[str, int] = {}
        for number in range(200_000):
            key = f"k{number % 5000}"
            table[key] = table.get(key, 0) + number * 3
        json.loads(json.dumps(table))
        hashlib.sha256(bytes(4_000_000)).digest()
        best = min(best, time.perf_counter() - started)
    return best
