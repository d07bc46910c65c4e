"""The command line's files and formats: export as JSON Lines, CSV and Parquet; replay, timeline and stats
as table, JSON and CSV; honest holdings; --version, .sqlite3 logs and the help."""

import csv
import datetime as dt
import io
import sys
from decimal import Decimal

import pytest

import policytracker as pt
from policytracker.cli import main
from tests.log_contract import StepClock
from tests.test_cli import assert_one_line_error, run
from tests.test_seed_history import DATASET

BOM = "\ufeff"
T1 = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
WIRE = pt.Source(
    publisher="Wire", url="https://example.org/a", title='A, "quoted" title', published="2025-06"
)


@pytest.fixture
def seeded(tmp_path):
    log = tmp_path / "seeds.db"
    assert 0 == run("append", log, DATASET)[0]
    return log


def rows_of(text):
    """The rows of CSV *text*, which must start with a byte-order mark."""
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM), newline="")))


def single_sourced(path):
    """A log whose events have one source each (or none), with awkward text: commas, quotes, a line break,
    accents, and a note a spreadsheet would not run."""
    events = [
        pt.ReservePurchase(
            occurred="2025-06", country="SV", amount="7.5", price_usd="107000.25", sources=(WIRE,)
        ),
        pt.HoldingsReported(occurred="2025-07-17", country="SV", amount=6238, basis="government figures"),
        pt.PartnershipFormed(
            occurred="2025-07",
            countries=("PK", "SV"),
            areas=("policy", "infrastructure"),
            note="line one\nline two",
        ),
        pt.RegulatorEstablished(occurred="2025", country="PK", name='Autoridad de Supervisión, "PVARA"'),
        pt.CryptoBanChanged(occurred="2021", country="PK", scope="mining", banned=False),
        pt.IMFProgramAgreed(occurred="2024", country="PK", amount_usd="7000000000", ends="2027"),
        pt.AdoptionEstimated(occurred="2025", country="PK", holders=20_000_000),
    ]
    with pt.open_log(path) as log:
        log.append(events)
    return events


# -- export -----


def test_export_is_json_lines_by_default(seeded):
    code, out, _ = run("export", seeded)

    assert 0 == code
    assert 23 == len(pt.load_events(io.StringIO(out)))
    assert out == run("export", seeded, "--format", "jsonl")[1]


def test_an_exported_csv_of_single_sourced_events_reimports_to_the_same_events(tmp_path):
    events = single_sourced(tmp_path / "log.db")
    exported = tmp_path / "events.csv"

    code, _, err = run("export", tmp_path / "log.db", "--format", "csv", "--output", exported)

    assert (0, f"exported 7 events to {exported}\n") == (code, err)
    assert sorted(event.event_id for event in events) == sorted(
        event.event_id for event in pt.load_events(exported)
    )
    assert 0 == run("append", tmp_path / "again.db", exported)[0]
    assert "0 appended, 7 already in the log" in run("append", tmp_path / "log.db", exported)[1]


def test_an_exported_csv_has_the_event_file_layout_and_opens_in_a_spreadsheet(tmp_path):
    single_sourced(tmp_path / "log.db")

    code, out, _ = run("export", tmp_path / "log.db", "--format", "csv")

    rows = rows_of(out)
    assert 0 == code
    assert ["type", "occurred"] == list(rows[0])[:2]
    assert ["note", "source_publisher", "source_title", "source_url", "source_published"] == list(rows[0])[
        -5:
    ]
    purchase = next(row for row in rows if row["type"] == "reserve.purchase")
    assert ("7.5", "107000.25", 'A, "quoted" title') == (
        purchase["amount"],
        purchase["price_usd"],
        purchase["source_title"],
    )
    partnership = next(row for row in rows if row["type"] == "partnership.formed")
    assert ("PK;SV", "line one\nline two") == (partnership["countries"], partnership["note"])
    assert "\r\n" in out  # the line ending spreadsheets expect


def test_export_csv_writes_the_effective_events(tmp_path):
    wrong = pt.ReservePurchase(occurred="2025-06", country="SV", amount=70)
    right = pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)
    with pt.open_log(tmp_path / "log.db") as log:
        log.append([wrong])
        log.append([pt.EventCorrected(occurred="2025-06", target=wrong.event_id, replacement=right)])

    rows = rows_of(run("export", tmp_path / "log.db", "--format", "csv")[1])

    assert [("reserve.purchase", "7")] == [(row["type"], row["amount"]) for row in rows]


def test_export_csv_keeps_the_first_source_and_says_so(seeded):
    code, out, err = run("export", seeded, "--format", "csv")

    assert 0 == code
    assert 23 == len(rows_of(out))
    assert "note: 12 events have more than one source; the CSV keeps the first of each" in err


def test_export_csv_protects_text_a_spreadsheet_would_run_as_a_formula(tmp_path):
    with pt.open_log(tmp_path / "log.db") as log:
        log.append(
            [
                pt.PolicyStatement(occurred="2025", country="SV", text='=HYPERLINK("http://x", "y")'),
                pt.PolicyStatement(
                    occurred="2025", country="PK", text="+1 more", note="@mention", topics=("-a",)
                ),
                pt.ReservePurchase(occurred="2025", country="SV", amount=7),
            ]
        )

    code, out, err = run("export", tmp_path / "log.db", "--format", "csv")

    rows = {row["country"]: row for row in rows_of(out) if row["type"] == "policy.statement"}
    assert 0 == code
    assert '\'=HYPERLINK("http://x", "y")' == rows["SV"]["text"]
    assert ("'+1 more", "'@mention", "'-a") == (rows["PK"]["text"], rows["PK"]["note"], rows["PK"]["topics"])
    assert "7" == next(row["amount"] for row in rows_of(out) if row["type"] == "reserve.purchase")
    assert "note: 2 events have text beginning with =, +, -, @" in err


def test_export_parquet_writes_the_events_frame(seeded, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    target = tmp_path / "events.parquet"

    code, _, err = run("export", seeded, "--format", "parquet", "-o", target)

    back = pd.read_parquet(target)
    with pt.open_log(seeded) as log:
        frame = pt.events_frame(log)
    assert (0, f"exported 23 events to {target}\n") == (code, err)
    assert frame["event_id"].tolist() == back["event_id"].tolist()
    assert frame["amount"].dropna().tolist() == back["amount"].dropna().tolist()
    assert {Decimal} == {type(amount) for amount in back["amount"].dropna()}


def test_export_parquet_without_an_output_file_is_a_usage_error(seeded):
    code, out, err = run("export", seeded, "--format", "parquet")

    assert 2 == code
    assert_one_line_error(code, out, err, "parquet is binary", "--output")


@pytest.mark.parametrize("module", ["pandas", "pyarrow"])
def test_export_parquet_without_the_extra_is_one_line_naming_it(seeded, tmp_path, monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)

    code, out, err = run("export", seeded, "--format", "parquet", "-o", tmp_path / "events.parquet")

    assert 1 == code
    assert_one_line_error(code, out, err, module, 'pip install "policytracker[frames]"')
    assert not (tmp_path / "events.parquet").exists()


@pytest.mark.parametrize("format", ["jsonl", "csv", "parquet"])
def test_export_onto_an_existing_file_is_one_line_and_leaves_it_alone(seeded, tmp_path, format):
    target = tmp_path / f"events.{format}"
    target.write_text("precious\n")

    code, out, err = run("export", seeded, "--format", format, "-o", target)

    assert 1 == code
    assert_one_line_error(code, out, err, str(target), "already exists", "never overwrites")
    assert "precious\n" == target.read_text()


# -- replay -----


def test_replay_table_says_when_a_figure_is_only_net_purchases(seeded):
    code, out, _ = run("replay", seeded, "--country", "SV", "--as-of", "2025-06")

    assert 0 == code
    assert "  holdings        7 BTC net, no holdings report" in out.splitlines()


def test_replay_table_says_which_report_a_figure_rests_on(tmp_path):
    log = tmp_path / "log.db"
    with pt.open_log(log) as opened:
        opened.append(
            [
                pt.HoldingsReported(occurred="2025-07-17", country="SV", amount=6238),
                pt.ReservePurchase(occurred="2025-08", country="SV", amount=1),
            ]
        )

    assert "6,238 BTC (report of 2025-07-17)" in run("replay", log, "--as-of", "2025-07")[1]
    assert "6,239 BTC (report of 2025-07-17 plus later purchases and sales)" in run("replay", log)[1]
    assert "no holdings report" not in run("replay", log)[1]


def test_replay_csv_has_one_row_per_country_with_exact_holdings_and_their_basis(seeded):
    code, out, _ = run("replay", seeded, "--format", "csv")

    rows = {row["country"]: row for row in rows_of(out)}
    assert 0 == code
    assert ["PK", "RU", "SV"] == list(rows)
    sv, pk = rows["SV"], rows["PK"]
    assert ("El Salvador", "12", "2025-07") == (sv["country_name"], sv["event_count"], sv["last_occurred"])
    assert ("6238", "holdings report of 2025-07") == (sv["holdings_BTC"], sv["holdings_BTC_basis"])
    assert ("", "") == (pk["holdings_BTC"], pk["holdings_BTC_basis"])
    assert ("2000", "20000000") == (pk["mining_megawatts"], pk["crypto_holders"])
    assert "Pakistan Virtual Assets Regulatory Authority (PVARA), 2025" == pk["regulators"]
    assert "USD 7000000000, loan programme, 2024 to 2027" == pk["imf_programs"]


def test_replay_csv_of_a_figure_without_a_report_says_so(seeded):
    rows = rows_of(run("replay", seeded, "--country", "SV", "--as-of", "2025-06", "--format", "csv")[1])

    assert [("7", "net purchases and sales, no holdings report")] == [
        (row["holdings_BTC"], row["holdings_BTC_basis"]) for row in rows
    ]


def test_replay_csv_of_nothing_is_a_header(seeded):
    out = run("replay", seeded, "--known-at", "2000-01-01T00:00:00Z", "--format", "csv")[1]

    assert [] == rows_of(out)
    assert out.startswith(BOM + "country,country_name,event_count,last_occurred,mining_megawatts")


# -- timeline -----


def test_timeline_table_has_a_header_and_each_rows_key_figure(seeded):
    code, out, _ = run("timeline", seeded, "PK")
    lines = out.splitlines()

    assert 0 == code
    assert ["occurred", "event", "key", "figure"] == lines[0].split()
    programme = next(line for line in lines if "IMFProgramAgreed" in line)
    assert programme.endswith("USD 7,000,000,000, loan programme, to 2027")
    assert "2,000 MW" in next(line for line in lines if "MiningPowerAllocated" in line)
    assert "20,000,000 holders" in out
    assert "Pakistan and El Salvador, digital asset infrastructure" in out


def test_timeline_table_shows_amounts_with_their_asset(seeded):
    out = run("timeline", seeded, "SV")[1]

    assert "7 BTC bought" in out
    assert "6,238 BTC held, government figures" in out
    assert "BTC legal tender" in out


def test_timeline_of_nothing_says_so(seeded):
    assert (0, "no events\n", "") == run("timeline", seeded, "PK", "--as-of", "2020")


def test_timeline_csv_is_the_event_file_layout_of_the_countrys_effective_events(seeded):
    code, out, _ = run("timeline", seeded, "SV", "--format", "csv")

    with pt.open_log(seeded) as log:
        expected = [(event.tag, str(event.occurred)) for event in pt.timeline(log, "SV")]
    assert 0 == code
    assert expected == [(row["type"], row["occurred"]) for row in rows_of(out)]


# -- stats -----


def test_stats_csv_is_one_measure_per_row(seeded):
    code, out, _ = run("stats", seeded, "--format", "csv")

    rows = [(row["measure"], row["key"], row["value"]) for row in rows_of(out)]
    assert 0 == code
    assert ("records", "", "23") == rows[0]
    assert ("occurred_from", "", "2021-09") in rows
    assert ("by_type", "official.appointed", "4") in rows
    assert ("by_country", "SV", "12") in rows


@pytest.mark.parametrize("command", [["replay"], ["timeline", "SV"], ["stats"]])
@pytest.mark.parametrize("format", ["table", "json", "csv"])
def test_replay_timeline_and_stats_take_each_format(seeded, command, format):
    name, *rest = command

    code, out, err = run(name, seeded, *rest, "--format", format)

    assert (0, "") == (code, err)
    assert out.strip()


# -- manners -----


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    assert 0 == main(["--version"])

    assert f"policytracker {version('policytracker')}\n" == capsys.readouterr().out


def test_help_names_every_kind_of_log_including_postgresql_urls(capsys):
    assert 0 == main(["--help"])

    out = capsys.readouterr().out
    for fragment in (".db", ".sqlite3", ".jsonl", ":memory:", "postgresql://USER@HOST", "[postgres]"):
        assert fragment in out


def test_a_sqlite3_file_is_a_sqlite_log(tmp_path):
    log = tmp_path / "history.sqlite3"

    assert 0 == run("append", log, DATASET)[0]

    assert b"SQLite format 3\x00" == log.read_bytes()[:16]
    assert "ok: 23 records" in run("verify", log)[1]
    with pt.open_log(log) as opened:
        assert 23 == opened.head


def test_open_log_takes_sqlite3_in_any_case(tmp_path):
    with pt.open_log(tmp_path / "HISTORY.SQLITE3", clock=StepClock(T1)) as log:
        log.append([pt.ReservePurchase(occurred="2025-06", country="SV", amount=7)])

    assert b"SQLite format 3\x00" == (tmp_path / "HISTORY.SQLITE3").read_bytes()[:16]
