"""The built-in queries and appends pause Python's cyclic garbage collector while they work, and always
leave it as they found it."""

import gc

import pytest

import policytracker as pt
from policytracker._gcpause import collector_paused
from tests.log_contract import StepClock, purchase


@pytest.fixture
def collector():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_off_inside_and_on_again_after(collector):
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_after_an_error(collector):
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off(collector):
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_queries_leave_the_collector_as_they_found_it(collector, enabled):
    (gc.enable if enabled else gc.disable)()
    log = pt.open_log(":memory:", clock=StepClock())
    log.append([purchase(7), purchase(8, country="PK")])
    seen = []
    for query in (
        lambda: pt.country_states(log),
        lambda: pt.country_state(log, "SV"),
        lambda: pt.timeline(log, "SV"),
        lambda: pt.holdings_history(log, "SV"),
        lambda: pt.state_series(log, "SV", ["2026-01-01"]),
    ):
        query()
        seen.append(gc.isenabled())
    pt.save_snapshot(log)
    assert pt.country_states(log)["SV"].event_count == 1  # through the stored state
    seen.append(gc.isenabled())
    assert seen == [enabled] * 6


@pytest.mark.parametrize("enabled", [True, False])
def test_an_append_pauses_the_collector_and_leaves_it_as_it_found_it(collector, enabled, tmp_path):
    (gc.enable if enabled else gc.disable)()
    during = []

    def clock():  # called inside the append, once it holds the write lock
        during.append(gc.isenabled())
        return StepClock()()

    for target in (":memory:", tmp_path / "log.db", tmp_path / "log.jsonl"):
        with pt.open_log(target, clock=clock) as log:
            log.append([purchase(7)])
            assert gc.isenabled() is enabled
            with pytest.raises(pt.ValidationError):
                log.append([purchase(8), pt.EventRetracted(occurred="2025", target=purchase(9).event_id)])
            assert gc.isenabled() is enabled
    assert during == [False] * len(during)
    assert len(during) >= 3
