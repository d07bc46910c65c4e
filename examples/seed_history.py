"""The facts of the three seed articles as policytracker events, stored in a SQLite log and replayed.

Run it with ``python examples/seed_history.py [LOG]`` (LOG defaults to a fresh temporary ``.db`` file;
running it twice on the same LOG adds nothing, because ids are derived from content). Each event carries
its source; vague dates stay vague ("in January" is ``2025-01``, "in 2021" is ``2021``, "recently" in a
July 2025 article is ``2025``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from policytracker import (
    AdoptionEstimated,
    CompanyHeadquartered,
    Event,
    HoldingsReported,
    IMFConcernRaised,
    IMFProgramAgreed,
    IMFRefusal,
    LegalTenderAdopted,
    MiningPowerAllocated,
    OfficialAppointed,
    PartnershipFormed,
    PolicyStatement,
    RegulatorEstablished,
    ReserveAnnounced,
    ReservePurchase,
    ReserveStage,
    Source,
    VisitPlanned,
    country_name,
    open_log,
)

CRYPTONEWS = Source(
    publisher="Cryptonews",
    title="Pakistan and El Salvador Strengthen Diplomatic Ties With New Crypto Alliance",
    published="2025-07",
)
PARTNERSHIP_REPORT = Source(
    publisher="Crypto news report",
    title="Pakistan and El Salvador establish crypto-centered bilateral partnership: report",
    published="2025-07-17",
)
BLOOMBERG = Source(publisher="Bloomberg", published="2025-07")
RUSSIA_TRIP = Source(
    publisher="Crypto news report",
    title="El Salvador's Bukele plans trip to Russia; bitcoin likely on the agenda",
    published="2024",
)


def seed_events() -> list[Event]:
    """Every dated fact of the three seed articles, in the order the articles give them."""
    both = (CRYPTONEWS, PARTNERSHIP_REPORT)
    return [
        PartnershipFormed(
            occurred="2025-07",
            countries=("PK", "SV"),
            areas=("knowledge sharing", "digital asset infrastructure", "digital asset policy"),
            instrument="bilateral knowledge-sharing partnership",
            note="Agreed at a meeting in San Salvador between Bilal Bin Saqib and President Nayib Bukele; "
            "the first bilateral relationship with crypto at its centre.",
            sources=(*both, BLOOMBERG),
        ),
        OfficialAppointed(
            occurred="2025-07",
            country="PK",
            person="Bilal Bin Saqib",
            role="Special Assistant to the Prime Minister on Crypto and Blockchain",
            note="In office at the July 2025 meeting; also Head of the Pakistan Crypto Council.",
            sources=both,
        ),
        OfficialAppointed(
            occurred="2025-07",
            country="PK",
            person="Bilal Bin Saqib",
            role="Head of the Pakistan Crypto Council",
            sources=(PARTNERSHIP_REPORT,),
        ),
        OfficialAppointed(
            occurred="2025-07", country="SV", person="Nayib Bukele", role="President", sources=both
        ),
        PolicyStatement(
            occurred="2025-07",
            country="PK",
            text="Pakistan plans to structure its crypto markets under regulatory oversight.",
            topics=("regulation",),
            sources=(CRYPTONEWS,),
        ),
        MiningPowerAllocated(
            occurred="2025",
            country="PK",
            megawatts=2000,
            note="Reported in July 2025 as recent: 2,000 MW of additional power for bitcoin mining.",
            sources=both,
        ),
        ReserveAnnounced(
            occurred="2025",
            country="PK",
            asset="BTC",
            stage=ReserveStage.PLANNED,
            note="A strategic national bitcoin reserve, government-led; plans 'just started' in July 2025.",
            sources=both,
        ),
        RegulatorEstablished(
            occurred="2025",
            country="PK",
            name="Pakistan Virtual Assets Regulatory Authority",
            acronym="PVARA",
            note="Launched before July 2025 to oversee the domestic digital-asset market.",
            sources=(CRYPTONEWS,),
        ),
        AdoptionEstimated(
            occurred="2025",
            country="PK",
            holders=20_000_000,
            note="'Up to 20 million Pakistanis' hold crypto, said Bilal Bin Saqib earlier in 2025.",
            sources=(CRYPTONEWS,),
        ),
        PolicyStatement(
            occurred="2025",
            country="PK",
            text="The State Bank of Pakistan remains cautious about crypto.",
            topics=("central bank",),
            sources=(CRYPTONEWS,),
        ),
        LegalTenderAdopted(
            occurred="2021-09",
            country="SV",
            asset="BTC",
            note="The first country to adopt bitcoin as legal tender.",
            sources=(*both, RUSSIA_TRIP),
        ),
        IMFProgramAgreed(
            occurred="2025",
            country="SV",
            note="El Salvador keeps buying bitcoin while under an IMF agreement; size not reported here.",
            sources=both,
        ),
        HoldingsReported(
            occurred="2025-07",
            country="SV",
            asset="BTC",
            amount=6238,
            basis="government figures",
            note="About $745 million at mid-July 2025 prices.",
            sources=both,
        ),
        CompanyHeadquartered(occurred="2025-01", country="SV", company="Tether", sources=(CRYPTONEWS,)),
        IMFProgramAgreed(
            occurred="2024",
            country="PK",
            amount_usd=7_000_000_000,
            facility="loan programme",
            ends="2027",
            note="Received 'just last year' (2024) per the July 2025 report; runs into 2027.",
            sources=both,
        ),
        IMFConcernRaised(
            occurred="2025",
            country="SV",
            topic="state-level digital asset purchases",
            sources=both,
        ),
        OfficialAppointed(
            occurred="2025-06",
            country="SV",
            person="Maria Luisa Hayem",
            role="Minister of Economy",
            sources=both,
        ),
        ReservePurchase(
            occurred="2025-06",
            country="SV",
            asset="BTC",
            amount=7,
            note="Seven bitcoins bought despite the IMF agreement, per Economy Minister Hayem (June 2025).",
            sources=(CRYPTONEWS,),
        ),
        PolicyStatement(
            occurred="2025-06",
            country="SV",
            text="'Bitcoin keeps being an important project': President Bukele is committed to keep "
            "accumulating assets (Economy Minister Maria Luisa Hayem).",
            topics=("reserve", "bitcoin"),
            sources=both,
        ),
        IMFRefusal(
            occurred="2025-07",
            country="PK",
            proposal="subsidised electricity for bitcoin mining",
            note="'Earlier this month', per the 2025-07-17 report.",
            sources=(PARTNERSHIP_REPORT,),
        ),
        VisitPlanned(
            occurred="2024",
            country="SV",
            host="RU",
            official="Nayib Bukele",
            note="A trip to Moscow planned for the new year, bitcoin likely on the agenda; confirmed as "
            "under discussion by Alexander Ilyukhin of the Russian embassy; depends on US policy.",
            sources=(RUSSIA_TRIP,),
        ),
        PolicyStatement(
            occurred="2024",
            country="SV",
            text="El Salvador has not aligned itself with Western sanctions on Russia.",
            topics=("sanctions", "diplomacy"),
            sources=(RUSSIA_TRIP,),
        ),
        PolicyStatement(
            occurred="2024",
            country="RU",
            text="Russia turned to crypto to navigate international sanctions.",
            topics=("sanctions", "payments"),
            sources=(RUSSIA_TRIP,),
        ),
    ]


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else Path(tempfile.mkdtemp()) / "seed_history.db"
    with open_log(target) as log:
        result = log.append(seed_events())
        print(f"{target}: {len(result.written)} events appended, {len(result.unchanged)} already there")
        for country in ("PK", "SV", "RU"):
            records = sorted(log.read(country=country), key=lambda r: (r.event.occurred, r.position))
            print(f"\n{country_name(country)} ({len(records)} events)")
            for record in records:
                event = record.event
                print(f"  {event.occurred!s:<10}  {type(event).__name__:<22}  {_summary(event)}")
        report = log.verify()
        print(f"\ndigest chain: {'intact' if report.ok else report.reason} ({report.checked} records)")
    return 0 if report.ok else 1


def _summary(event: Event) -> str:
    for name in ("text", "proposal", "topic", "name", "company", "person", "amount", "megawatts", "host"):
        value = getattr(event, name, None)
        if value is not None:
            return str(value)[:60]
    return ", ".join(event.countries)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
