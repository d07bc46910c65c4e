"""The command line's ``verify`` checkpoints (``POSITION:DIGEST``, ``--expect``) and ``repair``."""

import pytest

import policytracker as pt
from tests.log_contract import StepClock, purchase
from tests.test_cli import assert_one_line_error, run


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "history.jsonl"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(1)])
        log.append([purchase(2), purchase(3), purchase(4)])
    return path


def _checkpoint(path, position):
    with pt.open_log(path) as log:
        return f"{position}:{list(log.read())[position - 1].digest}"


def _cut(path):
    """Keep the first line and the first two lines of the second append, as a crash might."""
    lines = path.read_bytes().split(b"\n")[:3]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_verify_prints_the_head_as_a_checkpoint_last(jsonl):
    code, out, err = run("verify", jsonl)

    assert (0, "") == (code, err)
    assert _checkpoint(jsonl, 4) == out.split()[-1]


def test_verify_of_an_empty_log_has_no_checkpoint(tmp_path):
    path = tmp_path / "empty.jsonl"
    pt.open_log(path).close()

    assert (0, "ok: 0 records; the log is empty\n", "") == run("verify", path)


@pytest.mark.parametrize("position", [1, 4])
def test_verify_expect_passes_when_the_checkpoint_holds(jsonl, position):
    assert 0 == run("verify", jsonl, "--expect", _checkpoint(jsonl, position))[0]


def test_verify_expect_fails_in_one_line_when_records_were_cut_off(jsonl):
    checkpoint = _checkpoint(jsonl, 4)
    lines = jsonl.read_bytes().split(b"\n")
    jsonl.write_bytes(lines[0] + b"\n")

    code, out, err = run("verify", jsonl, "--expect", checkpoint)

    assert 1 == code
    assert_one_line_error(code, out, err, "record 4 is missing")


def test_verify_expect_fails_in_one_line_for_another_digest(jsonl):
    code, out, err = run("verify", jsonl, "--expect", "1:" + "0" * 64)

    assert 1 == code
    assert_one_line_error(code, out, err, "not the checkpoint's")


@pytest.mark.parametrize("expect", ["4", "x:" + "0" * 64, "0:" + "0" * 64, "1:abc", "1:" + "G" * 64])
def test_a_malformed_expect_is_a_usage_error(jsonl, expect):
    code, out, err = run("verify", jsonl, "--expect", expect)

    assert 2 == code
    assert_one_line_error(code, out, err, "--expect")


def test_verify_reports_a_cut_batch_in_one_line(jsonl):
    _cut(jsonl)

    code, out, err = run("verify", jsonl)

    assert 1 == code
    assert_one_line_error(code, out, err, "damaged at 2", "repair")


@pytest.mark.parametrize("command", [["replay"], ["stats"], ["export"], ["copy", "{dst}"]])
def test_reads_refuse_a_cut_batch_in_one_line(jsonl, tmp_path, command):
    _cut(jsonl)
    argv = [str(arg).format(dst=tmp_path / "copy.jsonl") for arg in command]

    code, out, err = run(argv[0], jsonl, *argv[1:])

    assert 1 == code
    assert_one_line_error(code, out, err, "lines 2 to 3")


def test_repair_removes_a_cut_batch_and_says_what(jsonl):
    _cut(jsonl)

    code, out, err = run("repair", jsonl)

    assert (0, "") == (code, err)
    assert "removed positions 2 to 3" in out
    assert 1 == len(out.splitlines())
    assert 0 == run("verify", jsonl)[0]


def test_repair_of_an_intact_log_removes_nothing(jsonl):
    before = jsonl.read_bytes()

    code, out, err = run("repair", jsonl)

    assert (0, "") == (code, err)
    assert "nothing to remove" in out
    assert before == jsonl.read_bytes()


def test_repair_of_a_database_log_says_there_is_nothing_to_repair(tmp_path):
    path = tmp_path / "history.db"
    with pt.open_log(path) as log:
        log.append([purchase(1)])

    code, out, err = run("repair", path)

    assert (0, "") == (code, err)
    assert "nothing to repair" in out
