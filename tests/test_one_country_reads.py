"""One-country queries (``country_state``, ``timeline``, ``holdings_history``, ``state_series``, the
command line with ``--country``) read only that country's records, through the store's country index, and
give exactly the whole-history answer restricted to the country."""

import datetime as dt
import functools
import itertools
import os
import sqlite3
import tempfile
import urllib.parse
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policytracker as pt
from policytracker.cli import main
from policytracker.testing import histories
from tests.log_contract import StepClock, purchase
from tests.test_seed_history import DATASET

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
COUNTRIES = ["PK", "SV", "RU"]
SERVER = os.environ.get("POLICYTRACKER_TEST_POSTGRES")
STORES = [
    "log.db",
    "log.jsonl",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not SERVER, reason="needs a PostgreSQL server: set POLICYTRACKER_TEST_POSTGRES to run it"
        ),
    ),
]


class Stores:
    """Opens logs of a kind in a temporary folder (or a fresh PostgreSQL schema), closing and dropping
    them afterwards."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp())
        self.logs = []
        self.schemas = []
        self.callbacks = []

    def open(self, kind, clock):
        if kind == "postgresql":
            import psycopg

            schema = f"pt_test_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(SERVER, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")
            self.schemas.append(schema)
            separator = "&" if "?" in SERVER else "?"
            target = f"{SERVER}{separator}options={urllib.parse.quote(f'-csearch_path={schema}')}"
        else:
            target = self.folder / f"{len(self.logs)}-{kind}"
        log = pt.open_log(target, clock=clock)
        self.logs.append(log)
        return log

    def on_close(self, callback):
        self.callbacks.append(callback)

    def close(self):
        for callback in self.callbacks:
            callback()
        for log in self.logs:
            log.close()
        if self.schemas:
            import psycopg

            with psycopg.connect(SERVER, autocommit=True) as admin:
                for schema in self.schemas:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")


def whole_history_answer(log, country, as_of, known_at):
    """The reference: every record read, the effective history computed in memory, then restricted."""
    events = pt.effective_events(list(log.read()), as_of=as_of, known_at=known_at)
    mine = [event for event in events if country in event.countries]
    states = pt.fold(pt.COUNTRY_STATES, events)
    return states.get(country) or pt.CountryState(country=country), tuple(mine)


@pytest.mark.parametrize("kind", STORES)
@settings(max_examples=40, deadline=None)
@given(histories(max_size=25, countries=COUNTRIES), st.data())
def test_one_country_answers_equal_the_whole_history_answers(kind, history, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=3)))
    batches = list(zip([0, *cuts], [*cuts, len(history)], strict=True))
    as_of = data.draw(st.none() | st.dates(min_value=dt.date(2014, 1, 1), max_value=dt.date(2031, 1, 1)))
    known_at = data.draw(st.none() | st.integers(0, len(batches)).map(lambda h: T0 + dt.timedelta(hours=h)))
    stores = Stores()
    try:
        moments = [T0 + dt.timedelta(hours=i) for i in range(len(batches) + 1)]
        log = stores.open(kind, StepClock(*moments))
        memory = pt.open_log(":memory:", clock=StepClock(*moments))  # read whole by the general path
        for start, end in batches:
            log.append(history[start:end])
            memory.append(history[start:end])
        for country in [*COUNTRIES, "AE"]:  # AE: never mentioned
            state, events = whole_history_answer(log, country, as_of, known_at)

            assert state == pt.country_state(log, country, as_of=as_of, known_at=known_at)
            assert events == pt.timeline(log, country, as_of=as_of, known_at=known_at)
            assert pt.holdings_history(
                memory, country, as_of=as_of, known_at=known_at
            ) == pt.holdings_history(log, country, as_of=as_of, known_at=known_at)
        assert partnership_reference(log, as_of, known_at) == pt.partnership_graph(
            log, as_of=as_of, known_at=known_at
        )
    finally:
        stores.close()


def partnership_reference(log, as_of, known_at):
    """The partnership graph built from every record read, the effective history computed in memory."""
    edges = []
    for event in pt.effective_events(list(log.read()), as_of=as_of, known_at=known_at):
        if isinstance(event, pt.PartnershipFormed):
            for pair in itertools.combinations(event.countries, 2):
                edges.append(
                    pt.Partnership(
                        countries=pair,
                        occurred=event.occurred,
                        areas=event.areas,
                        instrument=event.instrument,
                        event_id=event.event_id,
                    )
                )
    nodes = frozenset(code for edge in edges for code in edge.countries)
    return pt.PartnershipGraph(nodes=nodes, edges=tuple(edges))


@pytest.mark.parametrize("kind", STORES)
def test_a_correction_moves_a_fact_from_one_country_to_another(kind):
    wrong = purchase(country="PK", occurred="2025-06-10")
    right = purchase(country="SV", occurred="2025-06-10")
    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        log.append([wrong, purchase(amount=1, occurred="2025-06-01")])
        log.append([pt.EventCorrected(occurred="2025-07-01", target=wrong.event_id, replacement=right)])

        assert () == pt.timeline(log, "PK")
        assert [1, 7] == [event.amount for event in pt.timeline(log, "SV")]
        assert {"BTC": 8} == pt.country_state(log, "SV").holdings
        assert {} == pt.country_state(log, "PK").holdings
        assert [1, 8] == [point.amount for point in pt.holdings_history(log, "SV")]
        before = T0 - dt.timedelta(days=1)
        assert () == pt.timeline(log, "SV", known_at=before)
    finally:
        stores.close()


def _sv_views(log):
    return pt.country_state(log, "SV"), pt.timeline(log, "SV"), pt.holdings_history(log, "SV")


@pytest.mark.parametrize("kind", ["log.db", "log.jsonl"])
def test_only_that_countrys_records_are_decoded(kind, tmp_path, monkeypatch):
    with pt.open_log(tmp_path / kind, clock=StepClock()) as log:
        log.append(pt.load_events(DATASET))
        others = log.append([purchase(amount=n, country="AE") for n in range(1, 40)]).positions
        expected = _sv_views(log)
        amending = ("event.retracted", "event.corrected")
        about_sv = [r for r in log.read() if "SV" in r.event.countries and r.event.tag not in amending]
        amendments = [r for r in log.read() if r.event.tag in amending]
        decoded = []
        from policytracker._log import _core

        original_stored, original_text = _core.decode_stored, _core.decode_text

        def counting_stored(event, position, **kwargs):
            decoded.append(position)
            return original_stored(event, position, **kwargs)

        def counting_text(text, *, position=None, **kwargs):
            decoded.append(position)
            return original_text(text, position=position, **kwargs)

        # A store's reads decode through one or the other.
        monkeypatch.setattr("policytracker._log._base.decode_stored", counting_stored)
        monkeypatch.setattr("policytracker._log._base.decode_text", counting_text)

        assert expected[:2] == (pt.country_state(log, "SV"), pt.timeline(log, "SV"))
        assert 2 * (len(about_sv) + len(amendments)) == len(decoded)
        assert not set(others) & set(decoded)
        del decoded[:]

        # Holdings read only the purchases, sales and reports about SV (and every amendment).
        assert expected[2] == pt.holdings_history(log, "SV")
        holdings = [
            r for r in about_sv if r.event.tag in {"reserve.purchase", "reserve.sale", "holdings.reported"}
        ]
        assert 0 < len(holdings) < len(about_sv)
        assert sorted(r.position for r in holdings + amendments) == sorted(decoded)


@pytest.mark.parametrize("kind", ["log.db", "log.jsonl"])
def test_the_partnership_graph_reads_only_partnerships_and_amendments(kind, tmp_path, monkeypatch):
    with pt.open_log(tmp_path / kind, clock=StepClock()) as log:
        log.append(pt.load_events(DATASET))
        expected = pt.partnership_graph(log)
        tags = {"partnership.formed", "event.retracted", "event.corrected"}
        wanted = [r.position for r in log.read() if r.event.tag in tags]
        decoded = []
        from policytracker._log import _core

        def counting_stored(event, position, **kwargs):
            decoded.append(position)
            return _core.decode_stored(event, position, **kwargs)

        def counting_text(text, *, position=None, **kwargs):
            decoded.append(position)
            return _core.decode_text(text, position=position, **kwargs)

        monkeypatch.setattr("policytracker._log._base.decode_stored", counting_stored)
        monkeypatch.setattr("policytracker._log._base.decode_text", counting_text)

        assert expected == pt.partnership_graph(log)
        assert expected.edges
        assert sorted(wanted) == sorted(decoded)


def test_a_record_the_type_index_wrongly_selects_is_refused_by_the_views(tmp_path):
    path = _tampered(tmp_path, "UPDATE records SET type = 'partnership.formed' WHERE position = 2")
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match=r"position 2.*type"):
        pt.partnership_graph(log)

    path = tmp_path / "statement.db"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(), pt.PolicyStatement(occurred="2025-06", country="SV", text="More to come.")])
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE records SET type = 'reserve.purchase' WHERE position = 2")
    connection.close()
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match=r"position 2.*type"):
        pt.holdings_history(log, "SV")


def test_state_series_and_the_command_line_read_one_country(tmp_path):
    path = tmp_path / "log.db"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append(pt.load_events(DATASET))
        dates = ["2024-12-31", "2025-06-30", "2025-12-31"]
        series = pt.state_series(log, "SV", dates)
        assert [pt.country_state(log, "SV", as_of=d) for d in dates] == list(series.values())

    import io
    import json

    out = io.StringIO()
    assert 0 == main(["replay", str(path), "--country", "SV", "--format", "json"], stdout=out)
    with pt.open_log(path) as log:
        whole = pt.country_states(log)["SV"]
    assert {"SV"} == set(json.loads(out.getvalue()))
    assert str(whole.holdings["BTC"]) == json.loads(out.getvalue())["SV"]["holdings"]["BTC"]


def _tampered(tmp_path, sql, *params):
    path = tmp_path / "log.db"
    with pt.open_log(path, clock=StepClock()) as log:
        log.append([purchase(), purchase(amount=8, country="PK"), purchase(amount=9)])
    with sqlite3.connect(path) as connection:
        connection.execute(sql, params)
    connection.close()
    return path


def test_a_record_the_country_index_wrongly_selects_is_refused(tmp_path):
    path = _tampered(tmp_path, "INSERT INTO record_countries (country, position) VALUES ('RU', 2)")
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 2"):
        pt.country_state(log, "RU")


def test_a_changed_record_is_refused_by_a_one_country_read(tmp_path):
    path = _tampered(
        tmp_path, "UPDATE records SET event = replace(event, '\"9\"', '\"90\"') WHERE position = 3"
    )
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 3"):
        pt.timeline(log, "SV")


@pytest.mark.parametrize("position", [1, 2])
def test_a_record_removed_before_the_end_is_noticed_by_a_one_country_read(tmp_path, position):
    # Position 1 is about SV, position 2 about PK: the SV read sees neither the record nor its successor's
    # link, and still notices.
    path = _tampered(tmp_path, "DELETE FROM records WHERE position = ?", position)
    expected = rf"position {position} is missing \(1 of the positions up to 3 are\)"
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match=expected):
        pt.country_state(log, "SV")


@settings(max_examples=40, deadline=None)
@given(histories(max_size=30, countries=COUNTRIES))
def test_holdings_history_folds_each_date_onto_the_one_before(history):
    # The reference folds a fresh state for each date; the library folds once and reads it after each.
    log = pt.open_log(":memory:")
    log.append(history)
    events = [
        event
        for event in pt.timeline(log, "SV")
        if isinstance(event, pt.ReservePurchase | pt.ReserveSale | pt.HoldingsReported)
        and event.asset == "BTC"
    ]
    expected, seen = [], []
    for event in events:
        seen.append(event)
        state = pt.fold(pt.COUNTRY_STATES, seen).get("SV")
        if expected and expected[-1][0] == event.occurred:
            expected[-1] = (event.occurred, state.holdings["BTC"])
        else:
            expected.append((event.occurred, state.holdings["BTC"]))

    assert expected == [(point.occurred, point.amount) for point in pt.holdings_history(log, "SV")]


@pytest.mark.parametrize("country", [None, "SV"])
@pytest.mark.parametrize("value", ["vt_latest + 4000", "vt_latest - 400", "NULL", "'abc'"])
def test_a_changed_valid_time_column_is_refused_by_every_valid_time_read(tmp_path, country, value):
    # Moving a record in the valid-time order would fold it in the wrong place (a report after the
    # purchases that follow it, say): the read compares the columns with the event.
    path = _tampered(tmp_path, f"UPDATE records SET vt_latest = {value} WHERE position = 1")
    query = pt.country_states if country is None else functools.partial(pt.country_state, country=country)
    with pt.open_log(path) as log, pytest.raises(pt.IntegrityError, match="position 1"):
        query(log)


INDEXED = [STORES[0], STORES[2]]  # the stores that read a country's records a page at a time


@pytest.mark.parametrize("kind", INDEXED)
@pytest.mark.parametrize("prefetch", [False, True])
def test_a_country_read_over_many_pages_gives_the_whole_history_answer(kind, prefetch, monkeypatch):
    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        monkeypatch.setattr(type(log), "_PAGE", 3)
        monkeypatch.setattr(type(log), "_PREFETCH", prefetch)
        days = [dt.date(2020, 1, 1) + dt.timedelta(days=(7 * n) % 61) for n in range(20)]
        log.append(
            [
                purchase(n + 1, country=COUNTRIES[n % 2], occurred=day.isoformat())
                for n, day in enumerate(days)
            ]
        )
        log.append([pt.EventRetracted(occurred="2020-03-01", target=next(iter(log.read())).event.event_id)])
        for country in COUNTRIES[:2]:
            state, events = whole_history_answer(log, country, None, None)
            assert len(events) > 3 * 2  # more than two pages
            assert pt.timeline(log, country) == events
            assert pt.country_state(log, country) == state
    finally:
        stores.close()


@pytest.mark.parametrize("kind", INDEXED)
def test_a_failing_page_read_reaches_the_caller_and_an_abandoned_read_leaves_the_log_usable(
    kind, monkeypatch
):
    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        cls = type(log)
        monkeypatch.setattr(cls, "_PAGE", 2)
        monkeypatch.setattr(cls, "_PREFETCH", True)
        log.append([purchase(n + 1, country="SV", occurred=f"2020-01-{n + 1:02d}") for n in range(9)])
        reads = log.valid_time_events(country="SV")
        assert next(reads).amount == 1
        reads.close()  # abandoned with the next page asked for
        assert len(pt.timeline(log, "SV")) == 9

        real, calls = cls._records_at, []

        def second_page_fails(self, positions):
            calls.append(positions)
            if len(calls) == 2:
                raise pt.IntegrityError("the second page could not be read")
            return real(self, positions)

        monkeypatch.setattr(cls, "_records_at", second_page_fails)
        with pytest.raises(pt.IntegrityError, match="second page"):
            pt.timeline(log, "SV")
    finally:
        stores.close()


@pytest.mark.parametrize("kind", INDEXED)
@pytest.mark.parametrize("prefetch", [False, True])
def test_a_whole_valid_time_read_over_many_pages_and_its_failures(kind, prefetch, monkeypatch):
    import importlib

    stores = Stores()
    try:
        log = stores.open(kind, StepClock())
        cls = type(log)
        monkeypatch.setattr(importlib.import_module(cls.__module__), "_BATCH", 2)
        monkeypatch.setattr(cls, "_PREFETCH", prefetch)
        days = [dt.date(2020, 1, 1) + dt.timedelta(days=(7 * n) % 61) for n in range(11)]
        log.append([purchase(n + 1, country="SV", occurred=day.isoformat()) for n, day in enumerate(days)])
        log.append([pt.EventRetracted(occurred="2020-03-01", target=next(iter(log.read())).event.event_id)])

        standalone = [record.event for record in log.read() if not record.event.__amends__]
        in_order = sorted(
            standalone,
            key=lambda e: (e.occurred.earliest, e.occurred.latest, e.__valid_time_rank__, str(e.event_id)),
        )
        assert list(log.valid_time_events()) == in_order
        reads = log.valid_time_events()
        assert next(reads).occurred.earliest == min(days)
        reads.close()  # abandoned with the next page asked for
        assert pt.country_states(log)["SV"].event_count == 10

        real, calls = cls._valid_time_page, []

        def third_page_fails(self, key, where, params):
            calls.append(key)
            if len(calls) == 3:
                raise pt.IntegrityError("the third page could not be read")
            return real(self, key, where, params)

        monkeypatch.setattr(cls, "_valid_time_page", third_page_fails)
        with pytest.raises(pt.IntegrityError, match="third page"):
            pt.country_states(log)
    finally:
        stores.close()
