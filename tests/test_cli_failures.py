"""The command line under hostile input: every failure is one line, never a traceback, never a password,
and no control character from the data reaches the terminal."""

import json
import os
import sqlite3
import urllib.parse
import uuid

import pytest

import policytracker as pt
from policytracker import cli
from policytracker._log import redact_url
from tests.test_cli import run
from tests.test_seed_history import DATASET

SERVER = os.environ.get("POLICYTRACKER_TEST_POSTGRES")
needs_server = pytest.mark.skipif(
    not SERVER,
    reason="needs a PostgreSQL server: set "
    "POLICYTRACKER_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test to run it",
)
PASSWORD = "s3cr3t-Pw"
ENCODED = "p%40ss%20w%2Frd"  # "p@ss w/rd"
SECRETS = (PASSWORD, "p@ss w/rd", ENCODED, "ss w/rd", "ss%20w")


def assert_clean_failure(code, out, err, expected_code, *fragments):
    assert expected_code == code, err
    assert "" == out
    assert 1 == len(err.splitlines()), err
    assert err.endswith("\n")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert_no_secret(out, err)


def assert_no_secret(*texts):
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A folder of good and bad inputs; the tests run inside it, so paths in argv are short."""
    monkeypatch.chdir(tmp_path)
    assert 0 == run("append", "seeds.db", DATASET)[0]
    assert 0 == run("append", "seeds.jsonl", DATASET)[0]
    good = (tmp_path / "seeds.db").read_bytes()
    (tmp_path / "truncated.db").write_bytes(good[: len(good) // 3])
    (tmp_path / "garbage.db").write_bytes(b"this is not a database\n" * 200)
    (tmp_path / "garbage.jsonl").write_bytes(b"\x00\xff garbage\n" * 5)
    (tmp_path / "latin1.jsonl").write_bytes(
        '{"type": "policy.statement", "text": "caf\xe9"}\n'.encode("latin-1")
    )
    (tmp_path / "history.csv").write_text("not a log\n")
    (tmp_path / "export.jsonl").write_text("")
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "dir.jsonl").mkdir()
    return tmp_path


BAD_FILES = [
    (["replay", "missing.db"], 2, "no such log: missing.db"),
    (["stats", "missing.jsonl"], 2, "no such log: missing.jsonl"),
    (["replay", "dir.db"], 1, "dir.db: is a directory"),
    (["verify", "dir.jsonl"], 1, "dir.jsonl: is a directory"),
    (["append", "dir.db", DATASET], 1, "dir.db: is a directory"),
    (["replay", "garbage.db"], 1, "garbage.db is not a SQLite database"),
    (["stats", "garbage.db"], 1, "garbage.db is not a SQLite database"),
    (["replay", "truncated.db"], 1, "truncated.db: "),
    (["verify", "truncated.db"], 1, "truncated.db: "),
    (["replay", "garbage.jsonl"], 1, "garbage.jsonl: line 1: malformed JSON"),
    (["replay", "history.csv"], 1, "cannot tell which store"),
    (["append", "seeds.db", "latin1.jsonl"], 1, "latin1.jsonl: not UTF-8 text"),
    (["append", "nowhere/log.db", DATASET], 1, "does not exist"),
    (["append", "seeds.db", "missing.jsonl"], 1, "no such file: missing.jsonl"),
    (["copy", "seeds.db", "seeds.jsonl"], 1, "empty destination"),
    (["copy", "seeds.db", "history.csv"], 1, "cannot tell which store"),
    (["export", "seeds.db", "--output", "export.jsonl"], 1, "export.jsonl"),
    (["export", "seeds.db", "--output", "nowhere/export.jsonl"], 1, "nowhere/export.jsonl"),
]

BAD_ARGUMENTS = [
    (["replay", "seeds.db", "--known-at", "9999-12-31T23:59:59-05:00"], 2, "out of range"),
    (["replay", "seeds.db", "--known-at", "0001-01-01T00:00:00+05:00"], 2, "out of range"),
    (["replay", "seeds.db", "--known-at", "2025-07-18T00:00:00+25:00"], 2, "'2025-07-18T00:00:00+25:00'"),
    (["replay", "seeds.db", "--known-at", ""], 2, "''"),
    (["timeline", "seeds.db", "SV", "--known-at", "99999-01-01T00:00:00Z"], 2, "99999"),
    (["replay", "seeds.db", "--as-of", "0000"], 2, "'0000'"),
    (["replay", "seeds.db", "--as-of", "10000"], 2, "'10000'"),
    (["replay", "seeds.db", "--as-of", "2025-02-30"], 2, "'2025-02-30'"),
    (["replay", "seeds.db", "--as-of", "-2025"], 2, "--as-of"),
    (["replay", "seeds.db", "--country", "XX"], 2, "'XX'"),
    (["replay", "seeds.db", "--country", "S\x1b[2JV"], 2, "\\x1b[2J"),
    (["timeline", "seeds.db", "ZZ"], 2, "'ZZ'"),
    (["timeline", "seeds.db"], 2, "required"),
    (["replay"], 2, "required"),
    ([], 2, "required"),
    (["replay", "seeds.db", "--format", "xml"], 2, "'xml'"),
    (["replay", "seeds.db", "extra\narg"], 2, "extra\\narg"),
]

BAD_URLS = [
    (["replay", f"postgresql+psycopg://analyst:{PASSWORD}@127.0.0.1:1/db"], 1, "postgresql://analyst:***@"),
    (["replay", f"postgresql://analyst:{PASSWORD}@127.0.0.1:1/db?connect_timeout=2"], 1, "cannot connect"),
    (
        ["replay", f"postgres://analyst@127.0.0.1:1/db?password={PASSWORD}&connect_timeout=2"],
        1,
        "password=***",
    ),
    (["replay", f"postgresql://analyst:{ENCODED}@127.0.0.1:1/db?connect_timeout=2"], 1, "analyst:***@"),
    (["replay", "postgresql://analyst:p@ss w/rd@[::1/db"], 1, "not a valid PostgreSQL URL"),
    (["replay", "postgresql://analyst:p@ss w/rd@127.0.0.1:1/db"], 1, "postgresql://"),
    (["replay", f"postgresql://analyst:{PASSWORD}@127.0.0.1:notaport/db"], 1, "postgresql://analyst:***@"),
    (["replay", f"postgresql://analyst@127.0.0.1:1/db?password={ENCODED}&bogus=1"], 1, "postgresql://"),
    (
        ["replay", f"postgresql://analyst@127.0.0.1:1/db?sslpassword={PASSWORD}&sslmode=bogus"],
        1,
        "sslpassword=***",
    ),
    (["replay", f"postgresql://analyst@127.0.0.1:1/db?ssl%70assword={PASSWORD}&bogusparam=1"], 1, "***"),
    (["replay", f"postgresql://analyst@127.0.0.1:1/db?pass%77ord={PASSWORD}&sslmode"], 1, "***"),
    (["replay", f"postgresql://analyst:{PASSWORD}@nohost.invalid/db?connect_timeout=2"], 1, "nohost.invalid"),
    (["replay", f"mysql://analyst:{PASSWORD}@127.0.0.1/db"], 1, "mysql://analyst:***@"),
    (["copy", "seeds.db", f"postgresql://analyst:{PASSWORD}@127.0.0.1:1/db"], 1, "cannot connect"),
    (["replay", "seeds.db", f"postgresql://analyst:{PASSWORD}@h/db"], 2, "unrecognized arguments"),
]


@pytest.mark.parametrize(("argv", "expected_code", "fragment"), BAD_FILES + BAD_ARGUMENTS + BAD_URLS)
def test_every_failure_is_one_clean_line(files, argv, expected_code, fragment):
    code, out, err = run(*argv)

    assert_clean_failure(code, out, err, expected_code, fragment)
    assert err.startswith("policytracker")


def test_an_event_file_with_bad_lines_lists_each_row_on_its_own_line(files):
    (files / "rows.jsonl").write_text('{"type": "reserve.purchase"\n\n[1, 2]\n')

    code, out, err = run("append", "seeds.db", "rows.jsonl")

    first, *rows = err.splitlines()
    assert (1, "") == (code, out)
    assert "policytracker append: rows.jsonl: 2 bad rows; nothing was imported" == first
    assert ["line 1", "line 3"] == [row.split(":")[0].strip() for row in rows]
    assert "Traceback" not in err


def test_an_empty_db_file_is_an_empty_log(files):
    (files / "empty.db").write_bytes(b"")

    assert (0, "no events\n", "") == run("replay", "empty.db")


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0, reason="needs a user who cannot write everywhere"
)
@pytest.mark.parametrize("name", ["new.db", "new.jsonl"])
def test_a_log_in_a_read_only_folder_is_one_line(files, name):
    (files / "ro").mkdir(mode=0o555)

    code, out, err = run("append", f"ro/{name}", DATASET)

    assert_clean_failure(code, out, err, 1, f"ro/{name}")


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("unable to open database file", "unable to open database file"),
        ("attempt to write a readonly database", "readonly"),
        ("disk I/O error", "disk I/O error"),
    ],
)
def test_sqlite_errors_name_the_file(files, monkeypatch, message, fragment):
    def refuse(*_args, **_kwargs):
        raise sqlite3.OperationalError(message)

    monkeypatch.setattr(sqlite3, "connect", refuse)

    code, out, err = run("replay", "seeds.db")

    assert_clean_failure(code, out, err, 1, "policytracker replay: cannot open the log 'seeds.db'", fragment)


def test_json_nested_too_deeply_is_one_line_without_orjson(files, monkeypatch):
    from policytracker._log import jsonl

    monkeypatch.setattr(jsonl, "loads", json.loads)
    deep = "[" * 100_000 + "]" * 100_000
    (files / "deep.jsonl").write_text(
        f'{{"digest": "0", "event": {deep}, "position": 1, "recorded_at": "2025-07-17T09:00:00Z"}}\n'
    )

    code, out, err = run("replay", "deep.jsonl")

    assert_clean_failure(code, out, err, 1, "deep.jsonl: ", "nested too deeply")


# -- unexpected errors -----


@pytest.fixture
def broken(files, monkeypatch):
    def explode(*_args, **_kwargs):
        raise ZeroDivisionError("boom\nsecond line")

    monkeypatch.setattr(cli, "fold", explode)
    monkeypatch.delenv("POLICYTRACKER_TRACEBACK", raising=False)
    return files


def test_an_internal_error_is_one_line_that_says_how_to_see_more(broken):
    code, out, err = run("replay", f"postgresql://u:{PASSWORD}@127.0.0.1:1/db", "--help")  # parses first
    assert 0 == code

    code, out, err = run("replay", "seeds.db")

    assert_clean_failure(
        code, out, err, 1, "internal error: ZeroDivisionError: boom\\nsecond line", "--traceback"
    )
    assert "POLICYTRACKER_TRACEBACK=1" in err


@pytest.mark.parametrize("how", ["option before", "option after", "environment"])
def test_traceback_on_request(broken, monkeypatch, how):
    argv = {
        "option before": ["--traceback", "replay", "seeds.db"],
        "option after": ["replay", "seeds.db", "--traceback"],
        "environment": ["replay", "seeds.db"],
    }[how]
    if how == "environment":
        monkeypatch.setenv("POLICYTRACKER_TRACEBACK", "1")

    code, out, err = run(*argv)

    assert (1, "") == (code, out)
    assert "Traceback (most recent call last)" in err
    assert "ZeroDivisionError" in err
    assert err.splitlines()[-1].startswith("policytracker replay: internal error")


def test_traceback_on_request_hides_passwords(files):
    url = f"postgresql://analyst:{PASSWORD}@127.0.0.1:1/db?connect_timeout=2"

    code, out, err = run("--traceback", "replay", url)

    assert 1 == code
    assert "Traceback" in err
    assert_no_secret(out, err)


# -- control characters -----

EVIL_NAME = "Evil\nEl Salvador (SV): 99 events\x1b[2J\u202e"
EVIL_ROLE = "pre\x1b]0;owned\x07sident\x9b"


@pytest.fixture
def evil(files):
    events = [
        pt.RegulatorEstablished(occurred="2025", country="PK", name=EVIL_NAME, acronym="A\u2028B"),
        pt.OfficialAppointed(occurred="2025", country="PK", role=EVIL_ROLE, person="X\rY"),
    ]
    with pt.open_log(files / "evil.db") as log:
        log.append(events)
    return "evil.db"


def assert_no_control_characters(text):
    unsafe = [
        c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u202e")
    ]
    assert [] == unsafe


def test_replay_table_escapes_control_characters(evil):
    code, out, _ = run("replay", evil)

    assert 0 == code
    assert_no_control_characters(out)
    assert "Evil\\nEl Salvador (SV): 99 events\\x1b[2J\\u202e" in out
    assert "pre\\x1b]0;owned\\x07sident\\x9b: X\\rY" in out
    assert ["Pakistan (PK): 2 events, last 2025"] == [line for line in out.splitlines() if line[:1].isalpha()]


def test_timeline_table_escapes_control_characters(evil):
    code, out, _ = run("timeline", evil, "PK")

    assert 0 == code
    assert_no_control_characters(out)
    assert 3 == len(out.splitlines())  # the header and two events


def test_replay_json_escapes_invisible_and_terminal_characters_yet_reads_back(evil):
    code, out, _ = run("replay", evil, "--format", "json")

    assert 0 == code
    assert_no_control_characters(out)
    assert EVIL_NAME == json.loads(out)["PK"]["regulators"][0]["name"]


def test_timeline_json_escapes_invisible_and_terminal_characters_yet_reads_back(evil):
    code, out, _ = run("timeline", evil, "PK", "--format", "json")

    assert 0 == code
    assert_no_control_characters(out)
    assert {EVIL_NAME, EVIL_ROLE} <= {event.get("name", event.get("role")) for event in json.loads(out)}


def test_an_error_quoting_a_name_escapes_it(files):
    code, out, err = run("append", "seeds.db", "a\nb\x1b[2J.jsonl")

    assert_clean_failure(code, out, err, 1, "no such file: a\\nb\\x1b[2J.jsonl")
    assert_no_control_characters(err)


def test_copy_prints_its_targets_escaped(files):
    code, out, _ = run("copy", "seeds.db", "new\x1b[2J.jsonl")

    assert (0, "copied 23 records from seeds.db to new\\x1b[2J.jsonl\n") == (code, out)


# -- passwords -----

URL_FORMS = [
    (
        f"postgresql://analyst:{PASSWORD}@db.example:5432/policy",
        "postgresql://analyst:***@db.example:5432/policy",
    ),
    (f"postgres://analyst:{PASSWORD}@db.example/policy", "postgres://analyst:***@db.example/policy"),
    (
        f"postgresql://analyst@db.example/policy?password={PASSWORD}&sslmode=require",
        "postgresql://analyst@db.example/policy?password=***&sslmode=require",
    ),
    (
        f"postgresql://analyst@db.example/policy?PassWord={PASSWORD}",
        "postgresql://analyst@db.example/policy?PassWord=***",
    ),
    (
        f"postgresql://analyst@db.example/policy?sslpassword={PASSWORD}&sslmode=require",
        "postgresql://analyst@db.example/policy?sslpassword=***&sslmode=require",
    ),
    # A parameter name, "=" or "?" percent-encoded: libpq decodes them, so the secret is hidden too.
    (f"postgresql://analyst@db.example/policy?ssl%70assword={PASSWORD}&bogus=1", "postgresql://***"),
    (f"postgresql://analyst@db.example/policy?pass%77ord={PASSWORD}&sslmode", "postgresql://***"),
    (f"postgresql://analyst@db.example/policy?sslpassword%3D{PASSWORD}&x", "postgresql://***"),
    (f"postgresql://analyst@db.example/policy%3Fsslpassword={PASSWORD}", "postgresql://***"),
    (f"postgresql://analyst:{ENCODED}@db.example/policy", "postgresql://analyst:***@db.example/policy"),
    ("postgresql://analyst:p@ss w/rd@db.example/policy", "postgresql://***@db.example/policy"),
    (
        f"postgresql+psycopg://analyst:{PASSWORD}@db.example/policy",
        "postgresql+psycopg://analyst:***@db.example/policy",
    ),
    ("postgresql://analyst@db.example/policy", "postgresql://analyst@db.example/policy"),
    (
        "postgresql://db.example/policy?options=-csearch_path%3Dmine",
        "postgresql://db.example/policy?options=-csearch_path%3Dmine",
    ),
]


@pytest.mark.parametrize(("url", "expected"), URL_FORMS)
def test_redacted_urls_keep_everything_but_the_password(url, expected):
    assert expected == redact_url(url)


@pytest.mark.parametrize(("url", "_"), URL_FORMS)
def test_opening_any_url_form_never_shows_the_password(url, _):
    unreachable = url.replace("db.example", "127.0.0.1:1").replace(":5432", "")
    with pytest.raises((ValueError, ConnectionError)) as info:
        pt.open_log(unreachable)

    assert_no_secret(str(info.value), repr(info.value), str(info.value.__cause__ or ""))


def with_password(server, password=PASSWORD):
    parts = urllib.parse.urlsplit(server)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{host}"))


@pytest.fixture
def schema_url():
    import psycopg

    schema = f"pt_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{with_password(SERVER)}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@needs_server
def test_a_password_never_shows_on_success(files, schema_url):
    assert 0 == run("copy", "seeds.db", schema_url)[0]
    outputs = [run(*argv) for argv in (["verify", schema_url], ["stats", schema_url], ["replay", schema_url])]
    code, out, err = run("copy", schema_url, "back.jsonl")

    assert (0, "") == (code, err)
    assert out.startswith("copied 23 records from postgresql://postgres:***@")
    assert [0, 0, 0] == [output[0] for output in outputs]
    assert_no_secret(out, *(text for output in outputs for text in output[1:]))
    with pt.open_log(schema_url) as log:
        assert_no_secret(repr(log), log.target)


@needs_server
@pytest.mark.parametrize(
    ("search_path", "named", "fix"),
    [
        ("pt_nowhere", "'pt_nowhere'", "CREATE SCHEMA pt_nowhere"),
        ("%22OddName%22", "'OddName'", 'CREATE SCHEMA "OddName"'),
    ],
)
def test_a_missing_schema_is_named_with_the_statement_that_creates_it(files, search_path, named, fix):
    url = f"{with_password(SERVER)}?options=-csearch_path%3D{search_path}"

    code, out, err = run("replay", url)

    assert_clean_failure(code, out, err, 1, f"the schema {named} does not exist; create it with: {fix}")
    with pytest.raises(ValueError, match="does not exist"):
        pt.open_log(url)


@needs_server
def test_an_unknown_database_is_one_line(files):
    url = with_password(SERVER).rsplit("/", 1)[0] + "/pt_no_such_database"

    code, out, err = run("stats", url)

    assert_clean_failure(code, out, err, 1, "pt_no_such_database", "does not exist")
