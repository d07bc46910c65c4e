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
    last = json.loads(_lines(path)[-1])

    assert ["digest", "event", "position", "recorded_at"] == list(last)
    assert 3 == last["position"]
    assert "partnership.formed" == last["event"]["type"]


def test_each_line_of_an_append_but_its_last_says_how_many_lines_of_it_follow(path):
    assert [2, 1, None] == [json.loads(line).get("more") for line in _lines(path)]


def test_a_torn_final_write_is_reported_not_truncated(path):
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"digest":"abc","ev')

    with pt.open_log(path) as log:
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

    assert '{"digest":"abc","ev' == removed.torn.text
    assert ((), 19) == (removed.positions, removed.size)
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


# -- damage at the end of the file: refused by every read, removed whole by repair() ------------------------


@pytest.fixture
def cut(tmp_path):
    """A log of one single-event append, then the first two lines of a three-event append, cut by a crash."""
    path = tmp_path / "cut.jsonl"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(1)])
        log.append([purchase(2), purchase(3), purchase(4)])
    _write_lines(path, _lines(path)[:3])
    return path


def _read(log):
    return list(log.read())


def _read_events(log):
    return list(log.read_events())


def _read_country(log):
    return list(log.read(country="SV"))


def _valid_time_events(log):
    return list(log.valid_time_events())


def _country_states(log):
    return pt.country_states(log)


def _copy(log):
    with pt.open_log(":memory:") as copy:
        return pt.copy_log(log, copy)


READERS = [_read, _read_events, _read_country, _valid_time_events, _country_states, _copy]


@pytest.mark.parametrize("reader", READERS)
def test_every_read_refuses_a_torn_tail_naming_its_line(path, reader):
    path.write_bytes(path.read_bytes() + b'{"digest":"abc","ev')

    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="line 4 is a torn write"):
        reader(log)


@pytest.mark.parametrize("reader", READERS)
def test_every_read_refuses_a_batch_cut_by_a_crash_naming_its_lines(cut, reader):
    with pt.open_log(cut) as log, pytest.raises(pt.IntegrityError, match=r"lines 2 to 3 .* 2 of its 3 lines"):
        reader(log)


def test_copy_from_a_path_refuses_a_cut_batch_and_writes_nothing(cut, tmp_path):
    target = tmp_path / "copy.jsonl"

    with pytest.raises(pt.IntegrityError, match="lines 2 to 3"):
        pt.copy_log(cut, target)

    assert b"" == target.read_bytes()


def test_verify_reports_a_cut_batch_at_its_first_line(cut):
    first = json.loads(_lines(cut)[0])

    report = _verify(cut)

    assert (False, 2, 1, first["digest"]) == (
        report.ok,
        report.first_bad_position,
        report.head,
        report.head_digest,
    )
    assert "2 of its 3 lines" in report.reason


def test_append_refuses_to_bury_a_cut_batch(cut):
    before = cut.read_bytes()

    with pt.open_log(cut) as log, pytest.raises(pt.IntegrityError, match="lines 2 to 3"):
        log.append([purchase(9)])

    assert before == cut.read_bytes()


def test_repair_removes_a_cut_batch_whole_and_says_what(cut):
    first, *rest = _lines(cut)

    with pt.open_log(cut, clock=StepClock()) as log:
        repaired = log.repair()
        assert log.repair() is None
        assert log.verify().ok
        log.append([purchase(9)])
        assert [1, 2] == [record.position for record in log.read()]

    assert ((2, 3), sum(len(line) + 1 for line in rest), 3, None) == (
        repaired.positions,
        repaired.size,
        repaired.batch_size,
        repaired.torn,
    )
    assert cut.read_bytes().startswith(first + b"\n")


def test_repair_removes_a_torn_line_with_the_rest_of_its_batch(cut):
    first = _lines(cut)[0]
    cut.write_bytes(cut.read_bytes() + b'{"digest":"abc"')

    with pt.open_log(cut) as log:
        repaired = log.repair()
        assert log.verify().ok

    assert ((2, 3), 4, 15) == (repaired.positions, repaired.torn.line, repaired.torn.size)
    assert first + b"\n" == cut.read_bytes()


def test_repair_says_what_it_removed_in_words(cut):
    with pt.open_log(cut) as log:
        repaired = log.repair()

    assert "positions 2 to 3" in str(repaired)
    assert "2 of its 3 records" in str(repaired)


def test_lines_without_batch_markers_still_read_and_verify(path):
    from tests.log_contract import rechain_jsonl

    with pt.open_log(path) as log:
        expected = [record.digest for record in log.read()]
    rechain_jsonl(path)  # written back without markers, as older versions wrote them

    with pt.open_log(path) as log:
        assert expected == [record.digest for record in log.read()]
        assert log.verify().ok


def test_a_torn_line_after_lines_without_markers_is_removed_alone(path):
    from tests.log_contract import rechain_jsonl

    rechain_jsonl(path)
    intact = path.read_bytes()
    path.write_bytes(intact + b'{"digest":"abc","ev')

    with pt.open_log(path) as log:
        repaired = log.repair()
        assert 3 == len(_read(log))

    assert ((), 4) == (repaired.positions, repaired.torn.line)
    assert intact == path.read_bytes()


def test_a_batch_marker_out_of_sequence_is_refused_and_reported(path):
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"more":1,', b"")
    _write_lines(path, lines)

    report = _verify(path)
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="line 2"):
        _read(log)

    assert (False, 2) == (report.ok, report.first_bad_position)
