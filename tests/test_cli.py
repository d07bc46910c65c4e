"""The command line: every command works, and bad input is one line on stderr with a non-zero exit."""

import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import policytracker as pt
from policytracker._projections import _history
from policytracker.cli import main
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET


def run(*argv, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        sys_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        code = main([str(arg) for arg in argv], stdout=out, stderr=err)
    finally:
        if stdin is not None:
            sys.stdin = sys_stdin
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def seeded(tmp_path):
    log = tmp_path / "seeds.db"
    assert 0 == run("append", log, DATASET)[0]
    return log


def assert_one_line_error(code, out, err, *fragments):
    assert code != 0
    assert "" == out
    assert 1 == len(err.strip().splitlines()), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# -- replay ------------------------------------------------------------------------------------------------


def test_replay_prints_a_table_per_country(seeded):
    code, out, err = run("replay", seeded)

    assert 0 == code
    assert "" == err  # no progress when stderr is not a terminal
    assert "Pakistan (PK): 11 events" in out
    assert "El Salvador (SV): 12 events" in out
    assert "Pakistan Virtual Assets Regulatory Authority (PVARA)" in out
    assert "6,238 BTC" in out
    assert "2,000 MW" in out


def test_replay_filters_countries_and_dates(seeded):
    code, out, _ = run("replay", seeded, "--country", "sv", "--as-of", "2025-06")

    assert 0 == code
    assert "Pakistan" not in out.splitlines()[0]
    assert "7 BTC" in out


def test_replay_json_is_stable_and_complete(seeded):
    code, out, _ = run("replay", seeded, "--format", "json")

    data = json.loads(out)
    assert 0 == code
    assert {"PK", "SV", "RU"} == set(data)
    assert "6238" == data["SV"]["holdings"]["BTC"]
    assert ["SV"] == data["PK"]["partners"]
    assert "PVARA" == data["PK"]["regulators"][0]["acronym"]
    assert out == run("replay", seeded, "--format", "json")[1]


def test_replay_known_at_before_anything_shows_nothing(seeded):
    code, out, _ = run("replay", seeded, "--known-at", "2000-01-01T00:00:00Z")

    assert (0, "no events\n") == (code, out)


T0 = dt.datetime(2025, 7, 17, 9, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def amended(path):
    """The seed history, then (a day later) a corrected purchase and a retracted holdings report."""
    events = pt.load_events(DATASET)
    purchase = next(event for event in events if isinstance(event, pt.ReservePurchase))
    report = next(event for event in events if isinstance(event, pt.HoldingsReported))
    fixed = attrs.evolve(purchase, amount=purchase.amount + 1)
    with pt.open_log(path, clock=StepClock(T0, T1)) as log:
        log.append(events)
        log.append(
            [
                pt.EventCorrected(occurred="2025-07", target=purchase.event_id, replacement=fixed),
                pt.EventRetracted(occurred="2025-07", target=report.event_id),
            ]
        )
    return path


def summary(states):
    return {code: (state.event_count, dict(state.holdings)) for code, state in states.items()}


@pytest.mark.parametrize("known_at", [None, T0])
def test_replay_streams_the_effective_history_of_sqlite_and_json_lines_logs(tmp_path, monkeypatch, known_at):
    db, jsonl = amended(tmp_path / "log.db"), amended(tmp_path / "log.jsonl")
    with pt.open_log(db) as log:
        expected = summary(pt.country_states(log, known_at=known_at))
    times = [] if known_at is None else ["--known-at", known_at.isoformat()]

    def refuse(*_args, **_kwargs):
        raise AssertionError("replay read the whole history into memory")

    monkeypatch.setattr(_history.Resolver, "effective", refuse)  # the whole history, resolved in memory
    outputs = [run("replay", path, "--format", "json", *times)[1] for path in (db, jsonl)]

    replayed = {
        code: (state["event_count"], {asset: Decimal(amount) for asset, amount in state["holdings"].items()})
        for code, state in json.loads(outputs[0]).items()
    }
    assert outputs[0] == outputs[1]
    assert expected == replayed


def test_timeline_streams_the_effective_history_of_sqlite_and_json_lines_logs(tmp_path, monkeypatch):
    db, jsonl = amended(tmp_path / "log.db"), amended(tmp_path / "log.jsonl")
    with pt.open_log(db) as log:
        expected = [pt.event_to_dict(event) for event in pt.timeline(log, "SV")]

    def refuse(*_args, **_kwargs):
        raise AssertionError("timeline read the whole history into memory")

    monkeypatch.setattr(_history.Resolver, "effective", refuse)
    outputs = [run("timeline", path, "SV", "--format", "json")[1] for path in (db, jsonl)]

    assert outputs[0] == outputs[1]
    assert expected == json.loads(outputs[0])


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["replay", "missing.db"], "no such log"),
        (["replay", "{log}", "--as-of", "July 2025"], "'July 2025'"),
        (["replay", "{log}", "--as-of", "2025-07-16T10:00"], "2025-07-16T10:00"),
        (["replay", "{log}", "--country", "XX"], "'XX'"),
        (["replay", "{log}", "--known-at", "2025-07-18T00:00"], "no time zone"),
        (["replay", "{log}", "--known-at", "yesterday"], "'yesterday'"),
        (["timeline", "{log}", "XX"], "'XX'"),
        (["replay", "{log}", "--format", "xml"], "xml"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(seeded, argv, fragment):
    code, out, err = run(*[arg.format(log=seeded) for arg in argv])

    assert 2 == code
    assert_one_line_error(code, out, err, fragment)


def test_a_corrupt_log_is_one_line_and_exit_1(tmp_path):
    log = tmp_path / "broken.jsonl"
    run("append", log, DATASET)
    lines = log.read_text().splitlines()
    lines[4] = '{"digest": broken'
    log.write_text("\n".join(lines) + "\n")

    code, out, err = run("replay", log)

    assert 1 == code
    assert_one_line_error(code, out, err, "line 5", "malformed JSON")


def test_an_event_file_given_as_a_log_gets_a_hint():
    code, out, err = run("replay", DATASET)

    assert_one_line_error(code, out, err, "event file", "policytracker append")


# -- timeline ----------------------------------------------------------------------------------------------


def test_timeline_lists_events_in_valid_time_order(seeded):
    code, out, _ = run("timeline", seeded, "SV")
    header, *lines = out.splitlines()

    assert 0 == code
    assert header.startswith("occurred")
    assert 12 == len(lines)
    assert lines[0].startswith("2021-09")
    assert "LegalTenderAdopted" in lines[0]
    assert "Nayib Bukele to Russian Federation" in out


def test_timeline_json(seeded):
    code, out, _ = run("timeline", seeded, "PK", "--as-of", "2024", "--format", "json")

    assert 0 == code
    assert ["imf.program_agreed"] == [event["type"] for event in json.loads(out)]


# -- append --------------------------------------------------------------------------------------------------


def test_append_is_idempotent(seeded):
    code, out, _ = run("append", seeded, DATASET)

    assert 0 == code
    assert "0 appended, 23 already in the log; head is 23" in out


def test_append_reads_csv(tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(
        "type,occurred,country,amount,countries,areas,source_publisher\n"
        "reserve.purchase,2025-06,SV,7,,,Cryptonews\n"
        "partnership.formed,2025-07,,,PK;SV,knowledge sharing,Bloomberg\n"
    )
    log = tmp_path / "log.db"

    code, out, _ = run("append", log, events)

    assert 0 == code
    assert "2 appended" in out
    with pt.open_log(log) as opened:
        assert frozenset({"SV"}) == pt.country_state(opened, "PK").partners


def test_append_lists_every_bad_row_and_writes_nothing(seeded, tmp_path):
    events = tmp_path / "bad.csv"
    events.write_text(
        "type,occurred,country,amount\n"
        "reserve.purchase,2025-06,SV,7\n"
        "reserve.purchase,2025-06,XX,7\n"
        "reserve.purchase,June 2025,SV,7\n"
        "reserve.purchase,2025-06,SV,-3\n"
    )

    code, out, err = run("append", seeded, events)

    assert (1, "") == (code, out)
    assert "3 bad rows; nothing was imported" in err
    for fragment in ("line 3", "'XX'", "line 4", "'June 2025'", "line 5", "amount"):
        assert fragment in err
    assert "Traceback" not in err
    with pt.open_log(seeded) as log:
        assert 23 == log.head


def test_append_reads_standard_input(tmp_path):
    log = tmp_path / "log.jsonl"
    line = pt.event_to_json(pt.ReservePurchase(occurred="2025-06", country="SV", amount=7))

    code, out, _ = run("append", log, "-", stdin=line + "\n")

    assert 0 == code
    assert "1 appended" in out


def test_append_refuses_a_missing_file(tmp_path):
    code, out, err = run("append", tmp_path / "log.db", tmp_path / "nope.jsonl")

    assert_one_line_error(code, out, err, "no such file")
    assert not (tmp_path / "log.db").exists() or pt.open_log(tmp_path / "log.db").head == 0


def test_append_refuses_a_retraction_of_an_unknown_event(seeded, tmp_path):
    events = tmp_path / "retract.jsonl"
    stray = pt.EventRetracted(occurred="2025", target="00000000-0000-4000-8000-000000000000")
    events.write_text(pt.event_to_json(stray) + "\n")

    code, out, err = run("append", seeded, events)

    assert_one_line_error(code, out, err, "not in")


# -- verify, copy, export, stats -----


def test_verify_reports_an_intact_log_and_its_head(seeded):
    with pt.open_log(seeded) as log:
        head = log.verify().head_digest

    assert (0, f"ok: 23 records, digest chain intact; head 23:{head}\n", "") == run("verify", seeded)


def test_verify_reports_a_tampered_log_in_one_line(tmp_path):
    log = tmp_path / "log.jsonl"
    run("append", log, DATASET)
    log.write_text(log.read_text().replace('"amount":"6238"', '"amount":"6300"'))

    code, out, err = run("verify", log)

    assert 1 == code
    assert_one_line_error(code, out, err, "damaged at", "digest")


def test_copy_keeps_the_chain(seeded, tmp_path):
    target = tmp_path / "copy.jsonl"

    code, out, _ = run("copy", seeded, target)

    assert 0 == code
    assert "copied 23 records" in out
    assert 0 == run("verify", target)[0]
    assert run("replay", seeded, "--format", "json")[1] == run("replay", target, "--format", "json")[1]


def test_copy_refuses_a_destination_with_records(seeded):
    code, out, err = run("copy", seeded, seeded)

    assert_one_line_error(code, out, err, "empty destination")


def test_export_writes_an_event_file_that_imports_back(seeded, tmp_path):
    exported = tmp_path / "events.jsonl"
    assert 0 == run("export", seeded, "--output", exported)[0]
    again = tmp_path / "again.db"

    assert 0 == run("append", again, exported)[0]
    assert run("replay", seeded, "--format", "json")[1] == run("replay", again, "--format", "json")[1]
    assert 1 == run("export", seeded, "--output", exported)[0]  # never overwrites


def test_stats_counts_types_and_countries(seeded):
    code, out, _ = run("stats", seeded, "--format", "json")

    data = json.loads(out)
    assert 0 == code
    assert 23 == data["records"]
    assert 4 == data["by_type"]["official.appointed"]
    assert ("2021-09", "2025-07") == (data["occurred_from"], data["occurred_to"])
    assert "records         23" in run("stats", seeded)[1]


@pytest.mark.parametrize("command", ["replay", "timeline", "append", "verify", "copy", "export", "stats"])
def test_every_command_has_help_with_examples(command, capsys):
    assert 0 == main([command, "--help"])

    assert "examples:" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["console script", "python -m"])
def test_the_console_script_and_module_run(seeded, how):
    script = Path(sys.executable).with_name("policytracker")
    command = [str(script)] if how == "console script" else [sys.executable, "-m", "policytracker"]

    result = subprocess.run([*command, "verify", str(seeded)], capture_output=True, text=True)

    assert (0, "ok: 23 records, digest chain intact; head 23:") == (result.returncode, result.stdout[:45])


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_on_a_terminal(seeded):
    out, err = io.StringIO(), _Terminal()

    assert 0 == main(["replay", str(seeded)], stdout=out, stderr=err)

    assert "replaying: 23" in err.getvalue()


def test_one_event_or_record_is_named_in_the_singular(tmp_path, capsys):
    path = tmp_path / "one.db"
    with pt.open_log(path) as log:
        log.append([pt.ReservePurchase(occurred="2025-06-01", country="SV", asset="BTC", amount=7)])

    assert 0 == main(["replay", str(path)])
    assert capsys.readouterr().out.startswith("El Salvador (SV): 1 event, last 2025-06-01\n")
    assert 0 == main(["export", str(path), "--format", "csv", "--output", str(tmp_path / "one.csv")])
    assert f"exported 1 event to {tmp_path / 'one.csv'}" in capsys.readouterr().err
    assert 0 == main(["verify", str(path)])
    assert capsys.readouterr().out.startswith("ok: 1 record, digest chain intact; head 1:")
    assert 0 == main(["copy", str(path), str(tmp_path / "copy.jsonl")])
    assert capsys.readouterr().out.startswith("copied 1 record from ")
