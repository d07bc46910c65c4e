"""JSON Lines specifics: torn writes, malformed lines and hand edits are reported, never repaired silently."""

import json

import pytest

import policytracker as pt
from tests.log_contract import StepClock, partnership, purchase, refusal


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "history.jsonl"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(), refusal(), partnership()])
    return path


def _lines(path):
    return path.read_bytes().split(b"\n")[:-1]


def _write_lines(path, lines):
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def _verify(path):
    with pt.open_log(path) as log:
        return log.verify()


def test_each_line_is_one_canonical_record(path):
    first = json.loads(_lines(path)[0])

    assert ["digest", "event", "position", "recorded_at"] == list(first)
    assert 1 == first["position"]
    assert "reserve.purchase" == first["event"]["type"]


def test_a_torn_final_write_is_reported_not_truncated(path):
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"digest":"abc","ev')

    with pt.open_log(path) as log:
        assert 3 == len(list(log.read()))
        torn = log.torn_tail
        report = log.verify()
        with pytest.raises(pt.IntegrityError, match="line 4 is a torn write"):
            log.append([purchase(8)])

    assert (4, 19) == (torn.line, torn.size)
    assert (False, 4) == (report.ok, report.first_bad_position)
    assert "torn" in report.reason
    assert intact + b'{"digest":"abc","ev' == path.read_bytes()


def test_repair_removes_only_the_torn_tail_and_says_what(path):
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"digest":"abc","ev')

    with pt.open_log(path) as log:
        removed = log.repair()
        assert log.repair() is None
        log.append([purchase(8)])
        assert log.verify().ok

    assert '{"digest":"abc","ev' == removed.text
    assert path.read_bytes().startswith(intact)


def test_a_malformed_line_names_its_line(path):
    lines = _lines(path)
    lines[1] = b'{"digest": oops'
    _write_lines(path, lines)

    with pt.open_log(path) as log, pytest.raises(pt.SerializationError, match="line 2: malformed JSON"):
        list(log.read())


def test_an_unknown_type_tag_does_not_stop_verify(path):
    _write_lines(path, [line.replace(b"imf.refusal", b"imf.unheard_of") for line in _lines(path)])

    assert "digest" in _verify(path).reason


def test_verify_reports_a_malformed_line_without_raising(path):
    lines = _lines(path)
    with pt.open_log(path) as log:
        lines[1] = b"not json"
        _write_lines(path, lines)
        report = log.verify()

    assert (False, 2, 1) == (report.ok, report.first_bad_position, report.checked)


def test_an_unknown_type_tag_names_line_and_tag(path):
    _write_lines(path, [line.replace(b"imf.refusal", b"imf.unheard_of") for line in _lines(path)])

    with pt.open_log(path) as log, pytest.raises(pt.SerializationError, match=r"line 2.*'imf.unheard_of'"):
        list(log.read())


def test_a_future_schema_version_names_the_line(path):
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"version":1', b'"version":7')
    _write_lines(path, lines)

    with pt.open_log(path) as log, pytest.raises(pt.SerializationError, match=r"line 3.*version 7"):
        _ = log.head


def test_a_hand_edit_breaks_the_chain_at_its_line(path):
    lines = _lines(path)
    lines[0] = lines[0].replace(b'"amount":"7"', b'"amount":"70"')
    _write_lines(path, lines)

    assert 1 == _verify(path).first_bad_position


def test_a_deleted_line_is_detected(path):
    lines = _lines(path)
    _write_lines(path, [lines[0], lines[2]])

    assert 2 == _verify(path).first_bad_position
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="line 2 holds position 3"):
        log.append([purchase(8)])


def test_swapped_lines_are_detected(path):
    lines = _lines(path)
    _write_lines(path, [lines[0], lines[2], lines[1]])

    assert 2 == _verify(path).first_bad_position
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="line 2 holds position 3"):
        list(log.read())


def test_verify_detects_swapped_records_with_renumbered_positions(path):
    lines = [json.loads(line) for line in _lines(path)]
    lines[1]["event"], lines[2]["event"] = lines[2]["event"], lines[1]["event"]
    _write_lines(path, [json.dumps(line).encode() for line in lines])

    assert 2 == _verify(path).first_bad_position


def test_a_shrunk_file_is_an_integrity_error(path):
    with pt.open_log(path) as log:
        assert 3 == log.head
        path.write_bytes(b"".join(line + b"\n" for line in _lines(path)[:1]))
        with pytest.raises(pt.IntegrityError, match="shrank"):
            _ = log.head


def test_reading_never_rewrites_the_file(path):
    before = path.read_bytes()
    with pt.open_log(path) as log:
        list(log.read())
        log.verify()

    assert before == path.read_bytes()


def test_a_malformed_line_is_named_again_on_every_later_read(path):
    lines = _lines(path)
    lines[2] = b'{"digest": oops'
    _write_lines(path, lines)

    with pt.open_log(path) as log:
        for _ in range(3):  # the lines before it stay indexed once, never twice
            with pytest.raises(pt.SerializationError, match="line 3: malformed JSON"):
                list(log.read())


def test_a_large_log_is_indexed_in_chunks_with_the_same_offsets(path, monkeypatch):
    from policytracker._log import jsonl

    with pt.open_log(path) as log:
        expected = [(record.position, record.event) for record in log.read()]
    monkeypatch.setattr(jsonl, "_CHUNK", 7)  # smaller than any line: every line spans chunks
    with pt.open_log(path, clock=StepClock()) as log:
        assert [(record.position, record.event) for record in log.read()] == expected
        log.append([purchase(9)])
        assert log.verify().ok
        assert [record.position for record in log.read()] == [1, 2, 3, 4]
