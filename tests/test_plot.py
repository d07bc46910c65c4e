"""The figures draw what the log knows: spans as wide as a vague date, one marker per day, families in
their colours, retracted and corrected events marked, holdings reports apart from purchases and sales,
conflicts ringed. Each artist standing for an event carries a gid naming it."""

import datetime as dt
import importlib.util
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policytracker as pt
from tests.log_contract import StepClock
from tests.test_seed_history import DATASET

matplotlib = pytest.importorskip("matplotlib", reason="the figures need the plot extra (matplotlib)")
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.dates import date2num  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

ROOT = Path(__file__).parent.parent
JULY_18 = dt.datetime(2025, 7, 18, tzinfo=dt.UTC)
AUGUST_1 = dt.datetime(2025, 8, 1, tzinfo=dt.UTC)


def day(text):
    return date2num(dt.datetime.fromisoformat(text))


def drawn(figure, gid):
    found = figure.findobj(lambda artist: artist.get_gid() == gid)
    assert len(found) <= 1, gid
    return found[0] if found else None


def gids(figure, prefix):
    return sorted(a.get_gid() for a in figure.findobj(lambda a: (a.get_gid() or "").startswith(prefix)))


def extent(bar):
    """The first and last x of a bar drawn by broken_barh (a collection of one rectangle)."""
    (path,) = bar.get_paths()
    xs = path.vertices[:, 0]
    return xs.min(), xs.max()


def texts(figure):
    return [t.get_text() for t in figure.findobj(matplotlib.text.Text)]


def purchase(occurred, amount=7, country="SV"):
    return pt.ReservePurchase(occurred=occurred, country=country, amount=amount)


def in_memory(*events, clock=None):
    log = pt.open_log(":memory:", clock=clock)
    if events:
        log.append(events)
    return log


@pytest.fixture(scope="module")
def seeds():
    log = in_memory()
    log.append(pt.load_events(DATASET))
    return log


# -- the timeline -----


@pytest.mark.parametrize(
    ("occurred", "first", "days"),
    [("2025-07", "2025-07-01", 31), ("2025-02", "2025-02-01", 28), ("2024", "2024-01-01", 366)],
)
def test_a_month_or_year_is_a_bar_covering_all_of_it(occurred, first, days):
    event = purchase(occurred)
    figure = pt.plot_timeline(in_memory(event), ["SV"])

    start, end = extent(drawn(figure, f"pt-event-SV-{event.event_id}"))
    assert (day(first), days) == (start, end - start)


def test_a_day_is_one_marker_inside_that_day():
    days = ["2025-03-01", "2025-03-05", "2025-06-30"]
    events = [purchase(d, amount=i + 1) for i, d in enumerate(days)]
    figure = pt.plot_timeline(in_memory(*events), ["SV"])

    markers = [drawn(figure, f"pt-event-SV-{event.event_id}") for event in events]
    assert 3 == len(gids(figure, "pt-event-"))
    for marker, text in zip(markers, days, strict=True):
        assert isinstance(marker, matplotlib.lines.Line2D)
        assert "o" == marker.get_marker()
        (x,) = marker.get_xdata()
        assert day(text) <= x < day(text) + 1


def test_the_seed_history_draws_every_fact_once_per_country_it_touches(seeds):
    figure = pt.plot_timeline(seeds, ["PK", "SV", "RU"])
    partnership = next(r.event for r in seeds.read() if isinstance(r.event, pt.PartnershipFormed))
    visit = next(r.event for r in seeds.read() if isinstance(r.event, pt.VisitPlanned))

    expected = sorted(
        f"pt-event-{code}-{event.event_id}"
        for code in ("PK", "SV", "RU")
        for event in pt.timeline(seeds, code)
    )
    assert expected == gids(figure, "pt-event-")
    assert drawn(figure, f"pt-event-PK-{partnership.event_id}") is not None
    assert drawn(figure, f"pt-event-SV-{partnership.event_id}") is not None
    start, end = extent(drawn(figure, f"pt-event-RU-{visit.event_id}"))
    assert (day("2024-01-01"), 366) == (start, end - start)  # "2024": the whole (leap) year


def test_each_country_has_its_lane_in_the_order_given(seeds):
    figure = pt.plot_timeline(seeds, ["sv", "PK"])

    (ax,) = figure.axes
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert ["El Salvador (SV)", "Pakistan (PK)"] == labels


def test_colours_follow_the_event_family():
    bought = purchase("2025-06")
    refused = pt.IMFRefusal(occurred="2025-07", country="SV", proposal="a subsidy")
    figure = pt.plot_timeline(in_memory(bought, refused), ["SV"])

    bars = {e: drawn(figure, f"pt-event-SV-{e.event_id}") for e in (bought, refused)}
    assert "#0072b2" == to_hex(bars[bought].get_edgecolor()[0])
    assert "#d55e00" == to_hex(bars[refused].get_edgecolor()[0])


def test_labels_say_what_happened_and_are_never_read_as_mathematics():
    said = pt.PolicyStatement(occurred="2025-07", country="SV", text="$745 million <b>&</b> $5")
    figure = pt.plot_timeline(in_memory(said), ["SV"])

    assert "Policy statement: $745 million <b>&</b> $5" in texts(figure)
    figure.savefig(__import__("io").BytesIO(), format="svg")  # mathtext would fail on the lone $


@pytest.fixture
def amended():
    """SV buys 7 BTC and reports 6,238 (recorded on 18 July); on 1 August the purchase is corrected to 8
    and the report retracted."""
    bought, reported = (
        purchase("2025-06"),
        pt.HoldingsReported(occurred="2025-07-17", country="SV", amount=6238),
    )
    log = in_memory(clock=StepClock(JULY_18, AUGUST_1))
    log.append([bought, reported])
    fixed = purchase("2025-06", amount=8)
    log.append(
        [
            pt.EventCorrected(occurred="2025-08", target=bought.event_id, replacement=fixed),
            pt.EventRetracted(occurred="2025-08", target=reported.event_id, reason="misread"),
        ]
    )
    return log, bought, fixed, reported


def test_a_retracted_event_is_drawn_hatched_in_grey(amended):
    log, _, _, reported = amended
    figure = pt.plot_timeline(log, ["SV"])

    cross = drawn(figure, f"pt-retracted-SV-{reported.event_id}")
    assert drawn(figure, f"pt-event-SV-{reported.event_id}") is None
    assert "X" == cross.get_marker()  # reported on a day: a grey cross instead of a dot
    assert "#808080" == to_hex(cross.get_color())
    assert any(text.startswith("retracted: Holdings reported") for text in texts(figure))


def test_a_corrected_event_shows_the_correction_and_the_replaced_version_dashed(amended):
    log, bought, fixed, _ = amended
    figure = pt.plot_timeline(log, ["SV"])

    replaced = drawn(figure, f"pt-superseded-SV-{bought.event_id}")
    correction = drawn(figure, f"pt-event-SV-{fixed.event_id}")
    assert replaced.get_linestyle()[0][1] is not None  # dashed
    assert not replaced.get_facecolor().any()  # not filled
    assert 2.2 == correction.get_linewidth()[0]  # a thick edge
    assert any(text.endswith("bought 8 BTC (corrected)") for text in texts(figure))


def test_known_at_before_the_amendments_draws_the_facts_as_they_stood(amended):
    log, bought, fixed, reported = amended
    figure = pt.plot_timeline(log, ["SV"], known_at=JULY_18)

    expected = sorted(f"pt-event-SV-{e.event_id}" for e in (bought, reported))
    assert expected == gids(figure, "pt-")
    assert drawn(figure, f"pt-event-SV-{fixed.event_id}") is None


def test_amended_false_draws_only_what_stands(amended):
    log, _, fixed, _ = amended
    figure = pt.plot_timeline(log, ["SV"], amended=False)

    assert [f"pt-event-SV-{fixed.event_id}"] == gids(figure, "pt-")


def test_as_of_leaves_out_later_facts_and_draws_a_line_on_that_day(seeds):
    figure = pt.plot_timeline(seeds, ["SV"], as_of="2025-06")

    assert len(pt.timeline(seeds, "SV", as_of="2025-06")) == len(gids(figure, "pt-event-"))
    (line,) = figure.findobj(lambda a: a.get_gid() == "pt-as-of")
    assert day("2025-07-01") == line.get_xdata()[0]  # after the last day of June


def test_plot_timeline_draws_into_axes_it_is_given(seeds):
    figure = Figure()
    left, right = figure.subplots(1, 2)

    assert figure is pt.plot_timeline(seeds, ["PK"], ax=right)
    assert not left.has_data()
    assert right.has_data()


def test_plot_timeline_refuses_no_country_and_unknown_ones(seeds):
    with pytest.raises(pt.ValidationError, match="countries"):
        pt.plot_timeline(seeds, [])
    with pytest.raises(pt.ValidationError, match="'XX'"):
        pt.plot_timeline(seeds, ["XX"])


def test_a_country_without_events_gets_an_empty_lane_that_says_so(seeds):
    figure = pt.plot_timeline(seeds, ["SV", "FR"])

    assert "  no events" in texts(figure)


# -- holdings -----


@pytest.fixture
def holdings():
    """SV: a report of 100, a purchase of 10 and a sale of 5 in June, then a report of 120 in July, which
    disagrees with the 105 implied."""
    events = [
        pt.HoldingsReported(occurred="2025-05-31", country="SV", amount=100),
        purchase("2025-06-10", amount=10),
        pt.ReserveSale(occurred="2025-06-20", country="SV", amount=5),
        pt.HoldingsReported(occurred="2025-07", country="SV", amount=120),
    ]
    return in_memory(*events), events


def test_reports_purchases_and_sales_have_markers_of_their_own(holdings):
    log, (first, bought, sold, second) = holdings
    figure = pt.plot_holdings(log, "SV")

    shapes = {
        kind: drawn(figure, f"pt-{kind}-SV-BTC-{event.event_id}").get_marker()
        for kind, event in [("report", first), ("purchase", bought), ("sale", sold), ("report", second)]
    }
    assert {"report": "s", "purchase": "^", "sale": "v"} == shapes
    assert 4 == len(gids(figure, "pt-report-") + gids(figure, "pt-purchase-") + gids(figure, "pt-sale-"))


def test_the_line_steps_through_the_holdings_history(holdings):
    log, _ = holdings
    figure = pt.plot_holdings(log, "SV")

    line = drawn(figure, "pt-holdings-SV-BTC")
    expected = [float(point.amount) for point in pt.holdings_history(log, "SV")]
    assert expected == list(line.get_ydata())[:-1]
    assert [100.0, 110.0, 105.0, 120.0] == expected
    assert day("2025-07-01") == line.get_xdata()[3]  # a month-dated report steps on its first day


def test_a_report_that_disagrees_is_ringed_as_a_conflict(holdings):
    log, (_, _, _, second) = holdings
    figure = pt.plot_holdings(log, "SV")

    assert [f"pt-conflict-SV-BTC-{second.event_id}"] == gids(figure, "pt-conflict-")
    assert "conflict" in texts(figure)


def test_a_sale_larger_than_the_holdings_is_ringed():
    sale = pt.ReserveSale(occurred="2025-06-20", country="SV", amount=50)
    log = in_memory(purchase("2025-06-01", amount=10), sale)

    assert [f"pt-conflict-SV-BTC-{sale.event_id}"] == gids(pt.plot_holdings(log, "SV"), "pt-conflict-")


def test_a_vague_date_adds_a_band_as_wide_as_its_month(holdings):
    log, _ = holdings
    figure = pt.plot_holdings(log, "SV")

    (band,) = figure.findobj(lambda a: (a.get_gid() or "").startswith("pt-vague-"))
    ((start, _), (end, _)) = band.get_segments()[0]
    assert (day("2025-07-01"), 31) == (start, end - start)


def test_the_seed_history_holdings_show_the_purchase_and_the_report(seeds):
    figure = pt.plot_holdings(seeds, "SV", "btc")

    assert 1 == len(gids(figure, "pt-purchase-SV-BTC-"))
    assert 1 == len(gids(figure, "pt-report-SV-BTC-"))
    assert not gids(figure, "pt-conflict-")
    assert Decimal(6238) == pt.country_state(seeds, "SV").holdings["BTC"]
    assert 6238.0 == drawn(figure, "pt-holdings-SV-BTC").get_ydata()[-1]


def test_no_holdings_says_so(seeds):
    assert "no holdings of BTC recorded" in texts(pt.plot_holdings(seeds, "PK"))


# -- matplotlib stays optional -----


def test_importing_policytracker_does_not_import_matplotlib():
    code = "import sys, policytracker; assert 'matplotlib' not in sys.modules"

    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("draw", [pt.plot_timeline, pt.plot_holdings])
def test_without_matplotlib_the_error_says_how_to_install_it(draw, monkeypatch, seeds):
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    with pytest.raises(ImportError, match=r'pip install "policytracker\[plot\]"'):
        draw(seeds, "SV")


def test_the_readme_figure_script_draws_a_figure_the_size_of_the_committed_one(tmp_path):
    spec = importlib.util.spec_from_file_location("make_figure", ROOT / "docs" / "make_figure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    module.main(tmp_path / "timeline.png")

    committed = matplotlib.image.imread(ROOT / "docs" / "timeline.png")
    assert committed.shape == matplotlib.image.imread(tmp_path / "timeline.png").shape


def test_a_fact_moved_to_another_country_is_a_replacement_there_not_a_retraction():
    from policytracker._present import lane_marks

    log = pt.open_log(":memory:")
    original = pt.ReservePurchase(occurred="2025-07", country="SV", amount=3)
    moved = pt.ReservePurchase(occurred="2025-07", country="PK", amount=3)
    log.append([original])
    log.append([pt.EventCorrected(occurred="2025-07", target=original.event_id, replacement=moved)])

    assert ["superseded"] == [mark.status for mark in lane_marks(log, "SV")]
    assert ["replacement"] == [mark.status for mark in lane_marks(log, "PK")]

    log.append([pt.EventRetracted(occurred="2025-07", target=original.event_id)])  # both versions go

    assert ["retracted"] == [mark.status for mark in lane_marks(log, "SV")]
    assert ["retracted"] == [mark.status for mark in lane_marks(log, "PK")]
