"""policytracker sync: the plan is printed before it is written, a second sync writes nothing, and bad
files are refused in one line per problem."""

import json

import pytest

import policytracker as pt
from tests.test_cli import run
from tests.test_seed_history import DATASET

HEADER = "key,type,occurred,country,amount\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _csv(path, *rows):
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_sync_creates_the_log_and_prints_the_plan_then_what_it_wrote(folder):
    code, out, err = run("sync", "seeds.db", DATASET)

    lines = out.splitlines()
    assert (0, "") == (code, err)
    assert 23 == sum(line.startswith("add ") for line in lines)
    assert any("sv-btc-purchase-2025-06" in line and "reserve.purchase" in line for line in lines)
    assert "23 to add, 0 to correct, 0 to retract, 0 to restore, 0 unchanged" == lines[-2]
    assert "wrote 23 events; head is 23" == lines[-1]
    with pt.open_log(folder / "seeds.db") as log:
        assert 23 == log.head


def test_a_second_sync_writes_nothing(folder):
    run("sync", "seeds.db", DATASET)

    code, out, _ = run("sync", "seeds.db", DATASET)

    assert 0 == code
    assert [
        "0 to add, 0 to correct, 0 to retract, 0 to restore, 23 unchanged",
        "nothing to change; head is 23",
    ] == out.splitlines()


def test_a_changed_row_is_printed_with_what_changed(folder):
    events = _csv(folder / "events.csv", "a,reserve.purchase,2025-06,SV,7")
    run("sync", "log.jsonl", events)
    _csv(events, "a,reserve.purchase,2025-06,SV,8")

    code, out, _ = run("sync", "log.jsonl", events)

    assert 0 == code
    assert "correct  a  line 2: amount 7 → 8" == out.splitlines()[0]
    with pt.open_log(folder / "log.jsonl") as log:
        assert "8" == str(pt.country_state(log, "SV").holdings["BTC"])


def test_a_dry_run_prints_the_plan_and_writes_nothing(folder):
    events = _csv(folder / "events.csv", "a,reserve.purchase,2025-06,SV,7")

    code, out, _ = run("sync", "new.db", events, "--dry-run")

    assert 0 == code
    assert out.splitlines()[0].startswith("add      a  line 2: reserve.purchase 2025-06")
    assert "dry run: nothing written" == out.splitlines()[-1]
    assert not (folder / "new.db").exists()


def test_retract_missing_retracts_a_row_deleted_from_the_file(folder):
    events = _csv(folder / "events.csv", "a,reserve.purchase,2025-06,SV,7", "b,reserve.purchase,2025-05,SV,1")
    run("sync", "log.db", events)
    _csv(events, "a,reserve.purchase,2025-06,SV,7")

    kept = run("sync", "log.db", events)
    code, out, _ = run("sync", "log.db", events, "--retract-missing")

    assert "nothing to change; head is 2" == kept[1].splitlines()[-1]
    assert 0 == code
    assert "retract  b  no longer in the file" == out.splitlines()[0]
    assert "wrote 1 event; head is 3" == out.splitlines()[-1]


def test_a_row_back_in_the_file_is_restored(folder):
    events = _csv(folder / "events.csv", "a,reserve.purchase,2025-06,SV,7")
    run("sync", "log.db", events)
    run("sync", "log.db", _csv(folder / "empty.csv"), "--retract-missing")

    code, out, _ = run("sync", "log.db", events)

    assert 0 == code
    assert "restore  a  line 2: back in the file" == out.splitlines()[0]


def test_duplicate_keys_are_one_line_each_and_nothing_is_written(folder):
    _csv(
        folder / "events.csv",
        "a,reserve.purchase,2025-06,SV,7",
        "a,reserve.purchase,2025-05,SV,1",
        ",reserve.purchase,2025-04,SV,2",
    )

    code, out, err = run("sync", "log.db", "events.csv")

    assert (1, "") == (code, out)
    assert [
        "policytracker sync: events.csv: 2 problems; nothing was synced",
        "  line 4: no key; sync matches rows to events by key: give every row one (or import the file with "
        "append)",
        "  key 'a' is on lines 2 and 3; a key names one row",
    ] == err.splitlines()
    assert not (folder / "log.db").exists() or 0 == pt.open_log(folder / "log.db").head


def test_a_missing_file_is_one_line(folder):
    code, out, err = run("sync", "log.db", "nope.csv")

    assert (1, "") == (code, out)
    assert "policytracker sync: no such file: nope.csv\n" == err


@pytest.mark.parametrize("argv", [["sync"], ["sync", "log.db"], ["sync", "log.db", "x.csv", "--bogus"]])
def test_a_bad_command_line_is_a_usage_error(folder, argv):
    code, out, err = run(*argv)

    assert (2, "") == (code, out)
    assert 1 == len(err.splitlines())


def test_sync_reads_standard_input(folder):
    line = pt.event_to_json(pt.ReservePurchase(occurred="2025-06", country="SV", amount=7, key="a"))

    code, out, _ = run("sync", "log.db", "-", stdin=line + "\n")

    assert 0 == code
    assert "wrote 1 event; head is 1" == out.splitlines()[-1]


def test_the_synced_log_replays_as_the_appended_one(folder):
    run("sync", "synced.db", DATASET)
    run("append", "appended.db", DATASET)

    synced = json.loads(run("replay", "synced.db", "--format", "json")[1])
    appended = json.loads(run("replay", "appended.db", "--format", "json")[1])

    assert appended == synced


def test_a_log_imported_without_keys_is_moved_onto_them_without_counting_twice(folder):
    unkeyed = folder / "unkeyed.jsonl"
    unkeyed.write_text(
        "".join(
            json.dumps({name: value for name, value in json.loads(line).items() if name != "key"}) + "\n"
            for line in DATASET.read_text(encoding="utf-8").splitlines()
        ),
        encoding="utf-8",
    )
    run("append", "log.db", unkeyed)

    code, out, _ = run("sync", "log.db", DATASET)

    assert 0 == code
    assert 23 == out.count("the same event, already in the log without a key, gets this key")
    assert "6,238 BTC" in run("replay", "log.db", "--country", "SV")[1]


@pytest.mark.parametrize("name", ["empty.csv", "empty.jsonl"])
def test_an_empty_file_is_refused_rather_than_retracting_every_key(folder, name):
    events = _csv(folder / "events.csv", "a,reserve.purchase,2025-06,SV,7")
    run("sync", "log.db", events)
    (folder / name).write_bytes(b"")

    code, out, err = run("sync", "log.db", name, "--retract-missing")

    assert (1, "") == (code, out)
    assert f"{name} is empty" in err
    with pt.open_log(folder / "log.db") as log:
        assert 1 == log.head
