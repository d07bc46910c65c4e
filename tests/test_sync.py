"""sync: a curated event file, edited and synced again and again, matches the log's effective history key
by key, and nothing is ever counted twice."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from tests.test_seed_history import DATASET


def buy(key, amount=7, occurred="2025-06", **fields):
    return pt.ReservePurchase(occurred=occurred, country="SV", amount=amount, key=key, **fields)


def effective_by_key(log):
    return {event.key: event for event in pt.effective_events(log.read())}


def actions(plan):
    return [(change.action, change.key) for change in plan.changes]


@pytest.fixture
def log():
    with pt.open_log(":memory:") as opened:
        yield opened


def test_new_keys_are_appended_in_one_append(log):
    plan = pt.sync(log, [buy("a"), buy("b", amount=1)])

    assert [("add", "a"), ("add", "b")] == actions(plan)
    assert 2 == len(plan.written.written) == log.head
    assert 1 == len({record.recorded_at for record in log.read()})
    assert {"a": buy("a"), "b": buy("b", amount=1)} == effective_by_key(log)


def test_a_second_sync_of_the_same_rows_writes_nothing(log):
    pt.sync(log, [buy("a"), buy("b", amount=1)])

    plan = pt.sync(log, [buy("a"), buy("b", amount=1)])

    assert () == plan.changes
    assert ("a", "b") == plan.unchanged
    assert plan.written is None
    assert 2 == log.head


def test_a_changed_row_becomes_a_correction_whose_replacement_keeps_the_key(log):
    pt.sync(log, [buy("a")])
    original = next(iter(log.read())).event

    plan = pt.sync(log, [buy("a", amount=8, note="figure corrected")])

    (change,) = plan.changes
    (correction,) = change.events
    assert ("correct", "a") == (change.action, change.key)
    assert (original, buy("a", amount=8, note="figure corrected")) == (change.before, change.after)
    assert isinstance(correction, pt.EventCorrected)
    assert original.event_id == correction.target
    assert "a" == correction.replacement.key
    assert Decimal(8) == pt.country_state(log, "SV").holdings["BTC"]


def test_a_missing_row_stays_unless_asked_to_retract_it(log):
    pt.sync(log, [buy("a"), buy("b", amount=1)])

    kept = pt.sync(log, [buy("a")])
    retracted = pt.sync(log, [buy("a")], retract_missing=True)

    assert () == kept.changes
    assert [("retract", "b")] == actions(retracted)
    assert isinstance(retracted.changes[0].events[0], pt.EventRetracted)
    assert {"a"} == set(effective_by_key(log))
    assert () == pt.sync(log, [buy("a")], retract_missing=True).changes


def test_a_row_back_in_the_file_is_restored(log):
    pt.sync(log, [buy("a"), buy("b", amount=1)])
    pt.sync(log, [buy("a")], retract_missing=True)

    plan = pt.sync(log, [buy("a"), buy("b", amount=1)], retract_missing=True)

    assert [("restore", "b")] == actions(plan)
    assert {"a": buy("a"), "b": buy("b", amount=1)} == effective_by_key(log)


def test_a_row_back_in_the_file_with_new_content_is_restored_as_it_now_reads(log):
    pt.sync(log, [buy("a")])
    pt.sync(log, [], retract_missing=True)

    plan = pt.sync(log, [buy("a", amount=3)])

    assert [("restore", "a")] == actions(plan)
    assert {"a": buy("a", amount=3)} == effective_by_key(log)


def test_flipping_a_row_back_and_forth_follows_every_edit(log):
    # The correction back to 8 has the content of the first one: sync must not take it as already made.
    for amount in (7, 8, 7, 8, 7):
        pt.sync(log, [buy("a", amount=amount)])

        assert Decimal(amount) == effective_by_key(log)["a"].amount


def test_removing_and_restoring_a_row_again_and_again_follows_every_edit(log):
    for rows in ([buy("a")], [], [buy("a")], [], [buy("a")], []):
        pt.sync(log, rows, retract_missing=True)

        assert {row.key: row for row in rows} == effective_by_key(log)


FILES = st.lists(
    st.dictionaries(st.sampled_from("abc"), st.sampled_from([1, 2, 3]), max_size=3), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None)
@given(versions=FILES, retract_missing=st.booleans())
def test_after_any_series_of_edits_the_log_says_what_the_file_says(versions, retract_missing):
    kept: dict[str, int] = {}
    with pt.open_log(":memory:") as log:
        for version in versions:
            rows = [buy(key, amount=amount) for key, amount in version.items()]
            pt.sync(log, rows, retract_missing=retract_missing)
            kept = version if retract_missing else {**kept, **version}

            assert kept == {key: int(event.amount) for key, event in effective_by_key(log).items()}
            assert () == pt.sync(log, rows, retract_missing=retract_missing).changes


def test_a_dry_run_plans_without_writing(log):
    pt.sync(log, [buy("a"), buy("b")])

    dry = pt.sync(log, [buy("a", amount=8), buy("c")], dry_run=True, retract_missing=True)

    assert [("correct", "a"), ("add", "c"), ("retract", "b")] == actions(dry)
    assert dry.written is None
    assert 2 == log.head
    assert dry.changes == pt.sync(log, [buy("a", amount=8), buy("c")], retract_missing=True).changes


def test_a_dry_run_plan_applies_with_the_head_it_was_made_against(log):
    plan = pt.sync(log, [buy("a")], dry_run=True)
    log.append([buy("z")])

    with pytest.raises(pt.ConcurrencyError):
        log.append(plan.events, expected_position=plan.head)


def test_a_log_that_does_not_exist_is_created(tmp_path):
    target = tmp_path / "new.db"

    dry = pt.sync(target, [buy("a")], dry_run=True)
    assert not target.exists()
    plan = pt.sync(target, [buy("a")])

    assert [("add", "a")] == actions(dry) == actions(plan)
    with pt.open_log(target) as log:
        assert {"a": buy("a")} == effective_by_key(log)


def test_a_file_is_read_with_its_line_numbers(tmp_path, log):
    path = tmp_path / "events.csv"
    path.write_text("key,type,occurred,country,amount\n\na,reserve.purchase,2025-06,SV,7\n")

    plan = pt.sync(log, path)

    assert [3] == [change.line for change in plan.changes]


def test_duplicate_keys_are_refused_naming_the_lines(tmp_path, log):
    path = tmp_path / "events.jsonl"
    rows = [buy("a"), buy("b"), buy("a", amount=2), buy("a", amount=3)]
    path.write_text("".join(pt.event_to_json(row) + "\n" for row in rows))

    with pytest.raises(pt.SerializationError) as info:
        pt.sync(log, path)

    assert "key 'a' is on lines 1, 3 and 4" in str(info.value)
    assert 0 == log.head


def test_rows_without_a_key_are_refused_naming_the_lines(tmp_path, log):
    path = tmp_path / "events.jsonl"
    rows = [buy("a"), pt.ReservePurchase(occurred="2025", country="SV", amount=1)]
    path.write_text("".join(pt.event_to_json(row) + "\n" for row in rows))

    with pytest.raises(pt.SerializationError) as info:
        pt.sync(log, path)

    assert "line 2: no key" in str(info.value)
    assert 0 == log.head


def test_retractions_and_corrections_in_the_file_are_refused(log):
    pt.sync(log, [buy("a")])
    retraction = pt.EventRetracted(occurred="2025", target=buy("a").event_id, key="x")

    with pytest.raises(pt.SerializationError, match=r"row 2: an event\.retracted row"):
        pt.sync(log, [buy("b"), retraction])


def test_an_unkeyed_copy_in_the_log_is_adopted_not_counted_twice(tmp_path):
    history = pt.load_events(DATASET)
    with pt.open_log(":memory:") as log:
        log.append([_without_key(event) for event in history])
        before = _figures(log)

        plan = pt.sync(log, DATASET)

        assert {"correct"} == {change.action for change in plan.changes}
        assert len(history) == len(plan.changes)
        assert before == _figures(log)
        assert {event.key for event in history} == set(effective_by_key(log))
        assert () == pt.sync(log, DATASET).changes


def _figures(log):
    return {
        code: (
            state.event_count,
            dict(state.holdings),
            state.partners,
            dict(state.officials),
            state.mining_megawatts,
        )
        for code, state in pt.country_states(log).items()
    }


def _without_key(event):
    fields = pt.event_to_dict(event)
    del fields["key"], fields["event_id"]
    return pt.event_from_dict(fields)


def test_two_events_of_one_key_in_the_log_are_refused(log):
    log.append([buy("a"), buy("a", amount=2)])

    with pytest.raises(pt.ValidationError, match="2 events with the key 'a'"):
        pt.sync(log, [buy("a")])


def test_ids_written_in_the_file_are_not_used(log):
    pt.sync(log, [buy("a")])
    edited = pt.event_to_dict(buy("a")) | {"amount": "8"}  # an exported row, edited: the old id stays

    plan = pt.sync(log, [pt.event_from_dict(edited)])

    (correction,) = plan.events
    assert buy("a", amount=8).event_id == correction.replacement.event_id


def test_the_seed_history_syncs_into_a_new_log(tmp_path):
    target = tmp_path / "seeds.jsonl"

    plan = pt.sync(target, DATASET)

    assert len(pt.load_events(DATASET)) == len(plan.changes) == plan.written.head
    assert () == pt.sync(target, DATASET).changes


def test_every_store_follows_a_file_through_its_edits(policytracker_log):
    log = policytracker_log
    for rows in ([buy("a"), buy("b")], [buy("a", amount=8)], [buy("a"), buy("b", amount=2)]):
        pt.sync(log, rows, retract_missing=True)

        assert {row.key: row for row in rows} == effective_by_key(log)
        assert () == pt.sync(log, rows, retract_missing=True).changes
    assert log.verify().ok
