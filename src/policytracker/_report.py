"""``report``: one self-contained HTML file of what a log knows, per country, with figures.

The file needs nothing but itself: the figures are inline SVG (matplotlib's SVG backend, text as text),
the style is inline, there is no script, font, image or link to fetch, and a Content-Security-Policy
forbids the page to load anything. Every piece of text from the data is escaped (see ``_html``).
"""

from __future__ import annotations

import io
import itertools
import os
import re
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import pendulum

from policytracker._changes import changes
from policytracker._countries import normalize_country
from policytracker._events import Event, EventCorrected, HoldingsReported, ReservePurchase, ReserveSale
from policytracker._html import (
    changes_html,
    event_cell,
    log_html,
    sources_html,
    state_html,
    table,
    text,
    timestamp,
)
from policytracker._log import EventLog, Recorded
from policytracker._plot import plot_holdings, plot_timeline, require_matplotlib
from policytracker._present import STATUSES, Mark, counted, country_label, lane_marks
from policytracker._projections import CountryState, country_state
from policytracker._projections._history import AsOf, KnownAt, check_as_of, check_known_at

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CONTENT_SECURITY_POLICY", "report"]

#: Nothing may be fetched, run or submitted; only the page's own inline style applies.
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0 auto; max-width: 72rem;
  padding: 1rem 2rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ddd; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th[scope=row] { background: #f6f6f6; font-weight: 500; white-space: nowrap; }
thead th { background: #eee; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figcaption, .meta, footer { color: #555; font-size: .85rem; }
.status-retracted, .status-superseded { color: #777; font-style: italic; }
mark { background: #fff3b0; } .conflicts li { color: #a00000; }
nav ul { padding-left: 1.2rem; columns: 3; }
"""


def report(
    log: EventLog,
    path: str | os.PathLike[str] | None = None,
    *,
    countries: Iterable[str] | None = None,
    as_of: AsOf = None,
    known_at: KnownAt = None,
    since: KnownAt = None,
) -> str:
    """Return one self-contained HTML page of what *log* knows, and write it to *path* when given.

    Per country (*countries*, default: every country a fact recorded by *known_at* and dated by *as_of*
    is about, including those whose facts were all retracted since): its state as a table, its timeline
    and holdings as inline SVG figures (see :func:`plot_timeline` and :func:`plot_holdings`), its
    conflicts, and every event with its sources (publisher, title, link), note and record, including the
    retracted and replaced ones. With *since* (a moment of record time), a "what changed in what we
    know" section comes first: :func:`changes` from *since* to *known_at*. *as_of* and *known_at* are as
    for :func:`project`.

    The page opens offline: no script, no font, no image or style sheet to fetch, and a
    Content-Security-Policy that forbids loading anything. All text from the data is HTML-escaped.

    Raises:
        ImportError: matplotlib is not installed (``pip install "policytracker[plot]"``).
        ValidationError: a country code, *as_of*, *known_at* or *since* is invalid, or *since* is after
            *known_at*.
        FileExistsError: *path* exists (a report never overwrites a file).
    """
    require_matplotlib()
    last_day = None if as_of is None else check_as_of(as_of)
    moment = None if known_at is None else check_known_at(known_at)
    diff = None if since is None else changes(log, since, moment, as_of=last_day)
    if countries is None:
        codes = _countries(log, last_day, moment)
    else:
        codes = list(dict.fromkeys(normalize_country(code, field="countries") for code in countries))
    states = {code: country_state(log, code, as_of=last_day, known_at=moment) for code in codes}
    numbers = itertools.count(1)  # figures are numbered across the page, to keep their SVG ids apart
    sections = [_country_section(log, state, last_day, moment, numbers) for state in states.values()]
    page = _page(log, codes, last_day, moment, None if diff is None else changes_html(diff), sections)
    if path is not None:
        with open(path, "x", encoding="utf-8") as target:
            target.write(page)
    return page


def _countries(log: EventLog, last_day: pendulum.Date | None, moment: pendulum.DateTime | None) -> list[str]:
    """Every country a fact recorded by *moment* and dated by *last_day* is about: those of the effective
    history, and those whose facts were all retracted since (their sections list them)."""
    found: set[str] = set()
    for record in log.read():
        if moment is not None and record.recorded_at > moment:
            break  # recorded_at never goes backwards
        event = record.event
        dated = event.replacement if isinstance(event, EventCorrected) else event
        if last_day is None or dated.occurred.latest <= last_day:
            found.update(dated.countries)
    return sorted(found)


def _page(
    log: EventLog,
    codes: Sequence[str],
    as_of: AsOf,
    known_at: KnownAt,
    changed: str | None,
    sections: Sequence[str],
) -> str:
    names = "; ".join(country_label(code) for code in codes) if len(codes) <= 4 else f"{len(codes)} countries"
    when = [f"as of {text(as_of)}" if as_of is not None else "every date"]
    when.append(f"as known at {timestamp(known_at)}" if known_at is not None else "everything recorded")
    nav = "".join(
        f'<li><a href="#country-{text(code)}">{text(country_label(code))}</a></li>' for code in codes
    )
    if changed is not None:
        nav = '<li><a href="#changes">What changed in what we know</a></li>' + nav
    body = [
        f"<header><h1>Digital-asset policy: {text(names)}</h1>",
        f'<p class="meta">{", ".join(when)}.</p>{log_html(log)}<nav><ul>{nav}</ul></nav></header><main>',
    ]
    if changed is not None:
        body.append(f'<section id="changes"><h2>What changed in what we know</h2>{changed}</section>')
    body.extend(sections or ["<p>The log knows nothing about any country yet.</p>"])
    body.append(f"</main><footer>{_footer()}</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>policytracker: {text(names)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _footer() -> str:
    try:
        made = f"policytracker {version('policytracker')}"
    except PackageNotFoundError:  # running from a source tree
        made = "policytracker"
    return (
        f"Made by {text(made)}. Bars span the whole month or year when that is all that is known of a date; "
        "markers are days. Hatched: retracted; dashed: replaced by a correction; thick edge: a correction."
    )


def _country_section(
    log: EventLog, state: CountryState, as_of: AsOf, known_at: KnownAt, numbers: Iterator[int]
) -> str:
    code = state.country
    marks = lane_marks(log, code, as_of=as_of, known_at=known_at)
    parts = [f'<section id="country-{text(code)}"><h2>{text(country_label(code))}</h2>', state_html(state)]
    if state.conflicts:
        items = "".join(f"<li>{text(conflict.message)}</li>" for conflict in state.conflicts)
        parts.append(f'<h3>Conflicts</h3><ul class="conflicts">{items}</ul>')
    timeline = plot_timeline(log, [code], as_of=as_of, known_at=known_at)
    parts.append(_figure(timeline, f"Timeline of {country_label(code)}.", next(numbers)))
    for asset in _assets(state, marks):
        holdings = plot_holdings(log, code, asset, as_of=as_of, known_at=known_at)
        caption = (
            f"{asset} holdings of {country_label(code)}: squares are reports, triangles purchases and sales."
        )
        parts.append(_figure(holdings, caption, next(numbers)))
    parts.append(f"<h3>Events</h3>{_events_table(log, code, marks)}</section>")
    return "".join(parts)


def _figure(figure: Figure, caption: str, number: int) -> str:
    image = _svg(figure, prefix=f"fig{number}-")
    return f'<figure class="policytracker-figure">{image}<figcaption>{text(caption)}</figcaption></figure>'


def _assets(state: CountryState, marks: Sequence[Mark]) -> list[str]:
    """The assets a holdings figure is drawn for: those held, reported, bought or sold."""
    found = set(state.holdings) | set(state.holdings_reports)
    holding_types = ReservePurchase | ReserveSale | HoldingsReported
    found.update(
        m.event.asset for m in marks if isinstance(m.event, holding_types) and m.status != "retracted"
    )
    return sorted(found)


def _events_table(log: EventLog, code: str, marks: Sequence[Mark]) -> str:
    if not marks:
        return "<p>No events.</p>"
    records = _records_by_event(log, code)
    rows = []
    for mark in marks:
        event = mark.event
        record = records.get(event.event_id)
        recorded = "—" if record is None else f"#{record.position}, {timestamp(record.recorded_at)}"
        status = f'<span class="status-{mark.status}">{text(STATUSES[mark.status])}</span>'
        rows.append(
            (
                text(event.occurred),
                event_cell(event, dated=False),
                status,
                sources_html(event.sources),
                text(event.note) or "—",
                recorded,
            )
        )
    header = ("date", "event", "status", "sources", "note", "recorded")
    caption = text(f"{counted(len(marks), 'event')} about {country_label(code)}, in valid-time order")
    return table(rows, header=header, cls="policytracker-events", caption=caption)


def _records_by_event(log: EventLog, code: str) -> dict[uuid.UUID, Recorded]:
    """The record of each event about *code*; a correction's replacement is recorded by the correction."""
    found: dict[uuid.UUID, Recorded] = {}
    for record in log.read(country=code):
        event: Event = record.event
        if isinstance(event, EventCorrected):
            event = event.replacement
        found.setdefault(event.event_id, record)
    return found


# -- SVG -----

_PROLOGUE = re.compile(r"\A.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_ID = re.compile(r'\bid="(?!pt-)([^"]+)"')
_REFERENCE = re.compile(r'(url\(#|href="#)(?!pt-)([^")]+)')


def _svg(figure: Figure, *, prefix: str) -> str:
    """*figure* as an inline ``<svg>`` element for an HTML page: text as text, no XML prologue, no
    metadata, and every id matplotlib made prefixed with *prefix* so that several figures on one page
    keep their ids apart (the ``pt-`` ids naming events are kept as they are)."""
    import matplotlib

    out = io.StringIO()
    with (
        matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "policytracker"}),
        warnings.catch_warnings(),
    ):
        # Text stays text in the SVG, drawn by the browser's fonts: a glyph matplotlib's own font lacks
        # (a Chinese name, an emoji) only makes its layout estimate rougher, never the page wrong.
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        figure.savefig(out, format="svg", metadata={"Date": None})
    image = _METADATA.sub("", _PROLOGUE.sub("", out.getvalue(), count=1))
    image = _ID.sub(lambda match: f'id="{prefix}{match[1]}"', image)
    return _REFERENCE.sub(lambda match: f"{match[1]}{prefix}{match[2]}", image)
