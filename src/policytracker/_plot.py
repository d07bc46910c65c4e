"""Figures for notebooks and papers (the ``plot`` extra, matplotlib): timelines and holdings.

matplotlib is imported inside the functions, never by ``import policytracker``. Figures are made with
``matplotlib.figure.Figure`` rather than pyplot: drawing needs no display and no backend, leaves no global
figure behind, and works headless.

Every artist that stands for an event carries a ``gid`` naming it (``pt-event-PK-<event id>``), which
the SVG output keeps as the element's ``id``: tests, and readers of the report, can find what was drawn.
Which events a lane shows, and how each stands, is ``_present.lane_marks``'s decision.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from policytracker._countries import normalize_country
from policytracker._dates import FuzzyDate, Precision
from policytracker._events import Event, HoldingsReported, ReservePurchase, ReserveSale
from policytracker._log import EventLog
from policytracker._present import FAMILIES, Mark, country_label, family_of, lane_marks, summary, type_name
from policytracker._projections import Conflict, HoldingsPoint, country_state, holdings_history, timeline
from policytracker._projections._history import AsOf, KnownAt, check_as_of, check_known_at
from policytracker._safetext import visible
from policytracker._validation import to_asset
from policytracker.exceptions import ValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_holdings", "plot_timeline", "require_matplotlib"]

INSTALL_HINT = 'pip install "policytracker[plot]"'

_LABEL_CHARS = 46
_FONT_SIZE = 7.0
_CHAR_INCHES = _FONT_SIZE * 0.58 / 72  # the mean width of a character of DejaVu Sans at that size
_ROW_INCHES = 0.24
_BAR = 0.7  # of a row's height
_GREY = "#808080"
_INK = "#222222"
_RED = "#C00000"


def require_matplotlib() -> None:
    """Import matplotlib, or say how to install it.

    Raises:
        ImportError: matplotlib is not installed; the message gives the pip command.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"figures and reports need matplotlib: {INSTALL_HINT}") from exc


# -- timeline -----


def plot_timeline(
    log: EventLog,
    countries: str | Iterable[str],
    *,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    amended: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Draw the effective events of *countries* on a time axis, one lane per country, and return the figure.

    An event dated to the day is a marker on that day; one dated only to its month or year is a bar
    spanning the whole month or year (as wide as what is known, in days). Colours tell the event's family
    (reserves and holdings, IMF, law and regulators, ...). With *amended* (the default), the versions that
    retractions and corrections recorded by *known_at* took back are drawn too: a retracted event hatched
    in grey, a version replaced by a correction as a dashed outline, and the correction that stands with a
    thick edge. *as_of* and *known_at* are as for :func:`project`; *ax* draws into existing axes.

    Raises:
        ImportError: matplotlib is not installed (``pip install "policytracker[plot]"``).
        ValidationError: a country code, *as_of* or *known_at* is invalid, or no country is given.
    """
    require_matplotlib()
    codes = _codes(countries)
    lanes = [(code, lane_marks(log, code, as_of=as_of, known_at=known_at, amended=amended)) for code in codes]
    own = ax is None  # a figure of our own is sized to its lanes; the caller's is left as it is
    figure, ax = _axes(ax, width=10.0, height=1.6)
    low, high = _x_range([mark.event.occurred for _, marks in lanes for mark in marks], as_of)
    axes_inches = max(ax.get_position().width * figure.get_figwidth(), 1.0)
    scale = (low, high, (high - low) / axes_inches * _CHAR_INCHES)
    top = 0.0
    ticks = []
    for code, marks in lanes:
        rows = _draw_lane(ax, code, marks, top, scale)
        ticks.append(top + rows / 2 - 0.5)
        top += rows
        ax.axhline(top - 0.5, color="#cccccc", linewidth=0.8)
        if not marks:
            ax.text(
                low, top - 1, "  no events", fontsize=_FONT_SIZE, color=_GREY, va="center", parse_math=False
            )
    if own:
        figure.set_figheight(max(1.8, 1.5 + _ROW_INCHES * top))
    ax.set_ylim(top - 0.5, -0.5)
    ax.set_yticks(ticks, [country_label(code) for code, _ in lanes])
    _date_axis(ax, low, high, as_of)
    present = {family_of(mark.event).name for _, marks in lanes for mark in marks}
    statuses = {mark.status for _, marks in lanes for mark in marks}
    _legend(ax, figure if own else None, _timeline_handles(present, statuses))
    ax.set_title(
        _title(", ".join(codes) if len(codes) > 3 else "; ".join(map(country_label, codes)), as_of, known_at),
        fontsize=9,
    )
    return figure


def _codes(countries: str | Iterable[str]) -> list[str]:
    given = [countries] if isinstance(countries, str) else list(countries)
    codes = list(dict.fromkeys(normalize_country(code, field="countries") for code in given))
    if not codes:
        raise ValidationError(
            "countries: give at least one country code, e.g. ['PK', 'SV']", field="countries"
        )
    return codes


def _day(date: _dt.date) -> float:
    from matplotlib.dates import date2num

    return float(date2num(_dt.datetime(date.year, date.month, date.day)))  # type: ignore[no-untyped-call]


def _span(occurred: FuzzyDate) -> tuple[float, float]:
    """Where *occurred* starts on the date axis and how many days it covers (its last day included)."""
    return _day(occurred.earliest), float((occurred.latest - occurred.earliest).days + 1)


def _x_range(dates: Sequence[FuzzyDate], as_of: AsOf) -> tuple[float, float]:
    ends = [_day(date.earliest) for date in dates] + [sum(_span(date)) for date in dates]
    if as_of is not None:
        ends.append(_day(check_as_of(as_of)) + 1)
    if not ends:
        return 0.0, 365.0
    low, high = min(ends), max(ends)
    pad = max((high - low) * 0.03, 15.0)
    return low - pad, high + pad


def _draw_lane(
    ax: Axes, code: str, marks: Sequence[Mark], top: float, scale: tuple[float, float, float]
) -> int:
    """Draw *marks* in rows from *top* down so that neither bars nor labels overlap; return the rows.

    *scale* is the date axis's ``(low, high, days per character of a label)``. A label starts where its
    event starts, or ends where it ends when it would otherwise run off the right edge."""
    low, high, char_days = scale
    rows: list[list[tuple[float, float]]] = []  # per row, the stretches its bars and labels take
    for mark in marks:
        start, days = _span(mark.event.occurred)
        day = mark.event.occurred.precision is Precision.DAY
        label = _label(mark)
        width = (len(label) + 1) * char_days
        first = start + days + char_days if day else start + char_days  # where a left-aligned label starts
        right = first + width > high and start + days - width > low
        left_edge, right_edge = (
            (start - width, start + days) if right else (start, max(first + width, start + days))
        )
        row = next(
            (i for i, taken in enumerate(rows) if all(b <= left_edge or a >= right_edge for a, b in taken)),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append((left_edge, right_edge))
        y = top + row
        _draw_mark(ax, code, mark, start, days, y)
        anchor = (start - char_days if day else start + days - char_days) if right else first
        ax.text(
            anchor,
            y,
            label,
            fontsize=_FONT_SIZE,
            ha="right" if right else "left",
            va="center",
            color=_GREY if mark.status in ("retracted", "superseded") else _INK,
            clip_on=True,
            parse_math=False,
        )
    return max(len(rows), 1)


def _label(mark: Mark) -> str:
    event = mark.event
    text = f"{type_name(event)}: {summary(event)}"
    text = text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"
    prefix = {"retracted": "retracted: ", "superseded": "replaced: "}.get(mark.status, "")
    # Control and bidirectional characters are shown as escapes, as on the command line.
    return visible(prefix + text + (" (corrected)" if mark.status == "replacement" else ""))


def _draw_mark(ax: Axes, code: str, mark: Mark, start: float, days: float, y: float) -> None:
    colour = family_of(mark.event).colour
    kind = "event" if mark.status in ("stands", "replacement") else mark.status
    gid = f"pt-{kind}-{code}-{mark.event.event_id}"
    if mark.event.occurred.precision is Precision.DAY:
        ax.plot([start + 0.5], [y], linestyle="none", gid=gid, **_marker_style(mark.status, colour))
    else:
        ax.broken_barh([(start, days)], (y - _BAR / 2, _BAR), gid=gid, **_bar_style(mark.status, colour))


def _bar_style(status: str, colour: str) -> dict[str, Any]:
    if status == "retracted":
        return {"facecolor": "none", "edgecolor": _GREY, "hatch": "////", "linestyle": "--", "linewidth": 0.8}
    if status == "superseded":
        return {"facecolor": "none", "edgecolor": colour, "linestyle": "--", "linewidth": 1.2}
    width = 2.2 if status == "replacement" else 0.8
    return {"facecolor": _tint(colour), "edgecolor": colour, "linewidth": width}


def _marker_style(status: str, colour: str) -> dict[str, Any]:
    if status == "retracted":
        return {"marker": "X", "markersize": 7, "color": _GREY}
    if status == "superseded":
        return {"marker": "o", "markersize": 7, "markerfacecolor": "none", "markeredgecolor": colour}
    edge = 2.0 if status == "replacement" else 0.8
    return {"marker": "o", "markersize": 7, "color": colour, "markeredgecolor": _INK, "markeredgewidth": edge}


def _tint(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour, alpha=0.45)


def _timeline_handles(families: set[str], statuses: set[str]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(facecolor=_tint(f.colour), edgecolor=f.colour, label=f.name)
        for f in FAMILIES
        if f.name in families
    ]
    handles.append(Line2D([], [], marker="o", color=_GREY, linestyle="none", label="a day"))
    handles.append(Patch(facecolor="#dddddd", edgecolor=_GREY, label="a month or year: the whole span"))
    if "replacement" in statuses:
        handles.append(
            Patch(facecolor="#dddddd", edgecolor=_INK, linewidth=2.2, label="correction that stands")
        )
    if "superseded" in statuses:
        handles.append(
            Patch(facecolor="none", edgecolor=_GREY, linestyle="--", label="replaced by a correction")
        )
    if "retracted" in statuses:
        handles.append(
            Patch(facecolor="none", edgecolor=_GREY, hatch="////", linestyle="--", label="retracted")
        )
    return handles


# -- holdings -----


def plot_holdings(
    log: EventLog,
    country: str,
    asset: str = "BTC",
    *,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw *country*'s holdings of *asset* over time as a step chart and return the figure.

    The line follows :func:`holdings_history`, stepping on the first day each date can mean; a date known
    only to its month or year adds a pale band as wide as that month or year. Holdings reports
    (snapshots) are squares, purchases upward and sales downward triangles (deltas), and the later event
    of each conflict (a report that disagrees with the holdings before it, a sale larger than the
    holdings) is ringed and labelled. *as_of* and *known_at* are as for :func:`project`; *ax* draws into
    existing axes.

    Raises:
        ImportError: matplotlib is not installed (``pip install "policytracker[plot]"``).
        ValidationError: *country*, *asset*, *as_of* or *known_at* is invalid.
    """
    require_matplotlib()
    code = normalize_country(country)
    symbol = to_asset(asset)
    points = holdings_history(log, code, symbol, as_of=as_of, known_at=known_at)
    events = {event.event_id: event for event in timeline(log, code, as_of=as_of, known_at=known_at)}
    own = ax is None
    figure, ax = _axes(ax, width=8.0, height=3.6)
    low, high = _x_range([point.occurred for point in points], as_of)
    if not points:
        ax.text(
            0.5, 0.5, f"no holdings of {symbol} recorded", transform=ax.transAxes, ha="center", color=_GREY
        )
    else:
        where = _draw_holdings(ax, f"{code}-{symbol}", points, events, high)
        conflicts = country_state(log, code, as_of=as_of, known_at=known_at).conflicts
        _ring_conflicts(ax, f"{code}-{symbol}", conflicts, where)
    _date_axis(ax, low, high, as_of)
    from matplotlib.ticker import StrMethodFormatter

    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,g}"))
    ax.set_ylabel(symbol, fontsize=8)
    _legend(ax, figure if own else None, _holdings_handles())
    ax.set_title(_title(f"{country_label(code)}: {symbol} holdings", as_of, known_at), fontsize=9)
    return figure


def _draw_holdings(
    ax: Axes, name: str, points: Sequence[HoldingsPoint], events: Mapping[uuid.UUID, Event], end: float
) -> dict[uuid.UUID, tuple[float, float]]:
    """The step line through *points* up to *end*, a band under each vague date and a marker per event;
    return where each event's marker is."""
    xs = [_day(point.occurred.earliest) for point in points]
    ys = [float(point.amount) for point in points]
    ax.step([*xs, end], [*ys, ys[-1]], where="post", color=_INK, linewidth=1.4, gid=f"pt-holdings-{name}")
    ax.set_ylim(bottom=0, top=max(ys) * 1.15 or 1)
    where = {}
    for point, x, y in zip(points, xs, ys, strict=True):
        if point.occurred.precision is not Precision.DAY:
            start, days = _span(point.occurred)
            band = f"pt-vague-{name}-{point.occurred}"
            ax.hlines(y, start, start + days, colors="#0072B2", linewidth=7, alpha=0.2, gid=band)
        for event_id in point.event_ids:
            where[event_id] = (x, y)
            kind, marker, colour = _HOLDING_KINDS.get(type(events.get(event_id)), ("event", "o", _GREY))
            style: dict[str, Any] = {
                "markersize": 8,
                "markeredgecolor": _INK,
                "markeredgewidth": 0.6,
                "linestyle": "none",
            }
            ax.plot([x], [y], marker=marker, color=colour, gid=f"pt-{kind}-{name}-{event_id}", **style)
    return where


def _ring_conflicts(
    ax: Axes, name: str, conflicts: Iterable[Conflict], where: Mapping[uuid.UUID, tuple[float, float]]
) -> None:
    """Ring the later event of each conflict that is drawn, and label it."""
    for conflict in conflicts:
        later = conflict.event_ids[-1]
        if later not in where:
            continue  # a conflict about another asset
        x, y = where[later]
        ring: dict[str, Any] = {
            "markersize": 16,
            "markerfacecolor": "none",
            "markeredgewidth": 1.6,
            "linestyle": "none",
        }
        ax.plot([x], [y], marker="o", markeredgecolor=_RED, gid=f"pt-conflict-{name}-{later}", **ring)
        ax.annotate(
            "conflict", (x, y), xytext=(10, 10), textcoords="offset points", color=_RED, fontsize=_FONT_SIZE
        )


_HOLDING_KINDS: dict[type[Event | None], tuple[str, str, str]] = {
    HoldingsReported: ("report", "s", "#0072B2"),
    ReservePurchase: ("purchase", "^", "#009E73"),
    ReserveSale: ("sale", "v", "#D55E00"),
}


def _holdings_handles() -> list[Any]:
    from matplotlib.lines import Line2D

    def marker(label: str, shape: str, colour: str, **style: Any) -> Line2D:
        return Line2D([], [], marker=shape, color=colour, linestyle="none", label=label, **style)

    return [
        marker("holdings report (a snapshot)", "s", "#0072B2"),
        marker("purchase (adds)", "^", "#009E73"),
        marker("sale (subtracts)", "v", "#D55E00"),
        marker("conflict", "o", _RED, markerfacecolor="none", markersize=10),
        Line2D([], [], color="#0072B2", alpha=0.2, linewidth=7, label="date known to its month or year"),
    ]


# -- shared -----


def _axes(ax: Axes | None, *, width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure, SubFigure

    if ax is None:
        figure = Figure(figsize=(width, height), layout="constrained")
        return figure, figure.add_subplot()
    parent = ax.figure
    return (parent.figure if isinstance(parent, SubFigure) else parent), ax


def _date_axis(ax: Axes, low: float, high: float, as_of: AsOf) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlim(low, high)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.8)
    ax.set_axisbelow(True)
    if as_of is not None:
        ax.axvline(_day(check_as_of(as_of)) + 1, color=_INK, linestyle=":", linewidth=1, gid="pt-as-of")


def _legend(ax: Axes, figure: Figure | None, handles: list[Any]) -> None:
    """The legend below *figure* (one of our own), else inside *ax*."""
    if figure is not None:
        figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7, frameon=False)
    else:
        ax.legend(handles=handles, fontsize=7, loc="best")


def _title(what: str, as_of: AsOf, known_at: KnownAt) -> str:
    parts = [what]
    if as_of is not None:
        parts.append(f"as of {check_as_of(as_of).isoformat()}")
    if known_at is not None:
        parts.append(f"as known at {check_known_at(known_at).format('YYYY-MM-DD HH:mm')} UTC")
    return ", ".join(parts)
