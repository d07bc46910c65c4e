"""Projections: example tests for each documented rule, built from the seed articles' facts."""

import datetime as dt
import pickle
import typing
from decimal import Decimal

import pytest

import policytracker as pt
from policytracker._projections._history import Resolver
from tests.log_contract import StepClock

UTC = dt.UTC
T1 = dt.datetime(2025, 7, 1, tzinfo=UTC)
T2 = dt.datetime(2025, 7, 18, tzinfo=UTC)
T3 = dt.datetime(2025, 8, 1, tzinfo=UTC)


def report(amount, occurred="2025-07-17", **fields):
    return pt.HoldingsReported(
        occurred=occurred, country="SV", amount=amount, basis="government figures", **fields
    )


def buy(amount, occurred="2025-06", **fields):
    return pt.ReservePurchase(occurred=occurred, country="SV", amount=amount, **fields)


def sell(amount, occurred="2025-08-01"):
    return pt.ReserveSale(occurred=occurred, country="SV", amount=amount)


def log_of(*batches, clock=None):
    log = pt.open_log(":memory:", clock=clock or StepClock(T1, T2, T3))
    for batch in batches:
        log.append(batch)
    return log


# -- holdings -----


def test_a_report_is_a_snapshot_and_later_purchases_add_to_it():
    log = log_of([buy(7, occurred="2025-03"), report(6238), buy(1, occurred="2025-07-20")])

    state = pt.country_state(log, "SV")

    assert Decimal(6239) == state.holdings["BTC"]
    assert () == state.conflicts


def test_reports_are_never_summed():
    log = log_of([report(6000, occurred="2025-06-01"), report(6000, occurred="2025-06-02")])

    assert Decimal(6000) == pt.country_state(log, "SV").holdings["BTC"]


def test_a_report_on_the_same_day_as_a_purchase_is_the_end_of_day_snapshot():
    log = log_of([report(6238), buy(7, occurred="2025-07-17"), report(6231, occurred="2025-07-16")])

    state = pt.country_state(log, "SV")

    assert Decimal(6238) == state.holdings["BTC"]
    assert () == state.conflicts


def test_a_disagreeing_report_is_kept_and_listed_as_a_conflict():
    first, second = report(6000, occurred="2025-06-01"), report(6238, occurred="2025-07-17")
    log = log_of([first, buy(7, occurred="2025-06-15"), second])

    state = pt.country_state(log, "SV")

    assert Decimal(6238) == state.holdings["BTC"]
    (conflict,) = state.conflicts
    assert (first.event_id, second.event_id) == conflict.event_ids
    assert "6238" in conflict.message
    assert "6007" in conflict.message
    assert second == state.holdings_reports["BTC"]


def test_a_sale_larger_than_the_holdings_leaves_zero_and_a_conflict():
    sale = sell(10)
    log = log_of([buy(7), sale])

    state = pt.country_state(log, "SV")

    assert Decimal(0) == state.holdings["BTC"]
    (conflict,) = state.conflicts
    assert (sale.event_id,) == conflict.event_ids
    assert "larger than the 7 BTC held" in conflict.message


def test_a_figure_of_purchases_alone_rests_on_no_holdings_report():
    state = pt.country_state(log_of([buy(7), sell(2, occurred="2025-07")]), "SV")

    assert ({"BTC": Decimal(5)}, frozenset()) == (dict(state.holdings), state.reported_assets)


def test_a_figure_from_a_report_rests_on_it_even_with_purchases_after_it():
    log = log_of([buy(7, occurred="2025-03"), report(6238), buy(1, occurred="2025-07-20")])

    assert frozenset({"BTC"}) == pt.country_state(log, "SV").reported_assets
    assert frozenset() == pt.country_state(log, "SV", as_of="2025-06").reported_assets


def test_a_retracted_report_leaves_a_figure_that_rests_on_no_report():
    holdings = report(6238)
    log = log_of([buy(7), holdings], [pt.EventRetracted(occurred="2025-07", target=holdings.event_id)])

    state = pt.country_state(log, "SV")

    assert ({"BTC": Decimal(7)}, frozenset()) == (dict(state.holdings), state.reported_assets)
    assert frozenset({"BTC"}) == pt.country_state(log, "SV", known_at=T1).reported_assets


def test_reported_assets_default_to_the_assets_of_the_holdings_reports():
    state = pt.CountryState(country="SV", holdings={"BTC": 6238}, holdings_reports={"BTC": report(6238)})

    assert frozenset({"BTC"}) == state.reported_assets


# -- latest wins, partners, the other fields -----


def test_legal_tender_reserve_and_bans_take_the_latest_by_valid_time():
    log = log_of(
        [
            pt.LegalTenderStatusChanged(occurred="2025-01-29", country="SV", status="voluntary"),
            pt.LegalTenderAdopted(occurred="2021-09", country="SV"),
            pt.ReserveAnnounced(occurred="2025-05", country="PK", stage="established"),
            pt.ReserveAnnounced(occurred="2025-03", country="PK", stage="planned"),
            pt.CryptoBanChanged(occurred="2023", country="PK", scope="mining", banned=True),
            pt.CryptoBanChanged(occurred="2025", country="PK", scope="mining", banned=False),
        ]
    )

    states = pt.country_states(log)

    assert {"BTC": pt.LegalTenderStatus.VOLUNTARY} == dict(states["SV"].legal_tender)
    assert {"BTC": pt.ReserveStage.ESTABLISHED} == dict(states["PK"].reserve)
    assert {"mining": False} == dict(states["PK"].bans)


def test_a_partnership_appears_in_every_partners_state():
    log = log_of([pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV"))])

    states = pt.country_states(log)

    assert frozenset({"SV"}) == states["PK"].partners
    assert frozenset({"PK"}) == states["SV"].partners


def test_every_field_is_built_from_its_event_type():
    pvara = pt.RegulatorEstablished(
        occurred="2025", country="PK", name="Pakistan Virtual Assets Regulatory Authority", acronym="PVARA"
    )
    programme = pt.IMFProgramAgreed(occurred="2024", country="PK", amount_usd=7_000_000_000, ends="2027")
    refusal = pt.IMFRefusal(occurred="2025-07", country="PK", proposal="electricity subsidy for mining")
    concern = pt.IMFConcernRaised(occurred="2025", country="PK", topic="state crypto purchases")
    visit = pt.VisitPlanned(occurred="2024", country="SV", host="RU", official="Nayib Bukele")
    log = log_of(
        [
            pvara,
            programme,
            refusal,
            concern,
            visit,
            pt.MiningPowerAllocated(occurred="2025", country="PK", megawatts=2000),
            pt.MiningPowerAllocated(occurred="2025-08", country="PK", megawatts="500.5"),
            pt.AdoptionEstimated(occurred="2024", country="PK", holders=15_000_000),
            pt.AdoptionEstimated(occurred="2025-03", country="PK", holders=20_000_000),
            pt.OfficialAppointed(
                occurred="2025-07", country="PK", person="Bilal Bin Saqib", role="crypto adviser"
            ),
            pt.CompanyHeadquartered(occurred="2025-01", country="SV", company="Tether"),
            pt.PolicyStatement(occurred="2025", country="PK", text="The central bank remains cautious."),
        ]
    )

    pk, sv, ru = (pt.country_state(log, code) for code in ("PK", "SV", "RU"))

    assert (pvara,) == pk.regulators
    assert "PVARA" == pk.regulators[0].acronym
    assert (programme,) == pk.imf_programs
    assert (refusal,) == pk.imf_refusals
    assert (concern,) == pk.imf_concerns
    assert Decimal("2500.5") == pk.mining_megawatts
    assert 20_000_000 == pk.crypto_holders
    assert {"crypto adviser": "Bilal Bin Saqib"} == dict(pk.officials)
    assert frozenset({"Tether"}) == sv.headquartered_companies
    assert (visit,) == sv.planned_visits == ru.planned_visits
    assert 10 == pk.event_count
    assert pt.FuzzyDate.parse("2025-08") == pk.last_occurred


def test_an_unknown_country_has_an_empty_state():
    state = pt.country_state(log_of(), "ru")

    assert pt.CountryState(country="RU") == state
    assert Decimal(0) == state.mining_megawatts
    assert state.crypto_holders is None


def test_country_state_refuses_unknown_codes():
    with pytest.raises(pt.ValidationError, match="'XX'"):
        pt.country_state(log_of(), "XX")


def test_states_are_frozen():
    state = pt.country_state(log_of([buy(7)]), "SV")

    with pytest.raises(TypeError):
        state.holdings["BTC"] = Decimal(0)


def test_unknown_event_types_are_ignored_by_built_in_projections():
    import attrs

    @pt.event_type("test.projection_ignored")
    @attrs.frozen(kw_only=True)
    class Rumoured(pt.CountryEvent):
        pass

    log = log_of([Rumoured(occurred="2025", country="SV"), buy(7)])

    assert 1 == pt.country_state(log, "SV").event_count


# -- valid time: as_of -----


def test_a_month_dated_event_counts_from_the_end_of_its_month():
    log = log_of([pt.IMFRefusal(occurred="2025-07", country="PK", proposal="subsidy")])

    assert () == pt.country_state(log, "PK", as_of=dt.date(2025, 7, 20)).imf_refusals
    assert 1 == len(pt.country_state(log, "PK", as_of=dt.date(2025, 7, 31)).imf_refusals)
    assert 1 == len(pt.country_state(log, "PK", as_of="2025-07").imf_refusals)


@pytest.mark.parametrize("as_of", [dt.datetime(2025, 7, 1, tzinfo=UTC), dt.datetime(2025, 7, 1), 20250701])
def test_as_of_refuses_datetimes_and_non_dates(as_of):
    with pytest.raises(pt.ValidationError, match="as_of"):
        pt.country_states(log_of(), as_of=as_of)


@pytest.mark.parametrize(
    "known_at",
    [dt.datetime(2025, 7, 1), dt.date(2025, 7, 1), "2025-07-01", "2025-07-01T10:00", "yesterday", 1751328000],
)
def test_known_at_refuses_naive_datetimes_and_dates(known_at):
    with pytest.raises(pt.ValidationError, match="known_at"):
        pt.country_states(log_of(), known_at=known_at)


def test_known_at_takes_an_iso_8601_string_with_a_time_zone():
    log = log_of([buy(7)], [report(6238)])

    assert pt.country_states(log, known_at=T1) == pt.country_states(log, known_at="2025-07-01T02:00+02:00")
    assert pt.country_states(log, known_at=T2) == pt.country_states(log, known_at="2025-07-18T00:00:00Z")


@pytest.mark.parametrize(
    "function",
    [
        pt.project,
        pt.country_states,
        pt.country_state,
        pt.effective_events,
        pt.timeline,
        pt.holdings_history,
        pt.partnership_graph,
    ],
)
def test_as_of_and_known_at_are_typed(function):
    hints = typing.get_type_hints(function)

    assert (pt.FuzzyDate | dt.date | str | None, dt.datetime | str | None) == (
        hints["as_of"],
        hints["known_at"],
    )


# -- record time: known_at, retractions, corrections -----


def test_known_at_shows_what_the_log_knew_then():
    log = log_of([buy(7)], [report(6238)])

    assert Decimal(7) == pt.country_state(log, "SV", known_at=T1).holdings["BTC"]
    assert Decimal(6238) == pt.country_state(log, "SV", known_at=T2).holdings["BTC"]
    assert {} == dict(pt.country_states(log, known_at=T1 - dt.timedelta(seconds=1)))


def test_a_retraction_acts_from_when_it_was_recorded():
    log = log_of([buy(7)], [pt.EventRetracted(occurred="2025-07", target=buy(7).event_id)])

    assert Decimal(7) == pt.country_state(log, "SV", known_at=T1).holdings["BTC"]
    assert "BTC" not in pt.country_state(log, "SV").holdings


def test_corrections_act_by_record_time_not_by_as_of():
    correction = pt.EventCorrected(occurred="2025-09", target=buy(7).event_id, replacement=buy(8))
    log = log_of([buy(7)], [correction])

    assert Decimal(8) == pt.country_state(log, "SV", as_of="2025-06").holdings["BTC"]
    assert Decimal(7) == pt.country_state(log, "SV", known_at=T1).holdings["BTC"]


def test_the_latest_correction_wins():
    target = buy(7).event_id
    log = log_of(
        [buy(7)],
        [pt.EventCorrected(occurred="2025-07", target=target, replacement=buy(9))],
        [pt.EventCorrected(occurred="2025-07", target=target, replacement=buy(8))],
    )

    assert Decimal(8) == pt.country_state(log, "SV").holdings["BTC"]


def test_a_correction_of_a_correction_replaces_it():
    first = pt.EventCorrected(occurred="2025-07", target=buy(7).event_id, replacement=buy(9))
    second = pt.EventCorrected(occurred="2025-07", target=first.event_id, replacement=buy(8))
    log = log_of([buy(7)], [first], [second])

    assert Decimal(8) == pt.country_state(log, "SV").holdings["BTC"]
    assert Decimal(9) == pt.country_state(log, "SV", known_at=T2).holdings["BTC"]


def test_a_retracted_correction_restores_what_it_replaced():
    correction = pt.EventCorrected(occurred="2025-07", target=buy(7).event_id, replacement=buy(9))
    log = log_of([buy(7)], [correction], [pt.EventRetracted(occurred="2025-08", target=correction.event_id)])

    assert Decimal(9) == pt.country_state(log, "SV", known_at=T2).holdings["BTC"]
    assert Decimal(7) == pt.country_state(log, "SV").holdings["BTC"]


def test_a_retracted_retraction_restores_the_event():
    retraction = pt.EventRetracted(occurred="2025-07", target=buy(7).event_id)
    log = log_of([buy(7)], [retraction], [pt.EventRetracted(occurred="2025-08", target=retraction.event_id)])

    assert Decimal(7) == pt.country_state(log, "SV").holdings["BTC"]


def test_a_correction_may_move_an_event_to_another_country_and_date():
    wrong = pt.IMFRefusal(occurred="2025-06", country="SV", proposal="electricity subsidy for mining")
    right = pt.IMFRefusal(occurred="2025-07", country="PK", proposal="electricity subsidy for mining")
    log = log_of([wrong], [pt.EventCorrected(occurred="2025-07", target=wrong.event_id, replacement=right)])

    states = pt.country_states(log)

    assert "SV" not in states
    assert (right,) == states["PK"].imf_refusals


# -- order independence -----


def test_the_result_does_not_depend_on_append_order():
    facts = [report(6238), buy(7, occurred="2025-07-17"), buy(1, occurred="2025-07"), sell(2)]

    assert pt.country_states(log_of(facts)) == pt.country_states(log_of(facts[::-1]))


# -- views -----


def test_timeline_lists_a_countrys_effective_events_in_valid_time_order():
    partnership = pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV"))
    log = log_of(
        [report(6238), partnership, buy(7), pt.IMFRefusal(occurred="2025-07", country="PK", proposal="x")]
    )

    assert (buy(7), partnership, report(6238)) == pt.timeline(log, "sv")
    assert (buy(7),) == pt.timeline(log, "SV", as_of="2025-06")


def test_holdings_history_is_the_series_of_dates_amounts_and_ids():
    log = log_of(
        [
            buy(7, occurred="2025-03"),
            report(6238),
            buy(1, occurred="2025-07-20"),
            buy(2, occurred="2025-07-20"),
        ]
    )

    series = pt.holdings_history(log, "SV", "btc")

    assert [("2025-03", Decimal(7)), ("2025-07-17", Decimal(6238)), ("2025-07-20", Decimal(6241))] == [
        (str(point.occurred), point.amount) for point in series
    ]
    assert 2 == len(series[-1].event_ids)


def test_the_partnership_graph_has_countries_as_nodes_and_dated_edges():
    trio = pt.PartnershipFormed(occurred="2025-08", countries=("PK", "SV", "AE"), areas=("mining",))
    retracted = pt.PartnershipFormed(occurred="2025-09", countries=("SV", "RU"))
    log = log_of(
        [pt.PartnershipFormed(occurred="2025-07", countries=("PK", "SV")), trio, retracted],
        [pt.EventRetracted(occurred="2025-09", target=retracted.event_id)],
    )

    graph = pt.partnership_graph(log)

    assert frozenset({"AE", "PK", "SV"}) == graph.nodes
    assert [("PK", "SV"), ("AE", "PK"), ("AE", "SV"), ("PK", "SV")] == [edge.countries for edge in graph]
    assert frozenset({"AE", "SV"}) == graph.partners_of("pk")
    assert [("PK", "SV")] == [edge.countries for edge in pt.partnership_graph(log, as_of="2025-07")]


# -- Projector and snapshots ---------------------------------------------------------------------------------


def test_a_projector_catches_up_with_appends():
    log = log_of([buy(7)])
    projector = pt.Projector(log)

    assert 1 == projector.catch_up()
    log.append([report(6238)])
    assert 1 == projector.catch_up()
    assert 0 == projector.catch_up()

    assert pt.country_states(log) == projector.state
    assert 2 == projector.position


def test_a_back_dated_event_refolds_only_the_countries_it_touches():
    log = log_of([report(6238), pt.IMFRefusal(occurred="2025-07", country="PK", proposal="subsidy")])
    projector = pt.Projector(log)
    projector.catch_up()
    pakistan = projector.state["PK"]

    log.append([buy(7, occurred="2025-01")])
    projector.catch_up()

    assert pakistan is projector.state["PK"]
    assert pt.country_states(log) == projector.state


def _purchases(totals, event):
    if not isinstance(event, pt.ReservePurchase):
        return totals
    return {**totals, event.country: totals.get(event.country, 0) + event.amount}


def _country_purchases(country, total, events):
    amounts = [event.amount for event in events if isinstance(event, pt.ReservePurchase)]
    return None if total is None and not amounts else sum(amounts, total or 0)


PURCHASES = pt.Projection(name="purchases", initial={}, apply=_purchases, fold_country=_country_purchases)


def test_a_projector_refolds_only_the_countries_a_per_country_projection_declares_touched():
    log = log_of([buy(7), pt.ReservePurchase(occurred="2025-07", country="PK", amount=1)])
    projector = pt.Projector(log, PURCHASES)
    projector.catch_up()
    pakistan = projector.state["PK"]

    log.append([buy(2, occurred="2025-01"), pt.EventRetracted(occurred="2025-07", target=buy(7).event_id)])
    projector.catch_up()

    assert pakistan is projector.state["PK"]
    assert {"PK": Decimal(1), "SV": Decimal(2)} == pt.project(log, PURCHASES) == projector.state


def test_a_per_country_projection_leaves_out_countries_it_gives_no_entry():
    log = log_of([buy(7), pt.IMFRefusal(occurred="2025-07", country="PK", proposal="subsidy")])
    projector = pt.Projector(log, PURCHASES)
    projector.catch_up()

    assert ["SV"] == list(projector.state)


@pytest.mark.parametrize("initial", [None, (), {"SV": 1}])
def test_a_per_country_projection_starts_from_an_empty_mapping(initial):
    with pytest.raises(ValueError, match="empty mapping"):
        pt.Projection(name="p", initial=initial, apply=_purchases, fold_country=_country_purchases)


def test_a_per_country_fold_must_be_a_function():
    with pytest.raises(ValueError, match="fold_country"):
        pt.Projection(name="p", initial={}, apply=_purchases, fold_country="yes")


def test_only_projections_that_declare_it_are_per_country():
    undeclared = pt.Projection(name="all purchases", initial={}, apply=_purchases)

    assert (True, False) == (pt.COUNTRY_STATES.per_country, undeclared.per_country)


def test_a_projector_runs_any_projection():
    counting = pt.Projection(name="count", initial=0, apply=lambda count, event: count + 1)
    log = log_of([buy(7), buy(8)])
    projector = pt.Projector(log, counting)
    projector.catch_up()
    log.append([pt.EventRetracted(occurred="2025-07", target=buy(7).event_id)])
    projector.catch_up()

    assert 1 == projector.state == pt.project(log, counting)


def test_a_snapshot_restores_a_projector_that_continues():
    log = log_of([buy(7)], [report(6238)])
    projector = pt.Projector(log)
    projector.catch_up()
    snapshot = projector.snapshot()
    log.append([sell(100)])

    restored = pt.Projector.from_snapshot(log, pt.COUNTRY_STATES, snapshot)
    restored.catch_up()

    assert (pt.COUNTRY_STATES.name, 1, 2) == (snapshot.name, snapshot.version, snapshot.position)
    assert pt.country_states(log) == restored.state
    assert Decimal(6238) == snapshot.state["SV"].holdings["BTC"]
    assert frozenset({"BTC"}) == snapshot.state["SV"].reported_assets


def test_a_pickled_snapshot_restores_a_projector_on_a_reopened_log(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        log.append([buy(7), report(6238)])
        projector = pt.Projector(log)
        projector.catch_up()
        (tmp_path / "snapshot.pickle").write_bytes(pickle.dumps(projector.snapshot()))
        log.append([sell(100), buy(1, occurred="2024-01")])  # the second one back-dated

    with pt.open_log(tmp_path / "log.db") as log:
        snapshot = pickle.loads((tmp_path / "snapshot.pickle").read_bytes())
        restored = pt.Projector.from_snapshot(log, pt.COUNTRY_STATES, snapshot)

        assert 2 == restored.catch_up()
        assert pt.country_states(log) == restored.state


def test_a_snapshot_is_refused_by_another_projection_or_log():
    log = log_of([buy(7)])
    projector = pt.Projector(log)
    projector.catch_up()
    snapshot = projector.snapshot()
    other_version = pt.Projection(name=pt.COUNTRY_STATES.name, version=2, initial={}, apply=lambda s, e: s)

    with pytest.raises(ValueError, match="version 2"):
        pt.Projector.from_snapshot(log, other_version, snapshot)
    with pytest.raises(pt.IntegrityError, match="position 1"):
        pt.Projector.from_snapshot(log_of([buy(8)]), pt.COUNTRY_STATES, snapshot)
    with pytest.raises(pt.IntegrityError):
        pt.Projector.from_snapshot(log_of(), pt.COUNTRY_STATES, snapshot)


def test_a_copied_resolver_is_independent_of_its_original():
    original = buy(7)
    first_fix = pt.EventCorrected(occurred="2025-07", target=original.event_id, replacement=buy(8))
    resolver = Resolver()
    for event in (original, first_fix):
        resolver.add(event)
    copy = resolver.copy()

    second_fix = pt.EventCorrected(occurred="2025-07", target=original.event_id, replacement=buy(9))
    resolver.add(second_fix)
    copy.add(pt.EventRetracted(occurred="2025-07", target=first_fix.event_id))

    assert [buy(9)] == resolver.effective()
    assert [buy(7)] == copy.effective()


def test_fold_applies_in_the_order_given():
    appended = pt.Projection(name="order", initial=(), apply=lambda seen, event: (*seen, event.event_id))
    events = [buy(2), buy(1)]

    assert tuple(event.event_id for event in events) == pt.fold(appended, events)


@pytest.mark.parametrize(("name", "version"), [("", 1), ("x", 0), ("x", "1")])
def test_projections_validate_name_and_version(name, version):
    with pytest.raises(ValueError, match="Projection"):
        pt.Projection(name=name, version=version, initial=None, apply=lambda s, e: s)


def test_the_seed_history_gives_pakistan_and_el_salvador_their_states():
    from tests.test_seed_history import DATASET

    log = log_of(pt.load_events(DATASET))

    pk, sv = pt.country_state(log, "PK"), pt.country_state(log, "SV")

    assert "PVARA" == pk.regulators[0].acronym
    assert Decimal(2000) == pk.mining_megawatts
    assert frozenset({"SV"}) == pk.partners
    assert {"BTC": pt.ReserveStage.PLANNED} == dict(pk.reserve)
    assert Decimal(6238) == sv.holdings["BTC"]
    assert {"BTC": pt.LegalTenderStatus.LEGAL_TENDER} == dict(sv.legal_tender)
    assert frozenset({"Tether"}) == sv.headquartered_companies
    assert ("RU",) == tuple(visit.host for visit in sv.planned_visits)
