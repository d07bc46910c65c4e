"""HTML for people: the tables of ``_repr_html_`` (states, logs, changes) and the report's pieces.

Every piece of text that comes from the data (event fields, notes, sources, country names, a log's
target) goes through :func:`text`, i.e. ``html.escape``; links are made only of ``http(s)`` URLs. Nothing
here imports matplotlib, and nothing here reads more of a log than a summary needs.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from policytracker._events import Event, EventCorrected, EventRetracted, Source
from policytracker._log import EventLog, redact_url
from policytracker._present import counted, country_label, state_rows, summary, type_name
from policytracker._projections import CountryState
from policytracker._safetext import visible
from policytracker.exceptions import PolicyTrackerError

if TYPE_CHECKING:
    from policytracker._changes import Changes
    from policytracker._log._core import Recorded

__all__ = [
    "changes_html",
    "event_cell",
    "link",
    "log_html",
    "sources_html",
    "state_html",
    "table",
    "text",
    "timestamp",
]

_STORES = {
    "MemoryLog": "in memory",
    "SQLiteLog": "SQLite",
    "JSONLinesLog": "JSON Lines",
    "PostgresLog": "PostgreSQL",
}


def text(value: object) -> str:
    """*value* as HTML text: ``&``, ``<``, ``>`` and both quotes escaped, and control and bidirectional
    characters written as escapes (``\\x1b``, ``\\u202e``), as the command line shows them."""
    return html.escape(visible(str(value), keep_lines=True), quote=True)


def link(url: str | None, label: str) -> str:
    """*label* (escaped) as a link to *url* when that is an ``http(s)`` URL, else as plain text."""
    if url is None or not url.lower().startswith(("https://", "http://")):
        return text(label)
    return f'<a href="{text(url)}" rel="noopener noreferrer nofollow">{text(label)}</a>'


def table(
    rows: Iterable[Sequence[str]], *, header: Sequence[str] = (), caption: str = "", cls: str = ""
) -> str:
    """A table of *rows* whose cells are already HTML (escape data with :func:`text` first); the first
    cell of each row is its header when *header* is empty."""
    parts = [f'<table class="{text(cls)}">' if cls else "<table>"]
    if caption:
        parts.append(f"<caption>{caption}</caption>")
    if header:
        parts.append(
            "<thead><tr>" + "".join(f'<th scope="col">{cell}</th>' for cell in header) + "</tr></thead>"
        )
    parts.append("<tbody>")
    for row in rows:
        if header:
            parts.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
        else:
            first, *rest = row
            parts.append(
                f'<tr><th scope="row">{first}</th>' + "".join(f"<td>{c}</td>" for c in rest) + "</tr>"
            )
    parts.append("</tbody></table>")
    return "".join(parts)


def timestamp(value: object) -> str:
    """A UTC moment as people read it: ``2025-07-18 09:30:00 UTC``."""
    fmt = getattr(value, "format", None)
    return text(fmt("YYYY-MM-DD HH:mm:ss [UTC]") if callable(fmt) else value)


def state_caption(state: CountryState) -> str:
    """``Pakistan (PK): 11 events, the latest dated 2025-07``, escaped."""
    latest = f", the latest dated {state.last_occurred}" if state.last_occurred is not None else ""
    return text(f"{country_label(state.country)}: {counted(state.event_count, 'event')}{latest}")


def state_html(state: CountryState) -> str:
    """*state* as a two-column table, one row per field, with a caption naming the country."""
    rows = [(text(label), text(value)) for label, value in state_rows(state)]
    return table(rows, caption=state_caption(state), cls="policytracker-state")


def log_html(log: EventLog) -> str:
    """A summary of *log*: its kind of store, its target (never a password), its head and last stamp."""
    target = str(getattr(log, "target", ""))
    target = redact_url(target) if "://" in target else target
    rows = [
        ("store", text(_STORES.get(type(log).__name__, type(log).__name__))),
        ("target", text(target)),
    ]
    try:
        head = log.head
        rows.append(("records", text(f"{head:,}")))
        if head:
            last = next(iter(log.read(after=head - 1)))
            rows.append(("last recorded", timestamp(last.recorded_at)))
    except ValueError:  # closed
        rows.append(("state", "closed"))
    except (PolicyTrackerError, OSError) as exc:
        rows.append(("problem", text(f"{type(exc).__name__}: {exc}")))
    return table(rows, caption="policytracker log", cls="policytracker-log")


def event_cell(event: Event, *, dated: bool = True) -> str:
    """*event* in one cell: its type, what it says and (*dated*) its date; a correction: its replacement."""
    shown = event.replacement if isinstance(event, EventCorrected) else event
    date = f" ({text(shown.occurred)})" if dated else ""
    return f"<strong>{text(type_name(shown))}</strong>: {text(summary(shown))}{date}"


def sources_html(sources: Sequence[Source]) -> str:
    """Each source as publisher, title (linked when it has an ``http(s)`` URL) and date; one per line."""
    items = []
    for source in sources:
        title = source.title or source.url
        parts = [text(source.publisher)]
        if title:
            parts.append(link(source.url, title))
        if source.published is not None:
            parts.append(text(source.published))
        items.append(", ".join(parts))
    return "<br>".join(items) or "—"


def changes_html(changes: Changes) -> str:
    """*changes* as a summary line, a table of the records in the window and, per country touched, its
    state then beside its state now (cells that differ marked)."""
    until = "now" if changes.until is None else timestamp(changes.until)
    counts = [
        counted(len(changes.added), "new fact"),
        counted(len(changes.retractions), "retraction"),
        counted(len(changes.corrections), "correction"),
    ]
    head = (
        f"<p><strong>What changed in what we know</strong> between {timestamp(changes.since)} and {until}: "
        f"{', '.join(counts)}; {counted(len(changes.countries), 'country', 'countries')} touched, "
        f"{len(changes.changed)} changed.</p>"
    )
    parts = [head, records_table(changes.recorded, changes)]
    for code in changes.countries:
        parts.append(compare_table(changes.before[code], changes.after[code], changes))
    return f'<div class="policytracker-changes">{"".join(parts)}</div>'


def records_table(records: Sequence[Recorded], changes: Changes) -> str:
    """The records of *changes*: position, stamp, kind, the event and, for amendments, what they amend."""
    rows = []
    for record in records:
        event = record.event
        amends = "—"
        if isinstance(event, EventRetracted | EventCorrected):
            target = changes.targets.get(event.target)
            amends = event_cell(target) if target is not None else text(event.target)
        kind = {EventRetracted: "retraction", EventCorrected: "correction"}.get(type(event), "new fact")
        detail = text(event.reason) if isinstance(event, EventRetracted) else event_cell(event)
        rows.append((text(record.position), timestamp(record.recorded_at), text(kind), detail or "—", amends))
    if not rows:
        return "<p>Nothing was recorded in that time.</p>"
    return table(
        rows, header=("position", "recorded", "kind", "event", "amends"), cls="policytracker-records"
    )


def compare_table(before: CountryState, after: CountryState, changes: Changes) -> str:
    """*before* beside *after*, one row per field, the cells of rows that differ marked with ``<mark>``."""
    rows = []
    for (label, then), (_, now) in zip(state_rows(before), state_rows(after), strict=True):
        shown = (
            (text(then), text(now))
            if then == now
            else (f"<mark>{text(then)}</mark>", f"<mark>{text(now)}</mark>")
        )
        rows.append((text(label), *shown))
    until = "now" if changes.until is None else f"at {timestamp(changes.until)}"
    return table(
        rows,
        header=("", f"known at {timestamp(changes.since)}", f"known {until}"),
        caption=state_caption(after),
        cls="policytracker-compare",
    )
