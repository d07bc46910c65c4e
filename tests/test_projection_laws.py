"""Property tests: the laws every projection of the effective history obeys."""

import datetime as dt
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

import policytracker as pt
from policytracker._projections import _projector
from policytracker.testing import histories

COUNTRIES = ["PK", "SV", "RU", "AE"]
STANDALONE = (pt.EventRetracted, pt.EventCorrected)
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)

# A projection without a fast path, to check the built-in one against plain event-by-event application.
SLOW_COUNTRY_STATES = pt.Projection(
    name="slow", initial=pt.COUNTRY_STATES.initial, apply=pt.COUNTRY_STATES.apply
)
HOLDINGS_IDS = pt.Projection(
    name="holdings ids",
    initial=(),
    apply=lambda ids, event: (
        (*ids, event.event_id)
        if isinstance(event, pt.ReservePurchase | pt.ReserveSale | pt.HoldingsReported)
        else ids
    ),
)


LEDGER_TYPES = (pt.ReservePurchase, pt.ReserveSale, pt.PartnershipFormed)


def _ledger_apply(ledgers, event):
    if not isinstance(event, LEDGER_TYPES):
        return ledgers
    return {**ledgers, **{code: (*ledgers.get(code, ()), event.event_id) for code in event.countries}}


def _ledger_entry(country, ledger, events):
    ids = tuple(event.event_id for event in events if isinstance(event, LEDGER_TYPES))
    return None if ledger is None and not ids else (*(ledger or ()), *ids)


# A user's own per-country projection: per country, the ids of its purchases, sales and partnerships, in
# order; countries without any have no entry.
LEDGER = pt.Projection(name="ledger", initial={}, apply=_ledger_apply, fold_country=_ledger_entry)


def log_of(events):
    log = pt.open_log(":memory:")
    log.append(events)
    return log


def split(history):
    return [e for e in history if not isinstance(e, STANDALONE)], [
        e for e in history if isinstance(e, STANDALONE)
    ]


@given(histories(max_size=25, countries=COUNTRIES), st.randoms(use_true_random=False))
def test_the_result_does_not_depend_on_append_order(history, random):
    standalone, amendments = split(history)
    shuffled = standalone[:]
    random.shuffle(shuffled)

    assert pt.country_states(log_of(standalone + amendments)) == pt.country_states(
        log_of(shuffled + amendments)
    )


@given(histories(max_size=25, countries=COUNTRIES), st.data())
def test_folding_in_two_steps_equals_folding_whole(history, data):
    events = pt.effective_events(history)
    cut = data.draw(st.integers(0, len(events)))

    first = pt.fold(pt.COUNTRY_STATES, events[:cut])

    assert pt.fold(pt.COUNTRY_STATES, events) == pt.fold(pt.COUNTRY_STATES, events[cut:], state=first)


@given(histories(max_size=25, countries=COUNTRIES))
def test_the_fast_fold_equals_applying_event_by_event(history):
    events = pt.effective_events(history)

    assert pt.fold(SLOW_COUNTRY_STATES, events) == pt.fold(pt.COUNTRY_STATES, events)


@given(histories(max_size=25, countries=COUNTRIES))
def test_each_countrys_own_fold_equals_its_entry_in_the_whole_fold(history):
    events = pt.effective_events(history)
    for projection in (pt.COUNTRY_STATES, LEDGER):
        whole = pt.fold(projection, events)
        for code in [*COUNTRIES, "GB"]:  # GB: never mentioned
            mine = [event for event in events if code in event.countries]

            assert whole.get(code) == projection.fold_country(code, None, mine)


@given(histories(max_size=25, countries=COUNTRIES), st.data())
def test_a_projector_equals_a_full_replay(history, data):
    log = pt.open_log(":memory:")
    projectors = [pt.Projector(log), pt.Projector(log, HOLDINGS_IDS), pt.Projector(log, LEDGER)]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=4)))
    for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
        log.append(history[start:end])
        for projector in projectors:
            projector.catch_up()

        assert pt.country_states(log) == projectors[0].state
        assert pt.project(log, HOLDINGS_IDS) == projectors[1].state
        assert pt.project(log, LEDGER) == projectors[2].state


@given(histories(max_size=30, countries=COUNTRIES), st.data())
def test_a_projector_refolding_from_checkpoints_equals_a_full_replay(history, data):
    # Checkpoints every few events, so back-dated events and amendments refold from one of them.
    every = data.draw(st.integers(1, 4), label="checkpoint every")
    log = pt.open_log(":memory:")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=5)))
    with mock.patch.object(_projector, "_CHECKPOINT", every):
        projectors = [pt.Projector(log), pt.Projector(log, HOLDINGS_IDS), pt.Projector(log, LEDGER)]
        restored = pt.Projector(log)  # then, each round, restored from the last round's snapshot
        for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
            log.append(history[start:end])
            for projector in [*projectors, restored]:
                projector.catch_up()

            assert pt.country_states(log) == projectors[0].state
            assert pt.project(log, HOLDINGS_IDS) == projectors[1].state
            assert pt.project(log, LEDGER) == projectors[2].state
            assert projectors[0].state == restored.state
            restored = pt.Projector.from_snapshot(log, pt.COUNTRY_STATES, projectors[0].snapshot())


@given(histories(min_size=1, max_size=20, countries=COUNTRIES), st.data())
def test_retracting_an_event_equals_never_appending_it(history, data):
    standalone, _ = split(history)
    if not standalone:
        return
    victim = data.draw(st.sampled_from(standalone))
    kept = [event for event in standalone if event.event_id != victim.event_id]
    retraction = pt.EventRetracted(occurred="2025", target=victim.event_id)

    assert pt.country_states(log_of(kept)) == pt.country_states(log_of([*standalone, retraction]))


@given(histories(max_size=25, countries=COUNTRIES))
def test_as_of_and_known_at_beyond_everything_change_nothing(history):
    log = log_of(history)
    everything = pt.country_states(log)

    assert everything == pt.country_states(log, as_of="9999-12-31")
    assert everything == pt.country_states(log, known_at=FAR_FUTURE)


@given(
    histories(max_size=25, countries=COUNTRIES),
    st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2031, 1, 1)),
)
def test_as_of_equals_folding_only_the_events_over_by_then(history, day):
    log = log_of(history)
    over = [event for event in pt.effective_events(history) if event.occurred.latest <= day]

    assert pt.fold(pt.COUNTRY_STATES, over) == pt.country_states(log, as_of=day)


@given(histories(max_size=25, countries=COUNTRIES))
def test_a_serialisation_round_trip_of_the_log_changes_nothing(history):
    log = log_of(history)
    copy = pt.open_log(":memory:")
    for record in log.read():
        copy.append([pt.event_from_json(pt.event_to_json(record.event))])

    assert pt.country_states(log) == pt.country_states(copy)


@given(histories(max_size=25, countries=COUNTRIES))
def test_holdings_never_go_negative(history):
    for state in pt.country_states(log_of(history)).values():
        assert all(amount >= 0 for amount in state.holdings.values())


@given(histories(max_size=25, countries=COUNTRIES))
def test_reported_assets_are_the_assets_with_a_holdings_report_and_have_a_figure(history):
    for state in pt.country_states(log_of(history)).values():
        assert frozenset(state.holdings_reports) == state.reported_assets
        assert state.reported_assets <= state.holdings.keys()
