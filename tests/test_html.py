"""The HTML of states and logs in notebooks (``_repr_html_``): tables, everything from the data escaped,
never a password."""

import datetime as dt
import html
import re
from decimal import Decimal

import policytracker as pt
from policytracker.cli import main
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET

JULY_18 = dt.datetime(2025, 7, 18, tzinfo=dt.UTC)
EVIL = '<script>alert("x")</script>'


def test_a_country_state_shows_as_an_escaped_html_table():
    state = pt.CountryState(country="SV", officials={"<role>": EVIL}, event_count=1)

    table = state._repr_html_()

    assert table.startswith('<table class="policytracker-state"><caption>El Salvador (SV): 1 event</caption>')
    assert "&lt;role&gt;: &lt;script&gt;" in table
    assert "<script" not in table


def test_a_log_shows_its_store_and_head_as_html(tmp_path):
    with pt.open_log(tmp_path / "history.db", clock=StepClock(JULY_18)) as log:
        log.append(pt.load_events(DATASET))
        table = log._repr_html_()

    assert "<td>SQLite</td>" in table
    assert "<td>23</td>" in table
    assert "2025-07-18 00:00:00 UTC" in table
    assert "closed" in log._repr_html_()


def test_a_log_never_shows_a_password():
    log = pt.open_log(":memory:")
    log.target = "postgresql://analyst:s3cr3t@db.internal/policy"

    table = log._repr_html_()

    assert "s3cr3t" not in table
    assert "analyst:***@db.internal" in table


def test_the_state_table_has_a_row_per_field_as_replay_prints_them():
    log = pt.open_log(":memory:")
    log.append(pt.load_events(DATASET))

    table = pt.country_state(log, "PK")._repr_html_()

    assert 15 == table.count("<tr>")
    assert "<caption>Pakistan (PK): 11 events, the latest dated 2025-07</caption>" in table
    assert (
        '<th scope="row">regulators</th><td>Pakistan Virtual Assets Regulatory Authority (PVARA), 2025'
        in table
    )


def _html_rows(table):
    return [
        (html.unescape(label), html.unescape(text))
        for label, text in re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', table)
    ]


def _replay_rows(log_path, code, capsys):
    assert 0 == main(["replay", str(log_path), "--country", code])
    lines = capsys.readouterr().out.splitlines()[1:]
    return [(line[2:17].strip(), line[18:]) for line in lines if line.strip()]


def test_every_state_table_row_is_the_one_replay_prints(tmp_path, capsys):
    path = tmp_path / "log.db"
    with pt.open_log(path) as log:
        log.append(pt.load_events(DATASET))
        log.append(
            [
                pt.ReservePurchase(occurred="2025-08-01", country="PK", asset="BTC", amount=Decimal(3)),
                pt.VisitPlanned(occurred="2025-09", country="SV", host="RU", official="Nayib Bukele"),
            ]
        )
        states = pt.country_states(log)

    for code, state in states.items():
        assert _replay_rows(path, code, capsys) == _html_rows(state._repr_html_())


def test_the_state_table_says_what_a_holdings_figure_rests_on():
    log = pt.open_log(":memory:")
    log.append(pt.load_events(DATASET))
    log.append([pt.ReservePurchase(occurred="2025-08-01", country="PK", asset="BTC", amount=Decimal(3))])

    rows = dict(_html_rows(pt.country_state(log, "SV")._repr_html_()))
    assert rows["holdings"].startswith("6,238 BTC (report of 2025-07")
    assert (
        "3 BTC net, no holdings report"
        == dict(_html_rows(pt.country_state(log, "PK")._repr_html_()))["holdings"]
    )
