"""The report in a real browser: headless Chromium opens it offline, with no console error and no request
but for the file itself, and shows its figures and tables. A screenshot is saved in the test's tmp_path.

Skipped where no Chromium is installed (``apt-get install chromium``; or point ``POLICYTRACKER_CHROMIUM``
at one)."""

import datetime as dt

import pytest

import policytracker as pt
from tests.chromium import Browser, find_chromium
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET

pytest.importorskip("matplotlib", reason="the report's figures need the plot extra (matplotlib)")
CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium found (apt-get install chromium, or set POLICYTRACKER_CHROMIUM)"
)

JULY_18 = dt.datetime(2025, 7, 18, tzinfo=dt.UTC)
AUGUST_1 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """The seed history's report, with a correction and a retraction recorded on 1 August and a "since"
    section, open in headless Chromium."""
    folder = tmp_path_factory.mktemp("report")
    log = pt.open_log(":memory:", clock=StepClock(JULY_18, AUGUST_1))
    log.append(pt.load_events(DATASET))
    events = [record.event for record in log.read()]
    bought = next(e for e in events if isinstance(e, pt.ReservePurchase))
    refusal = next(e for e in events if isinstance(e, pt.IMFRefusal))
    log.append(
        [
            pt.EventCorrected(
                occurred="2025-08",
                target=bought.event_id,
                replacement=pt.ReservePurchase(occurred="2025-06-12", country="SV", amount=8),
            ),
            pt.EventRetracted(occurred="2025-08", target=refusal.event_id, reason="<b>not</b> confirmed"),
        ]
    )
    page = folder / "report.html"
    pt.report(log, page, since=JULY_18)
    with Browser(CHROMIUM, folder / "profile") as browser:
        browser.open(page.as_uri())
        yield browser, page


def test_the_report_opens_without_a_console_error(opened):
    browser, _ = opened

    assert [] == browser.problems()


def test_the_report_requests_nothing_but_itself(opened):
    browser, page = opened

    assert [page.as_uri()] == browser.requests()


def test_the_report_shows_its_figures(opened):
    browser, _ = opened

    figures = browser.evaluate(
        "[...document.querySelectorAll('figure svg')].map(s => {"
        " const r = s.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert 4 == len(figures)  # three timelines and El Salvador's holdings
    assert all(width > 300 and height > 100 for width, height in figures), figures
    marks = browser.evaluate("document.querySelectorAll('svg [id^=\"pt-event-\"]').length")
    assert marks >= 23
    assert 1 == browser.evaluate("document.querySelectorAll('svg [id^=\"pt-retracted-PK-\"]').length")
    assert 1 == browser.evaluate("document.querySelectorAll('svg [id^=\"pt-superseded-SV-\"]').length")


def test_the_report_shows_its_tables(opened):
    browser, _ = opened

    captions = browser.evaluate("[...document.querySelectorAll('table caption')].map(c => c.textContent)")
    assert "Pakistan (PK): 10 events, the latest dated 2025-07" in captions
    assert 3 == browser.evaluate("document.querySelectorAll('table.policytracker-events').length")
    assert 2 == browser.evaluate("document.querySelectorAll('table.policytracker-compare').length")
    assert "<b>not</b> confirmed" in browser.evaluate("document.getElementById('changes').textContent")


def test_a_screenshot_of_the_report_is_saved(opened, tmp_path):
    browser, _ = opened

    browser.screenshot(tmp_path / "report.png")

    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
