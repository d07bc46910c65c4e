"""The stored latest state (``save_snapshot``): ``country_states(log)`` loads it and folds in only what
was appended since, always equal to the state folded from the whole log; a state that does not match the
log is ignored and reported by ``verify()``, never trusted."""

import datetime as dt
import json
import os
import sqlite3
import uuid
from collections.abc import Mapping
from unittest import mock

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker._projections import _stored
from policytracker._projections._stored import latest_country_states
from policytracker.cli import main
from policytracker.testing import histories
from tests.log_contract import StepClock, purchase
from tests.test_one_country_reads import STORES, Stores
from tests.test_seed_history import DATASET

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
COUNTRIES = ["PK", "SV", "RU"]


def whole(log):
    """The reference: the built-in projection folded from the whole log, never from a stored state."""
    return pt.project(log, pt.COUNTRY_STATES)


def in_order(states):
    """*states* with each mapping field as its items in order: equal states whose mappings iterate in
    another order (which tables show) compare unequal."""
    return {
        code: {
            name: list(value.items()) if isinstance(value, Mapping) else value
            for name, value in attrs.asdict(state, recurse=False).items()
        }
        for code, state in states.items()
    }


@pytest.mark.parametrize("kind", [":memory:", *STORES])
@settings(max_examples=30, deadline=None)
@given(histories(max_size=30, countries=COUNTRIES), st.data())
def test_the_stored_state_plus_what_came_since_equals_the_whole_fold(kind, history, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), min_size=1, max_size=3)))
    snapshot_after = data.draw(st.sets(st.integers(0, len(cuts))), label="snapshot after batches")
    batches = list(zip([0, *cuts], [*cuts, len(history)], strict=True))
    window = data.draw(st.sampled_from([1, 2, 3, 512]), label="events kept after a checkpoint")
    stores = Stores()
    try:
        patched = mock.patch.object(_stored, "_WINDOW", window)
        patched.start()
        stores.on_close(patched.stop)
        # One stamp for every append, or one an hour: verify reads the log as known at a state's position.
        one_stamp = data.draw(st.booleans(), label="one stamp for every append")
        clock = StepClock(
            *([T0] if one_stamp else [T0 + dt.timedelta(hours=i) for i in range(len(batches) + 1)])
        )
        log = pt.open_log(":memory:", clock=clock) if kind == ":memory:" else stores.open(kind, clock)
        snapshots = 0
        for number, (start, end) in enumerate(batches):
            log.append(history[start:end])
            if number in snapshot_after:
                info = pt.save_snapshot(log)
                snapshots += 1
                assert log.head == info.position

            assert in_order(whole(log)) == in_order(pt.country_states(log))
        if snapshots:
            assert in_order(whole(log)) == in_order(latest_country_states(log))  # the stored state was used
            assert log.verify().ok
            assert _stored.stored_state_problem(log) is None  # what the command line's verify adds
    finally:
        stores.close()


def seeded(tmp_path, name="log.db"):
    log = pt.open_log(tmp_path / name, clock=StepClock())
    log.append(pt.load_events(DATASET))
    return log


def test_a_stored_state_keeps_the_order_of_each_mapping(tmp_path, monkeypatch):
    # Tables list officials, bans and holdings in the order the history gave them, with a snapshot too.
    monkeypatch.setattr(_stored, "_WINDOW", 1)  # a checkpoint after every other event
    with pt.open_log(tmp_path / "log.db") as log:
        log.append(
            [
                pt.OfficialAppointed(occurred="2025-01", country="SV", role="Treasurer", person="Zed"),
                pt.OfficialAppointed(occurred="2025-02", country="SV", role="Minister", person="Amy"),
                pt.CryptoBanChanged(occurred="2025-03", country="SV", scope="mining", banned=True),
                pt.CryptoBanChanged(occurred="2025-04", country="SV", scope="banks", banned=False),
                purchase(amount=1, asset="XRP", occurred="2025-05"),
                purchase(amount=1, asset="BTC", occurred="2025-06"),
                *[
                    pt.PolicyStatement(occurred="2025-07", country="SV", text=f"Nothing {n}.")
                    for n in range(4)
                ],
            ]
        )
        expected = whole(log)
        pt.save_snapshot(log)

        state = latest_country_states(log)["SV"]
    assert ["Treasurer", "Minister"] == list(state.officials)
    assert ["mining", "banks"] == list(state.bans)
    assert ["XRP", "BTC"] == list(state.holdings)
    assert in_order(expected) == in_order({"SV": state, **{c: s for c, s in expected.items() if c != "SV"}})


def test_appends_in_valid_time_order_are_folded_on_top(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        log.append(
            [purchase(amount=3, occurred="2026-01-02"), purchase(amount=4, country="PK", occurred="2026")]
        )

        info = pt.save_snapshot(log)

        assert () == info.refolded
        assert whole(log) == pt.country_states(log)


def test_a_snapshot_with_nothing_appended_since_the_last_one_refolds_no_country(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        again = pt.save_snapshot(log)

        assert () == again.refolded  # not None: nothing was folded from the whole log
        assert whole(log) == pt.country_states(log)


def test_an_event_among_the_kept_latest_events_is_folded_in_with_them(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        log.append([purchase(amount=1, occurred="2020-01-01")])  # back-dated, but SV keeps all its events

        assert () == pt.save_snapshot(log).refolded
        assert whole(log) == pt.country_states(log)


def test_an_event_before_the_checkpoint_or_an_amendment_refolds_only_the_countries_it_touches(tmp_path):
    with mock.patch.object(_stored, "_WINDOW", 2), seeded(tmp_path) as log:
        pt.save_snapshot(log)
        early = purchase(amount=1, occurred="2020-01-01")
        log.append([early, purchase(amount=2, country="PK", occurred="2030-01-01")])
        assert ("SV",) == pt.save_snapshot(log).refolded

        log.append([pt.EventRetracted(occurred="2026-01-01", target=early.event_id)])
        assert ("SV",) == pt.save_snapshot(log).refolded
        assert whole(log) == pt.country_states(log)


def test_a_fact_appended_again_as_a_standing_replacement_is_not_counted_twice(tmp_path):
    wrong, right = purchase(amount=5, occurred="2025-06-01"), purchase(amount=6, occurred="2025-06-01")
    with pt.open_log(tmp_path / "log.db", clock=StepClock()) as log:
        log.append(
            [wrong, pt.EventCorrected(occurred="2025-07-01", target=wrong.event_id, replacement=right)]
        )
        pt.save_snapshot(log)
        log.append([right])  # the same fact as the replacement: it counts once

        assert {"BTC": 6} == pt.country_states(log)["SV"].holdings
        assert whole(log) == pt.country_states(log)


def test_a_read_never_writes_the_state(tmp_path, monkeypatch):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        log.append([purchase(amount=3, occurred="2026-01-02")])

        def refuse(*_args):
            raise AssertionError("a read wrote the state")

        monkeypatch.setattr(type(log), "save_state", refuse)
        assert whole(log) == pt.country_states(log)


def _states_row(path):
    with sqlite3.connect(path) as connection:
        row = connection.execute("SELECT content, content_digest FROM states").fetchone()
    connection.close()
    return row


def _set_state(path, content, content_digest=None):
    with sqlite3.connect(path) as connection:
        if content_digest is None:
            connection.execute("UPDATE states SET content = ?", (content,))
        else:
            connection.execute("UPDATE states SET content = ?, content_digest = ?", (content, content_digest))
    connection.close()


def _forge(path, obj, *, position=None, digest=None):
    """Store *obj* as the stored state of the SQLite log at *path*, as canonical JSON with the digest of
    its content (what anyone who can write the file can do), at *position* and *digest* when given; return
    the content."""
    import hashlib

    from policytracker._canonical import canonical_json

    content = canonical_json(obj)
    columns = {"content": content, "content_digest": hashlib.sha256(content.encode()).hexdigest()}
    if position is not None:
        columns.update(position=position, digest=digest)
    with sqlite3.connect(path) as connection:
        connection.execute(
            f"UPDATE states SET {', '.join(f'{name} = ?' for name in columns)}", tuple(columns.values())
        )
    connection.close()
    return content


def test_a_changed_state_is_ignored_and_reported_by_verify(tmp_path):
    with seeded(tmp_path) as log:
        expected = whole(log)
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    _set_state(tmp_path / "log.db", content.replace('"6238"', '"9999"'))

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert expected == pt.country_states(log)
        report = log.verify()
    assert not report.ok
    assert "does not match its digest" in report.reason
    assert 23 == report.head  # the records themselves are intact


def test_a_state_of_another_projection_version_is_ignored(tmp_path):
    import hashlib

    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    other = content.replace('"projection_version":1', '"projection_version":2')
    _set_state(tmp_path / "log.db", other, hashlib.sha256(other.encode()).hexdigest())

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert whole(log) == pt.country_states(log)


def test_the_command_line_notes_a_state_of_another_projection_version(tmp_path, capsys):
    import hashlib

    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    other = content.replace('"projection_version":1', '"projection_version":2')
    _set_state(tmp_path / "log.db", other, hashlib.sha256(other.encode()).hexdigest())

    assert 0 == main(["verify", str(tmp_path / "log.db")])
    captured = capsys.readouterr()
    assert 1 == len(captured.out.splitlines())  # the head stays the last word of the output
    assert captured.out.startswith("ok: 23 records")
    assert (
        "note: the stored latest state is of projection version 2, which this version of policytracker does "
        "not read (it writes format 4, projection version 1): reads fold every record until "
        "`policytracker snapshot LOG` writes it again\n"
    ) == captured.err


@pytest.mark.parametrize(("key", "value"), [("position", 22), ("digest", "ab" * 32)])
def test_a_state_whose_content_names_another_record_than_its_row_is_ignored_and_reported(
    tmp_path, capsys, key, value
):

    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    obj[key] = value
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    assert "its content names another record than the one it is stored at" in capsys.readouterr().err


def test_the_command_line_says_nothing_more_of_a_state_reads_use(tmp_path, capsys):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        log.append([purchase(amount=7, occurred="2026-06-01")])  # appended since: still used

    assert 0 == main(["verify", str(tmp_path / "log.db")])
    captured = capsys.readouterr()
    assert ["ok"] == [line.split(":")[0] for line in captured.out.splitlines()]
    assert "" == captured.err


def test_a_state_taken_from_another_log_is_ignored_and_reported(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    other = tmp_path / "other.db"
    with pt.open_log(other, clock=StepClock(T0)) as log:
        log.append(pt.load_events(DATASET))
    with sqlite3.connect(other) as connection:
        connection.execute(f"ATTACH DATABASE '{tmp_path / 'log.db'}' AS first")
        connection.execute("CREATE TABLE states AS SELECT * FROM first.states")
    connection.close()

    with pt.open_log(other) as log:
        assert latest_country_states(log) is None
        assert whole(log) == pt.country_states(log)
        assert "of another log" in log.verify().reason


def test_rebuilding_ignores_the_stored_state(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        assert pt.save_snapshot(log, rebuild=True).refolded is None


def test_a_read_only_log_cannot_keep_a_state(tmp_path):
    path = tmp_path / "log.db"
    seeded(tmp_path).close()
    from policytracker._log.sqlite import SQLiteLog

    with SQLiteLog(path, read_only=True) as log, pytest.raises(PermissionError):
        pt.save_snapshot(log)


def test_the_command_line_writes_the_state(tmp_path, capsys):
    seeded(tmp_path).close()
    path = str(tmp_path / "log.db")

    assert 0 == main(["snapshot", path])
    out = capsys.readouterr().out
    assert "stored the latest state of 3 countries at position 23" in out

    assert 0 == main(["replay", path, "--format", "json"])
    states = json.loads(capsys.readouterr().out)
    assert "6238" == states["SV"]["holdings"]["BTC"]


def test_the_command_line_names_one_country_in_the_singular(tmp_path, capsys):
    path = str(tmp_path / "one.db")
    with pt.open_log(path) as log:
        log.append([purchase(amount=7, occurred="2025-06-01")])

    assert 0 == main(["snapshot", path])
    assert (
        "stored the latest state of 1 country at position 1 (folded from every record)"
        in capsys.readouterr().out
    )
    assert 0 == main(["snapshot", path])
    assert "of 1 country at position 1 (brought up to date; refolded no country)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("column", "value"), [("position", "x"), ("content", b"\x00\xff"), ("digest", b"\x01"), ("position", 2.5)]
)
def test_a_state_row_of_the_wrong_types_is_ignored_and_reported(tmp_path, capsys, column, value):
    with seeded(tmp_path) as log:
        expected = whole(log)
        pt.save_snapshot(log)
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute(f"UPDATE states SET {column} = ?", (value,))
    connection.close()

    with pt.open_log(tmp_path / "log.db") as log:
        assert expected == pt.country_states(log)
        assert not log.verify().ok
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    assert "not ok: the stored state" in capsys.readouterr().err


def test_a_stored_state_does_not_hide_a_removed_record(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute("DELETE FROM records WHERE position = 10")
    connection.close()

    with pt.open_log(tmp_path / "log.db") as log, pytest.raises(pt.IntegrityError, match="position 10"):
        pt.country_states(log)


@pytest.mark.parametrize("digit", ["+", "_", "A", " "])
def test_a_state_with_conflict_ids_that_are_not_lowercase_hex_is_ignored(tmp_path, digit, monkeypatch):
    import hashlib

    monkeypatch.setattr(_stored, "_WINDOW", 1)  # a checkpoint after every other event: conflicts are stored
    with seeded(tmp_path) as log:
        log.append([pt.HoldingsReported(occurred="2026-01-01", country="SV", amount=n) for n in (10, 20)])
        expected = whole(log)
        assert expected["SV"].conflicts  # each report disagrees with the one before
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    start = content.index('"event_ids":"') + len('"event_ids":"')
    other = content[:start] + digit + content[start + 1 :]  # same length: only the digit is wrong
    _set_state(tmp_path / "log.db", other, hashlib.sha256(other.encode()).hexdigest())

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert expected == pt.country_states(log)


def _damaged_conflicts(damage):
    """Edit the first stored conflicts of a state, in place, as *damage* says."""

    def edit(conflicts):
        if damage == "a message too few":
            conflicts["messages"].pop()
        elif damage == "a size too many":
            conflicts["sizes"].append(1)
        elif damage == "a size one more":
            conflicts["sizes"][0] += 1
        elif damage == "a size as text":
            conflicts["sizes"][0] = str(conflicts["sizes"][0])
        elif damage == "a negative size":
            conflicts["sizes"][0] = -conflicts["sizes"][0]
        elif damage == "a message that is not text":
            conflicts["messages"][0] = 7
        elif damage == "ids one short":
            conflicts["event_ids"] = conflicts["event_ids"][:-32]
        elif damage == "an id named twice in one conflict":
            first = conflicts["sizes"].index(2)
            start = 32 * sum(conflicts["sizes"][:first])
            ids = conflicts["event_ids"]
            conflicts["event_ids"] = ids[: start + 32] + ids[start : start + 32] + ids[start + 64 :]
        elif damage == "a column the projection does not write":
            conflicts["kinds"] = ["report"] * len(conflicts["sizes"])

    return edit


@pytest.mark.parametrize(
    "damage",
    [
        "a message too few",
        "a size too many",
        "a size one more",
        "a size as text",
        "a negative size",
        "a message that is not text",
        "ids one short",
        "an id named twice in one conflict",
        "a column the projection does not write",
    ],
)
def test_a_state_whose_conflict_columns_are_out_of_step_is_ignored(tmp_path, damage, monkeypatch):

    monkeypatch.setattr(_stored, "_WINDOW", 1)  # a checkpoint after every other event: conflicts are stored
    with seeded(tmp_path) as log:
        log.append([pt.HoldingsReported(occurred="2026-01-01", country="SV", amount=n) for n in (10, 20, 30)])
        expected = whole(log)
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    stored = [entry["checkpoint"]["conflicts"] for entry in obj["countries"].values() if entry["checkpoint"]]
    conflicts = next(each for each in stored if each["messages"])
    _damaged_conflicts(damage)(conflicts)
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert expected == pt.country_states(log)


def test_conflicts_are_stored_column_by_column(tmp_path, monkeypatch):
    monkeypatch.setattr(_stored, "_WINDOW", 1)
    with seeded(tmp_path) as log:
        log.append([pt.HoldingsReported(occurred="2026-01-01", country="SV", amount=n) for n in (10, 20, 30)])
        expected = whole(log)
        pt.save_snapshot(log)
        assert expected == latest_country_states(log)
    obj = json.loads(_states_row(tmp_path / "log.db")[0])
    conflicts = obj["countries"]["SV"]["checkpoint"]["conflicts"]

    assert obj["format"] == 4
    assert sorted(conflicts) == ["event_ids", "messages", "sizes"]
    assert len(conflicts["messages"]) == len(conflicts["sizes"]) >= 1
    assert len(conflicts["event_ids"]) == 32 * sum(conflicts["sizes"])


def _rekeyed(countries, old, new):
    countries[new] = countries.pop(old)


@pytest.mark.parametrize(
    ("damage", "edit"),
    [
        ("an event count that is text", lambda c: c["SV"]["checkpoint"].update(event_count="x")),
        ("an event count that is true", lambda c: c["SV"]["checkpoint"].update(event_count=True)),
        ("holdings that are not a number", lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", "sNaN")),
        ("holdings as a JSON number", lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", 7)),
        ("negative megawatts", lambda c: c["SV"]["checkpoint"].update(mining_megawatts="-1")),
        ("a partner that is not text", lambda c: c["SV"]["checkpoint"].update(partners=[7])),
        ("a country's state under another code", lambda c: c["SV"]["checkpoint"].update(country="PK")),
        ("a country key in lower case", lambda c: _rekeyed(c, "SV", "sv")),
        (
            "a conflict naming no event",
            lambda c: c["SV"]["checkpoint"]["conflicts"]["sizes"].__setitem__(0, 0),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_state_with_a_value_of_the_wrong_kind_is_ignored_before_and_after_an_append(
    tmp_path, damage, edit, monkeypatch
):

    monkeypatch.setattr(_stored, "_WINDOW", 1)  # a checkpoint after every other event
    with seeded(tmp_path) as log:
        log.append([pt.HoldingsReported(occurred="2026-01-01", country="SV", amount=n) for n in (10, 20, 30)])
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    if damage == "a conflict naming no event":
        conflicts = obj["countries"]["SV"]["checkpoint"]["conflicts"]
        conflicts["event_ids"] = conflicts["event_ids"][32 * conflicts["sizes"][0] :]
    edit(obj["countries"])
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db", clock=StepClock(T0 + dt.timedelta(days=400))) as log:
        assert latest_country_states(log) is None
        assert whole(log) == pt.country_states(log)
        log.append([purchase(amount=3, occurred="2026-02-01")])
        assert latest_country_states(log) is None
        assert whole(log) == pt.country_states(log)


def test_a_state_whose_amounts_print_with_an_exponent_is_read_back(tmp_path, monkeypatch):
    monkeypatch.setattr(_stored, "_WINDOW", 1)  # a checkpoint after every other event
    with pt.open_log(tmp_path / "log.db", clock=StepClock()) as log:
        log.append(
            [
                purchase(amount="1.00000001", occurred="2025-01"),
                pt.ReserveSale(occurred="2025-02", country="SV", amount="1.00000001"),
                pt.PolicyStatement(occurred="2025-03", country="SV", text="Holdings are nil."),
                pt.PolicyStatement(occurred="2025-04", country="SV", text="Still nil."),
                purchase(amount=1, country="PK", occurred="2025-03"),
                purchase(amount=2, country="PK", occurred="2025-04"),
            ]
        )
        pt.save_snapshot(log)
        assert str(whole(log)["SV"].holdings["BTC"]) == "0E-8"

        assert whole(log) == latest_country_states(log)
    content, _ = _states_row(tmp_path / "log.db")
    assert json.loads(content)["countries"]["SV"]["checkpoint"]["holdings"] == [["BTC", "0E-8"]]


def _move_tail_event(countries, source, target):
    countries[target]["tail"].append(countries[source]["tail"].pop())


def _retraction_in_tail(countries):
    kept = countries["SV"]["tail"][0]
    retraction = pt.EventRetracted(occurred="2026-01-01", target=uuid.UUID(kept["event_id"]))
    countries["SV"]["tail"].append(json.loads(pt.event_to_json(retraction)))


def _put(checkpoint, field, key, value):
    """Set *key* of the mapping *field* of a stored *checkpoint* (a list of [key, value] pairs)."""
    pairs = checkpoint[field]
    for pair in pairs:
        if pair[0] == key:
            pair[1] = value
            return
    pairs.append([key, value])


def _drop(checkpoint, field, key):
    checkpoint[field] = [pair for pair in checkpoint[field] if pair[0] != key]


def _report_under(checkpoint, asset):
    checkpoint["holdings_reports"] = [
        [asset if key == "BTC" else key, report] for key, report in checkpoint["holdings_reports"]
    ]
    checkpoint["reported_assets"] = sorted(key for key, _ in checkpoint["holdings_reports"])


def _concern_of(countries, code):
    concern = countries["SV"]["checkpoint"]["imf_concerns"][0]
    other = pt.IMFConcernRaised(occurred=concern["occurred"], country=code, topic=concern["topic"])
    concern.clear()
    concern.update(json.loads(pt.event_to_json(other)))


def _statement_as_refusal(countries):
    statement = pt.PolicyStatement(occurred="2025-07", country="SV", text="not a refusal")
    countries["SV"]["checkpoint"]["imf_refusals"] = [json.loads(pt.event_to_json(statement))]


def _reversed_list(checkpoint):
    checkpoint["imf_concerns"].reverse()


def _doubled_list(checkpoint):
    checkpoint["imf_concerns"] = checkpoint["imf_concerns"] * 2


def _moved_on(checkpoint, day):
    checkpoint["imf_concerns"][-1]["occurred"] = day


def _three_ids(countries):
    conflicts = countries["SV"]["checkpoint"]["conflicts"]
    conflicts["sizes"][0] += 1
    conflicts["event_ids"] = conflicts["event_ids"][:32] + conflicts["event_ids"]


SHAPES = [
    # (damage, window, edit): states whose shape the projection never writes.
    ("an entry moved to another country's key", 512, lambda c: _rekeyed(c, "RU", "US")),
    ("kept events out of valid-time order", 512, lambda c: c["SV"]["tail"].reverse()),
    ("a kept event of another country", 512, lambda c: _move_tail_event(c, "PK", "SV")),
    ("a retraction among the kept events", 512, _retraction_in_tail),
    ("a checkpoint after the kept events", 1, lambda c: c["SV"]["checkpoint_last"].__setitem__(0, 10**6)),
    ("an asset key in lower case", 1, lambda c: _put(c["SV"]["checkpoint"], "holdings", "btc", "1")),
    ("a report under another asset", 1, lambda c: _report_under(c["SV"]["checkpoint"], "ETH")),
    (
        "reported assets that are not the reports'",
        1,
        lambda c: c["SV"]["checkpoint"].update(reported_assets=[]),
    ),
    ("a partner in lower case", 1, lambda c: c["SV"]["checkpoint"].update(partners=["pk"])),
    ("an unknown partner", 1, lambda c: c["SV"]["checkpoint"].update(partners=["ZZ"])),
    ("the country as its own partner", 1, lambda c: c["SV"]["checkpoint"].update(partners=["SV"])),
    ("a negative event count", 1, lambda c: c["SV"]["checkpoint"].update(event_count=-1000)),
    ("no crypto holders", 1, lambda c: c["SV"]["checkpoint"].update(crypto_holders=0)),
    ("an IMF concern of another country", 1, lambda c: _concern_of(c, "PK")),
    ("a statement among the IMF refusals", 1, _statement_as_refusal),
    ("fewer kept events than a checkpoint keeps", 2, lambda c: c["SV"].update(tail=c["SV"]["tail"][:1])),
    ("a checkpoint field left out", 1, lambda c: c["SV"]["checkpoint"].pop("imf_programs")),
    ("a field the projection does not have", 1, lambda c: c["SV"]["checkpoint"].update(mood="calm")),
    ("an event list out of valid-time order", 1, lambda c: _reversed_list(c["SV"]["checkpoint"])),
    ("an event twice in a list", 1, lambda c: _doubled_list(c["SV"]["checkpoint"])),
    (
        "a listed event after the checkpoint's key",
        1,
        lambda c: _moved_on(c["SV"]["checkpoint"], "2099-01-01"),
    ),
    ("a reported asset without holdings", 1, lambda c: _drop(c["SV"]["checkpoint"], "holdings", "BTC")),
    ("fewer events counted than listed", 1, lambda c: c["SV"]["checkpoint"].update(event_count=0)),
    ("a conflict naming three events", 1, _three_ids),
    ("an empty ban scope", 1, lambda c: c["SV"]["checkpoint"].update(bans=[["", True]])),
    ("an empty official's role", 1, lambda c: c["SV"]["checkpoint"].update(officials=[["", "someone"]])),
    ("a country's entry left out", 512, lambda c: c.pop("PK")),
    (
        "a key's day as text",
        1,
        lambda c: c["SV"]["checkpoint_last"].__setitem__(0, str(c["SV"]["checkpoint_last"][0])),
    ),
    ("a key's rank as true", 1, lambda c: c["SV"]["checkpoint_last"].__setitem__(2, True)),
    (
        "a key's id in upper case",
        1,
        lambda c: c["SV"]["checkpoint_last"].__setitem__(3, c["SV"]["checkpoint_last"][3].upper()),
    ),
    ("an amount with spaces", 1, lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", " 10 ")),
    ("an amount with an underscore", 1, lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", "1_0")),
    (
        "an amount in other digits",
        1,
        lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", "\u0661\u0660"),
    ),
    ("a set item twice", 1, lambda c: c["SV"]["checkpoint"].update(partners=["PK", "PK"])),
    ("an amount no sum reaches", 1, lambda c: _put(c["SV"]["checkpoint"], "holdings", "BTC", "1E+999999")),
    ("a kept event without its id", 512, lambda c: c["SV"]["tail"][0].pop("event_id")),
]


@pytest.mark.parametrize(("damage", "window", "edit"), SHAPES, ids=[shape[0] for shape in SHAPES])
def test_a_state_of_a_shape_the_projection_never_writes_is_ignored_and_reported_by_the_command_line(
    tmp_path, damage, window, edit, monkeypatch, capsys
):

    monkeypatch.setattr(_stored, "_WINDOW", window)
    with seeded(tmp_path) as log:
        log.append([pt.HoldingsReported(occurred="2026-01-01", country="SV", amount=n) for n in (10, 20, 30)])
        log.append([pt.AdoptionEstimated(occurred="2026-01", country="SV", holders=5)])
        log.append(
            [pt.IMFConcernRaised(occurred=f"202{n}", country="SV", topic=f"topic {n}") for n in (2, 3)]
        )
        pt.save_snapshot(log)
        assert latest_country_states(log) == whole(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    if window == 1:  # SV's checkpoint lists several IMF concerns, as the edits need
        assert len(obj["countries"]["SV"]["checkpoint"]["imf_concerns"]) == 3
    edit(obj["countries"])
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert whole(log) == pt.country_states(log)
    # Its digest matches, so verify() (of the records and what is stored beside them) passes it; the
    # command line also asks the projection whether reads use it.
    capsys.readouterr()
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    err = capsys.readouterr().err.splitlines()
    assert 1 == len(err)
    assert "not ok: the stored latest state is not as the projection writes it (" in err[0]
    assert "reads ignore it" in err[0]
    assert "decimal." not in err[0]  # said in words, not as the decimal module's signals


def _upper_tail_id(obj):
    obj["countries"]["SV"]["tail"][0]["event_id"] = obj["countries"]["SV"]["tail"][0]["event_id"].upper()


def _braced_listed_id(obj):
    concern = obj["countries"]["SV"]["checkpoint"]["imf_concerns"][0]
    concern["event_id"] = "{" + concern["event_id"] + "}"


def _twice_replaced(obj):
    obj["replacements"] = [*obj["replacements"], *obj["replacements"]]


@pytest.mark.parametrize("respell", [_upper_tail_id, _braced_listed_id], ids=["upper case", "braces"])
def test_a_stored_event_whose_id_is_spelt_otherwise_is_read_with_the_same_id(tmp_path, respell, monkeypatch):
    # Values, not their spelling, make a state: the codec reads every form of a UUID, for a stored event
    # as for any other, and the content digest is what notices a changed spelling.

    monkeypatch.setattr(_stored, "_WINDOW", 1)
    with seeded(tmp_path) as log:
        log.append(
            [pt.IMFConcernRaised(occurred=f"202{n}", country="SV", topic=f"topic {n}") for n in (2, 3)]
        )
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    respell(obj)
    assert _forge(tmp_path / "log.db", obj) != content

    with pt.open_log(tmp_path / "log.db") as log:
        assert in_order(whole(log)) == in_order(latest_country_states(log))


FORGED = [
    ("a replacement listed twice", _twice_replaced),
    ("a key of its own at the top", lambda obj: obj.update(note="mine")),
    ("a key of its own in a country's entry", lambda obj: obj["countries"]["SV"].update(note="mine")),
    ("the format as a fraction", lambda obj: obj.update(format=4.0)),
    ("the projection version as true", lambda obj: obj.update(projection_version=True)),
    ("the position as a fraction", lambda obj: obj.update(position=float(obj["position"]))),
    ("no projection", lambda obj: obj.pop("projection")),
    ("another projection", lambda obj: obj.update(projection="mine")),
]


@pytest.mark.parametrize(("damage", "edit"), FORGED, ids=[forged[0] for forged in FORGED])
def test_a_stored_state_not_written_as_the_projection_writes_it_is_ignored_and_reported(
    tmp_path, damage, edit, monkeypatch, capsys
):

    monkeypatch.setattr(_stored, "_WINDOW", 1)
    with seeded(tmp_path) as log:
        log.append(
            [pt.IMFConcernRaised(occurred=f"202{n}", country="SV", topic=f"topic {n}") for n in (2, 3)]
        )
        correction = pt.EventCorrected(
            occurred="2026-01-01", target=pt.load_events(DATASET)[0].event_id, replacement=purchase(amount=3)
        )
        log.append([correction])
        pt.save_snapshot(log)
        assert in_order(latest_country_states(log)) == in_order(whole(log))
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    assert obj["replacements"]
    assert obj["countries"]["SV"]["checkpoint"]["imf_concerns"]
    edit(obj)
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
    capsys.readouterr()
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    assert "not ok: the stored latest state is not as the projection writes it" in capsys.readouterr().err


def test_a_stored_state_taken_before_the_first_record_holds_no_country(tmp_path, capsys):

    with pt.open_log(tmp_path / "log.db") as log:
        log.append([purchase(amount=7)])
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    obj.update(position=0, digest="")
    _forge(tmp_path / "log.db", obj, position=0, digest="")

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert 7 == pt.country_states(log)["SV"].holdings["BTC"]
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    assert "taken before the first record" in capsys.readouterr().err


def test_a_stored_state_that_already_holds_an_event_appended_after_it_is_ignored(tmp_path):
    # The state of position 1, with the event of position 2 already among its kept events: folding
    # position 2 on top would count it twice.

    with pt.open_log(tmp_path / "log.db") as log:
        log.append([purchase(amount=7)])
        log.append([purchase(amount=5, occurred="2025-07")])
        pt.save_snapshot(log)
        first = next(log.read())
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    obj.update(position=1, digest=first.digest)
    _forge(tmp_path / "log.db", obj, position=1, digest=first.digest)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None
        assert 12 == pt.country_states(log)["SV"].holdings["BTC"]


def test_the_command_line_uses_an_empty_stored_state_as_the_library_does(tmp_path, capsys):
    with pt.open_log(tmp_path / "log.db") as log:
        pt.save_snapshot(log)
        log.append([purchase(amount=7)])
        assert {"SV"} == set(pt.country_states(log))

    assert 0 == main(["replay", str(tmp_path / "log.db"), "--format", "json"])
    assert {"SV"} == set(json.loads(capsys.readouterr().out))


def _officials_swapped(obj):
    checkpoint = obj["countries"]["SV"]["checkpoint"]
    checkpoint["officials"] = [["Minister", "Amy"], ["Treasurer", "Zed"]]


FALSE = [
    ("a country left out", ["RU"], lambda obj: obj["countries"].pop("RU")),
    ("no country at all", ["PK", "RU", "SV"], lambda obj: obj.update(countries={})),
    (
        "a holdings figure changed",
        ["SV"],
        lambda obj: _put(obj["countries"]["SV"]["checkpoint"], "holdings", "BTC", "1"),
    ),
    ("the officials in another order", ["SV"], _officials_swapped),
]


@pytest.mark.parametrize(("damage", "codes", "edit"), FALSE, ids=[false[0] for false in FALSE])
def test_the_command_line_finds_a_well_formed_false_state(tmp_path, damage, codes, edit, monkeypatch, capsys):
    # Such a state matches its digest and its shape, so reads trust it; verify folds every record and
    # compares.

    monkeypatch.setattr(_stored, "_WINDOW", 1)
    with seeded(tmp_path) as log:
        log.append(
            [
                pt.OfficialAppointed(occurred="2026-01", country="SV", role="Treasurer", person="Zed"),
                pt.OfficialAppointed(occurred="2026-02", country="SV", role="Minister", person="Amy"),
                *[
                    pt.PolicyStatement(occurred="2026-03", country="SV", text=f"Nothing {n}.")
                    for n in range(4)
                ],
            ]
        )
        pt.save_snapshot(log)
        log.append([purchase(amount=1, occurred="2026-04")])  # folded on top when read
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    officials = obj["countries"]["SV"]["checkpoint"]["officials"]
    assert officials.index(["Treasurer", "Zed"]) < officials.index(["Minister", "Amy"])
    edit(obj)
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert log.verify().ok  # the records, and the state as stored data, are intact
        trusted = pt.country_states(log)
        assert in_order(trusted) != in_order(whole(log))
    capsys.readouterr()
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    err = capsys.readouterr().err.splitlines()
    assert 1 == len(err)
    assert "differs from what the projection writes at position 29" in err[0]
    assert f"(for {', '.join(codes)})" in err[0]
    assert "policytracker snapshot LOG --rebuild" in err[0]

    # The command line answers from the stored state as the library does, false or not.
    assert 0 == main(["replay", str(tmp_path / "log.db"), "--format", "json"])
    assert sorted(trusted) == sorted(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize("column", ["content", "name", "content_digest"])
def test_a_state_row_text_that_is_not_utf8_is_ignored_and_reported_and_replaced(tmp_path, capsys, column):
    with seeded(tmp_path) as log:
        expected = whole(log)
        pt.save_snapshot(log)
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute(f"UPDATE states SET {column} = CAST(x'7bff7d' AS TEXT)")
    connection.close()

    with pt.open_log(tmp_path / "log.db") as log:
        assert expected == pt.country_states(log)
        report = log.verify()
        assert not report.ok
        assert "wrong type" in report.reason
        pt.save_snapshot(log)
        assert log.verify().ok == (column != "name")  # a row under another name stays beside the new one
        assert expected == latest_country_states(log)


@pytest.mark.parametrize(
    "damage",
    [
        b"[\xff]",
        b"[" * 100_000 + b"]" * 100_000,
        b'[["policytracker.country_states", true, "", "", ""]]',
        b'[["policytracker.country_states", 23.0, "", "", ""]]',
        b'[["policytracker.country_states", 23, "", "", ""], 7]',
        "directory",
    ],
    ids=[
        "not utf-8",
        "nested deep",
        "position true",
        "position a fraction",
        "a row not a row",
        "a directory",
    ],
)
def test_a_jsonl_states_file_that_cannot_be_read_is_ignored_and_reported(tmp_path, capsys, damage):
    path = tmp_path / "log.jsonl"
    with seeded(tmp_path, "log.jsonl") as log:
        expected = whole(log)
        pt.save_snapshot(log)
    states = tmp_path / "log.jsonl.states"
    if damage == "directory":
        states.unlink()
        states.mkdir()
    else:
        states.write_bytes(damage)

    with pt.open_log(path) as log:
        assert expected == pt.country_states(log)
        report = log.verify()
    assert not report.ok
    assert "log.jsonl.states" in report.reason
    capsys.readouterr()
    if damage == "directory":
        assert 1 == main(["snapshot", str(path)])
        assert "log.jsonl.states" in capsys.readouterr().err
    else:
        assert 0 == main(["snapshot", str(path)])
        with pt.open_log(path) as log:
            assert log.verify().ok
            assert expected == latest_country_states(log)


def test_snapshot_never_writes_through_a_link_planted_beside_a_jsonl_log(tmp_path):
    path = tmp_path / "log.jsonl"
    seeded(tmp_path, "log.jsonl").close()
    victim = tmp_path / "victim.txt"
    victim.write_text("important data")
    (tmp_path / "log.jsonl.states.tmp").symlink_to(victim)

    with pt.open_log(path) as log:
        pt.save_snapshot(log)
        assert log.verify().ok

    assert "important data" == victim.read_text()
    assert (path.stat().st_mode & 0o777) == ((tmp_path / "log.jsonl.states").stat().st_mode & 0o777)
    assert not (tmp_path / "log.jsonl.states").is_symlink()


@pytest.mark.parametrize("kind", ["a device", "a pipe"])
def test_a_jsonl_states_path_that_is_not_a_regular_file_is_ignored_and_reported(tmp_path, kind):
    path = tmp_path / "log.jsonl"
    with seeded(tmp_path, "log.jsonl") as log:
        expected = whole(log)
    states = tmp_path / "log.jsonl.states"
    if kind == "a device":
        states.symlink_to("/dev/zero")
    else:
        os.mkfifo(states)

    with pt.open_log(path) as log:
        assert expected == pt.country_states(log)  # neither hangs nor fills the memory
        report = log.verify()
    assert not report.ok
    assert "log.jsonl.states is not a regular file" in report.reason


def test_snapshot_names_a_folder_in_the_way_and_leaves_no_temporary_file(tmp_path, capsys):
    path = tmp_path / "log.jsonl"
    seeded(tmp_path, "log.jsonl").close()
    (tmp_path / "log.jsonl.states").mkdir()

    assert 1 == main(["snapshot", str(path)])
    err = capsys.readouterr().err
    assert "log.jsonl.states: is a folder where the log keeps its states; remove it" in err
    assert ["log.jsonl", "log.jsonl.states"] == sorted(p.name for p in tmp_path.iterdir() if "log" in p.name)


def _tail_purchase_of(amount):
    def edit(obj):
        for event in obj["countries"]["SV"]["tail"]:
            if event["type"] == "reserve.purchase":
                event["amount"] = amount
                return
        raise AssertionError("no purchase kept")

    return edit


def _key_naming_no_event(obj):
    entry = obj["countries"]["SV"]
    entry["checkpoint_last"] = [*entry["checkpoint_last"][:3], "00000000-0000-0000-0000-000000000001"]


HIDDEN = [
    ("a kept purchase changed", 0, _tail_purchase_of("100")),
    ("a checkpoint key naming no event", 1, _key_naming_no_event),
    # A key without a checkpoint is a shape the projection writes (events that fold to no state).
    ("no checkpoint but its key", 1, lambda obj: obj["countries"]["SV"].update(checkpoint=None)),
    (
        "megawatts with trailing zeros",
        1,
        lambda obj: obj["countries"]["SV"]["checkpoint"].update(mining_megawatts="5.000000"),
    ),
]


@pytest.mark.parametrize(("damage", "window", "edit"), HIDDEN, ids=[hidden[0] for hidden in HIDDEN])
def test_the_command_line_finds_a_false_state_that_shows_only_after_later_appends(
    tmp_path, damage, window, edit, monkeypatch, capsys
):
    # The state folded on top of now equals a full replay, but what it keeps is not the log's: verify
    # checks the stored state against what the projection writes at its position.

    if window:
        monkeypatch.setattr(_stored, "_WINDOW", window)
    with seeded(tmp_path) as log:
        log.append([pt.MiningPowerAllocated(occurred="2026-01", country="SV", megawatts=5)])
        log.append(
            [pt.PolicyStatement(occurred="2026-02", country="SV", text=f"Nothing {n}.") for n in range(3)]
        )
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    edit(obj)
    _forge(tmp_path / "log.db", obj)

    capsys.readouterr()
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    err = capsys.readouterr().err
    assert "differs from what the projection writes at position 27 (for SV)" in err
    assert "--rebuild" in err


def test_reads_refuse_a_stored_amount_of_negative_zero(tmp_path, monkeypatch):

    monkeypatch.setattr(_stored, "_WINDOW", 1)
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    _put(obj["countries"]["SV"]["checkpoint"], "holdings", "ETH", "-0.0")
    _forge(tmp_path / "log.db", obj)

    with pt.open_log(tmp_path / "log.db") as log:
        assert latest_country_states(log) is None


def test_a_damaged_state_under_another_name_is_reported_with_what_replaces_it(tmp_path):
    with seeded(tmp_path) as log:
        pt.save_snapshot(log)
        head = log.verify().head_digest
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute(
            "INSERT INTO states VALUES (?, 23, ?, 'x', 'bad')", ("mine\x1b" + "m" * 200_000, head)
        )
    connection.close()

    with pt.open_log(tmp_path / "log.db") as log:
        pt.save_snapshot(log)  # writes the built-in state, and leaves another's alone
        report = log.verify()
    assert not report.ok
    assert len(report.reason) < 1000
    assert "'mine\\x1bmm" in report.reason
    assert "write it again with what stored it, or remove it" in report.reason


@pt.event_type("test.stored.sanction")
@attrs.frozen(kw_only=True)
class _Sanction(pt.CountryEvent):
    """A user's own event type, which the built-in projection does not fold."""

    what: str = "x"


def test_a_checkpoint_of_events_the_projection_does_not_fold_is_kept_as_none_with_its_key(
    tmp_path, monkeypatch, capsys
):
    # The first events fold to no state at all; the key that ends them is still needed, so that an event
    # dated before it makes the country be refolded.
    monkeypatch.setattr(_stored, "_WINDOW", 2)
    with pt.open_log(tmp_path / "log.db") as log:
        log.append([_Sanction(occurred=f"199{n}", country="SV", what=f"s{n}") for n in range(4)])
        log.append([pt.PolicyStatement(occurred=f"200{n}", country="SV", text=f"t{n}") for n in range(3)])
        pt.save_snapshot(log)
        content, _ = _states_row(tmp_path / "log.db")
        entry = json.loads(content)["countries"]["SV"]
        assert (None, 3) == (entry["checkpoint"], len(entry["tail"]))
        assert entry["checkpoint_last"] is not None
        assert latest_country_states(log) is not None
        assert in_order(whole(log)) == in_order(latest_country_states(log))
        assert _stored.stored_state_problem(log) is None
        log.append([purchase(amount=3, occurred="1991-06-01")])  # before the key: SV is refolded
        assert in_order(whole(log)) == in_order(pt.country_states(log))
    assert 0 == main(["verify", str(tmp_path / "log.db")])


@pytest.mark.parametrize("amend", [False, True], ids=["standalone events after it", "an amendment after it"])
def test_the_command_line_finds_a_state_claiming_an_earlier_record_of_its_own_append(
    tmp_path, amend, monkeypatch, capsys
):
    # Every record of one append shares its stamp. A state moved back to an earlier record of the append
    # still holds the later ones: verify passes over the later records (or, when one is an amendment,
    # compares what reads answer with a full fold) and finds it.

    monkeypatch.setattr(_stored, "_WINDOW", 2)
    with pt.open_log(tmp_path / "log.db", clock=StepClock(T0)) as log:
        events = [
            purchase(amount=1, country="PK", occurred="1998-01-01"),
            purchase(amount=10, occurred="1999-01-01"),
        ]
        events += [pt.PolicyStatement(occurred=f"200{n}", country="SV", text=f"t{n}") for n in range(7)]
        events += [pt.HoldingsReported(occurred="2010-01-01", country="SV", amount=10)]
        log.append(events)
        if amend:
            log.append([pt.EventRetracted(occurred="2011-01-01", target=events[0].event_id)])
        pt.save_snapshot(log)
        earlier = next(log.read(after=8))
    content, _ = _states_row(tmp_path / "log.db")
    obj = json.loads(content)
    obj.update(position=9, digest=earlier.digest)
    entry = obj["countries"]["SV"]
    entry["tail"] = [event for event in entry["tail"] if event["type"] != "holdings.reported"]
    assert ["BTC", "10"] in entry["checkpoint"]["holdings"]
    entry["checkpoint"]["holdings"] = []  # false: the purchase of 10 is folded in
    _forge(tmp_path / "log.db", obj, position=9, digest=earlier.digest)

    capsys.readouterr()
    assert 1 == main(["verify", str(tmp_path / "log.db")])
    # With the retraction, PK's purchase stood at position 9 but not in the state taken after it.
    countries = "PK, SV" if amend else "SV"
    assert (
        f"differs from what the projection writes at position 9 (for {countries})" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "row",
    [
        ["policytracker.country_states", 1, "x", "\ud800", "y"],
        ["policytracker.country_states", -(2**63), "x", "{}", "y"],
        ["policytracker.country_states", 2**70, "x", "{}", "y"],
    ],
    ids=["a lone surrogate", "a position below zero", "a position beyond any log"],
)
def test_a_jsonl_states_row_that_no_log_could_hold_is_ignored_and_reported(tmp_path, row):
    path = tmp_path / "log.jsonl"
    with seeded(tmp_path, "log.jsonl") as log:
        expected = whole(log)
    (tmp_path / "log.jsonl.states").write_text(json.dumps([row]), encoding="utf-8")

    with pt.open_log(path) as log:
        assert expected == pt.country_states(log)
        assert not log.verify().ok
        pt.save_snapshot(log)
        assert log.verify().ok


def test_a_sqlite_state_row_at_a_position_below_zero_is_ignored_and_reported(tmp_path):
    with seeded(tmp_path) as log:
        expected = whole(log)
        pt.save_snapshot(log)
    with sqlite3.connect(tmp_path / "log.db") as connection:
        connection.execute("UPDATE states SET position = -9223372036854775808")
    connection.close()

    with pt.open_log(tmp_path / "log.db") as log:
        assert expected == pt.country_states(log)
        assert "wrong type" in log.verify().reason
        pt.save_snapshot(log)
        assert log.verify().ok
