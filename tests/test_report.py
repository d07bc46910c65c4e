"""The HTML report (``pt.report``, ``policytracker report``) and the HTML of states and logs in notebooks:
one self-contained page, everything from the data escaped, nothing to fetch."""

import datetime as dt
import re
import sys

import pytest

import policytracker as pt
from tests.log_contract import StepClock
from tests.test_cli import run
from tests.test_seed_history import DATASET

pytest.importorskip("matplotlib", reason="the report's figures need the plot extra (matplotlib)")

JULY_18 = dt.datetime(2025, 7, 18, tzinfo=dt.UTC)
AUGUST_1 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)
EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def seeds():
    log = pt.open_log(":memory:", clock=StepClock(JULY_18))
    log.append(pt.load_events(DATASET))
    return log


@pytest.fixture(scope="module")
def page(seeds):
    return pt.report(seeds)


@pytest.fixture
def evil_log():
    """Text from the data that would be markup, a script or a link to a script if it were not escaped."""
    source = pt.Source(publisher=f"Evil {EVIL}", url="javascript:alert(1)", title="<b>bold</b>")
    said = pt.PolicyStatement(
        occurred="2025-07", country="SV", text=EVIL, note='"><img src=x onerror=alert(1)>', sources=(source,)
    )
    log = pt.open_log(":memory:", clock=StepClock(JULY_18, AUGUST_1))
    log.append([said])
    log.append([pt.EventRetracted(occurred="2025-08", target=said.event_id, reason=EVIL)])
    return log


# -- the page -----


def test_the_report_has_a_section_per_country_with_its_state_figures_and_events(seeds, page):
    for code in ("PK", "RU", "SV"):
        section = re.search(rf'<section id="country-{code}">(.*?)</section>', page, re.S)[1]
        assert 'class="policytracker-state"' in section
        assert 'class="policytracker-events"' in section
        assert section.count("<svg") == (2 if code == "SV" else 1)  # El Salvador alone holds bitcoin
        for event in pt.timeline(seeds, code):
            assert f'id="pt-event-{code}-{event.event_id}"' in section


def test_every_event_is_listed_with_its_sources(seeds, page):
    assert "Pakistan and El Salvador Strengthen Diplomatic Ties With New Crypto Alliance" in page
    assert "Bloomberg, 2025-07" in page
    assert page.count("<tr><td>2025") + page.count("<tr><td>2024") + page.count("<tr><td>2021") == sum(
        len(pt.timeline(seeds, code)) for code in ("PK", "RU", "SV")
    )


def test_the_page_fetches_nothing_and_runs_nothing(page):
    assert "<script" not in page
    assert not re.search(r"\bsrc=", page)
    assert not re.search(r"@import|url\((?!#)", page)
    assert all(ref.startswith("#") for ref in re.findall(r'xlink:href="([^"]*)"', page))
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in page


def test_the_ids_of_the_figures_are_unique_on_the_page(page):
    ids = re.findall(r'\bid="([^"]+)"', page)

    assert sorted(set(ids)) == sorted(ids)


def test_every_piece_of_text_from_the_data_is_escaped(evil_log):
    page = pt.report(evil_log, since=JULY_18)

    assert "<script" not in page
    assert "<img" not in page
    assert "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "javascript:" not in re.findall(r'href="([^"]*)"', page)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # the title, shown as text since its link is not http(s)


def test_the_same_log_gives_the_same_page(seeds, page):
    assert page == pt.report(seeds)


def test_countries_as_of_and_known_at_choose_what_is_shown(seeds):
    page = pt.report(seeds, countries=["sv"], as_of="2025-06", known_at=JULY_18)

    assert ["country-SV"] == re.findall(r'<section id="(country-[A-Z]+)">', page)
    assert "as of 2025-06-30, as known at 2025-07-18 00:00:00 UTC" in page
    assert "6,238 BTC" not in page  # reported in July


def test_since_adds_what_changed_in_what_we_know(evil_log):
    page = pt.report(evil_log, since=JULY_18)

    section = re.search(r'<section id="changes">(.*?)</section>', page, re.S)[1]
    assert "0 new facts, 1 retraction, 0 corrections; 1 country touched, 1 changed" in section
    assert "retraction" in section
    assert 'class="policytracker-compare"' in section
    assert "retracted" in re.search(r'<section id="country-SV">(.*?)</section>', page, re.S)[1]


def test_report_writes_the_page_to_a_new_file_only(seeds, tmp_path):
    target = tmp_path / "report.html"

    page = pt.report(seeds, target, countries=["PK"])

    assert page == target.read_text(encoding="utf-8")
    with pytest.raises(FileExistsError):
        pt.report(seeds, target)


def test_an_empty_log_gives_a_page_that_says_so():
    assert "The log knows nothing about any country yet." in pt.report(pt.open_log(":memory:"))


# -- the command line -----


@pytest.fixture
def seeded(tmp_path):
    log = tmp_path / "seeds.db"
    assert 0 == run("append", log, DATASET)[0]
    return log


def assert_one_line_error(code, out, err, *fragments):
    assert 1 == code, err
    assert "" == out
    assert 1 == len(err.strip().splitlines()), err
    for fragment in fragments:
        assert fragment in err


def test_the_report_command_writes_one_html_file(seeded, tmp_path):
    target = tmp_path / "report.html"

    code, out, err = run("report", seeded, "-o", target, "--country", "pk", "--as-of", "2025-07")

    assert (0, "") == (code, err)
    assert f"wrote {target}\n" == out
    page = target.read_text(encoding="utf-8")
    assert ["country-PK"] == re.findall(r'<section id="(country-[A-Z]+)">', page)


def test_the_report_command_with_since_shows_what_changed(seeded, tmp_path):
    target = tmp_path / "report.html"

    code, _, err = run("report", seeded, "-o", target, "--since", "2000-01-01T00:00:00Z")

    assert (0, "") == (code, err)
    assert "23 new facts, 0 retractions, 0 corrections; 3 countries touched, 3 changed" in target.read_text(
        encoding="utf-8"
    )


def test_the_report_command_never_overwrites_a_file(seeded, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("mine", encoding="utf-8")

    assert_one_line_error(*run("report", seeded, "-o", target), "already exists")
    assert "mine" == target.read_text(encoding="utf-8")


def test_the_report_command_without_matplotlib_says_how_to_install_it(seeded, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    target = tmp_path / "report.html"

    code, out, err = run("report", seeded, "-o", target)

    assert_one_line_error(code, out, err, 'pip install "policytracker[plot]"')
    assert str(seeded) not in err  # the log is not to blame
    assert not target.exists()


def test_the_report_command_refuses_since_after_known_at(seeded, tmp_path):
    argv = (
        "report",
        seeded,
        "-o",
        tmp_path / "r.html",
        "--known-at",
        "2025-01-01T00:00Z",
        "--since",
        "2025-02-01T00:00Z",
    )

    assert_one_line_error(*run(*argv), "--since 2025-02-01T00:00:00+00:00 is after --known-at 2025-01-01")


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "{log}"),  # no -o
        ("report", "{log}", "-o", "r.html", "--since", "2025-07-18"),  # no time zone
        ("report", "{log}", "-o", "r.html", "--country", "XX"),
    ],
)
def test_bad_report_command_lines_are_usage_errors(seeded, argv):
    code, out, err = run(*(arg.format(log=seeded) for arg in argv))

    assert (2, "") == (code, out)
    assert 1 == len(err.strip().splitlines())


def test_control_characters_and_missing_glyphs_are_harmless_in_the_report(tmp_path):
    log = pt.open_log(":memory:")
    log.append(
        [
            pt.CompanyHeadquartered(
                occurred="2025-07-01", country="SV", company="\u6bd4\u7279\u5e01 \U0001f680 \x1b[2J\u202eevil"
            )
        ]
    )

    page = pt.report(log)  # filterwarnings = error: a glyph warning would fail here

    assert "\x1b" not in page
    assert "\u202e" not in page
    assert "\\x1b[2J\\u202eevil" in page
