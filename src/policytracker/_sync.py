"""Syncing a curated event file into a log, row by row, by ``key``.

The file's rows are matched with the log's effective history (as known now) by their ``key``: a new key
is appended as it is, a row whose content changed becomes an ``EventCorrected`` whose replacement is the
row (so it keeps the key), an unchanged row does nothing, and, when asked, a key no longer in the file has
its event retracted. A key that comes back to the file after being retracted is restored (its retraction
retracted). An event of the log without a key whose content equals a keyed row is *adopted*: corrected
into the keyed row, so that moving a log to keys counts nothing twice.

Every amendment amends the latest link of its event's chain (a correction corrects the correction that
stands, a restore retracts the retraction that stands), never the original again. Amendments' ids derive
from their content, so amending the original again would repeat an earlier amendment's content and id,
and the log would take it as already there: editing a figure from 7 to 8, back to 7 and to 8 again must
give three corrections, not two. The plan is checked against a copy of the effective history before
anything is written, and the whole plan is one atomic append at the head it was made against.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Literal, cast

import attrs

from policytracker._canonical import canonical_json
from policytracker._eventfiles import load_rows
from policytracker._events import Event, EventCorrected, EventRetracted
from policytracker._log import AppendResult, EventLog, open_log
from policytracker._projections._history import Resolver
from policytracker._serialization import event_from_dict, event_to_dict
from policytracker.exceptions import SerializationError, ValidationError

__all__ = ["SyncChange", "SyncPlan", "checked_rows", "make_plan", "sync"]

#: What a change does to its key: ``"add"`` a new event, ``"correct"`` the key's event (or adopt an event
#: without a key), ``"retract"`` it (its row left the file), ``"restore"`` it (its row came back).
Action = Literal["add", "correct", "retract", "restore"]
GONE = "no longer in the synced event file"
BACK = "in the synced event file again"
_MAX_LISTED = 20


@attrs.frozen(kw_only=True)
class SyncChange:
    """What :func:`sync` does for one key: its ``action``, the file's ``line`` (None for a retraction; a
    row's 1-based place when events were given as a list), the key's effective event ``before`` it (None
    for a new key), the row it makes effective ``after`` it (None for a retraction), and the ``events``
    appended for it."""

    action: Action
    key: str
    line: int | None
    before: Event | None
    after: Event | None
    events: tuple[Event, ...]


@attrs.frozen(kw_only=True)
class SyncPlan:
    """What :func:`sync` appends to make a log say what an event file says: the ``changes`` in file order
    (retractions last), the keys already ``unchanged``, the ``head`` the plan was made against, and the
    ``written`` append (None for a dry run, or when there was nothing to change).

    A dry run's plan is applied, exactly as ``sync`` applies it, by
    ``log.append(plan.events, expected_position=plan.head)``, which raises ``ConcurrencyError`` if the log
    has grown since.
    """

    changes: tuple[SyncChange, ...]
    unchanged: tuple[str, ...]
    head: int
    written: AppendResult | None = None

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event the plan appends, in order."""
        return tuple(event for change in self.changes for event in change.events)

    @property
    def summary(self) -> str:
        """One line counting the changes: ``"1 to add, 2 to correct, 0 to retract, 0 to restore, 20
        unchanged"``."""
        counts = [sum(change.action == action for change in self.changes) for action in _ACTIONS]
        done = ", ".join(f"{count} to {action}" for count, action in zip(counts, _ACTIONS, strict=True))
        return f"{done}, {len(self.unchanged)} unchanged"


_ACTIONS: tuple[Action, ...] = ("add", "correct", "retract", "restore")


def sync(
    log: EventLog | str | os.PathLike[str],
    source: str | os.PathLike[str] | Iterable[Event],
    *,
    dry_run: bool = False,
    retract_missing: bool = False,
    format: str | None = None,
) -> SyncPlan:
    """Make *log* say what the event file *source* says, row by row, by ``key``, and return the plan.

    *log* is an open log or a target for :func:`open_log` (opened, or created, and closed here; a dry run
    creates nothing). *source* is an event file (a path; *format* as for :func:`load_events`) or the
    events themselves. Every row needs a ``key``, one key per row. A new key is appended; a changed row
    becomes an ``EventCorrected`` (its replacement is the row, key included); an unchanged row does
    nothing; with *retract_missing*, every event of the log whose key is not in *source* is retracted
    (``EventRetracted``), which treats *source* as the whole keyed record of the log. A key back in the
    file after a retraction is restored. An event without a key whose content equals a row's is corrected
    into the row (adopted), so a log imported before it had keys counts nothing twice. Ids written in the
    file are not used: the key is a row's identity, and each row gets its content-derived id.

    The plan is appended in one atomic ``append`` at the head it was made against; with *dry_run*
    nothing is written. Syncing the same file again writes nothing.

    Raises:
        SerializationError: *source* has bad rows, rows without a key, retractions or corrections (a synced
            file holds facts: edit or delete a row instead), or a key on several rows; the message lists
            them all (lines, keys) and ``errors`` holds one error each. Nothing is written.
        ValidationError: a key of *source* belongs to several effective events of the log, or the log's
            own amendments of a key keep sync from making it read as the file does.
        ConcurrencyError: another writer appended while the plan was made; nothing was written.
    """
    rows = checked_rows(source, format=format)
    with _opened(log, dry_run=dry_run) as opened:
        plan = make_plan(opened, rows, retract_missing=retract_missing)
        if dry_run or not plan.changes:
            return plan
        return attrs.evolve(plan, written=opened.append(plan.events, expected_position=plan.head))


def make_plan(log: EventLog, rows: Rows, *, retract_missing: bool) -> SyncPlan:
    """The plan that makes *log* say what the :func:`checked_rows` *rows* say (nothing is written)."""
    return _Planner(log).plan(rows, retract_missing)


# -- the rows -------------------------------------------------------------------------------------------

#: Checked rows: each event with its line (or its 1-based place in a list of events).
Rows = list[tuple[int, Event]]


def checked_rows(
    source: str | os.PathLike[str] | IO[str] | Iterable[Event], *, format: str | None = None
) -> Rows:
    """The rows of *source* (an event file, a text stream of one, or events), checked for sync: each an
    event that is not an amendment, each with a key of its own (see :func:`sync` for the errors)."""
    if isinstance(source, str | os.PathLike):
        name, unit = str(source), "line"
        if Path(source).is_file() and not Path(source).read_bytes().strip(b"\xef\xbb\xbf \t\r\n"):
            # An empty file is a failed download or a truncated save, never a curated record: with
            # retract_missing it would retract every key. (A CSV with only its header says "no rows".)
            raise SerializationError(f"{name} is empty: a file to sync holds a CSV header or JSON lines")
        rows = load_rows(Path(source), format=format)
    elif hasattr(source, "read"):
        name, unit = getattr(source, "name", "<stream>"), "line"
        rows = load_rows(cast(IO[str], source), format=format or "jsonl")
    else:
        name, unit = "the events", "row"
        rows = list(enumerate(source, start=1))
        for number, event in rows:
            if not isinstance(event, Event):
                raise ValidationError(f"row {number}: expected an Event, got {event!r}")
    problems = _problems(rows, unit)
    if problems:
        listed = "\n".join(f"  {problem}" for problem in problems[:_MAX_LISTED])
        more = f"\n  … and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        raise SerializationError(
            f"{name}: {len(problems)} problem{'s' if len(problems) != 1 else ''}; nothing was synced\n"
            f"{listed}{more}",
            errors=tuple(problems),
        )
    return [(number, _content_derived(event)) for number, event in rows]


def _problems(rows: Rows, unit: str) -> list[SerializationError]:
    problems = []
    lines: dict[str, list[int]] = {}
    for number, event in rows:
        if isinstance(event, EventRetracted | EventCorrected):
            problems.append(
                SerializationError(
                    f"{unit} {number}: an {event.tag} row; a synced file holds the facts themselves: edit or "
                    "delete the row instead",
                    line=number,
                    tag=event.tag,
                )
            )
        elif not event.key:
            problems.append(
                SerializationError(
                    f"{unit} {number}: no key; sync matches rows to events by key: give every row one (or "
                    "import the file with append)",
                    line=number,
                    tag=event.tag,
                )
            )
        else:
            lines.setdefault(event.key, []).append(number)
    for key, numbers in lines.items():
        if len(numbers) > 1:
            listed = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
            problems.append(
                SerializationError(
                    f"key {key!r} is on {unit}s {listed}; a key names one row", line=numbers[0]
                )
            )
    return problems


def _content_derived(event: Event) -> Event:
    """*event* with its content-derived id (an edited row of an exported file keeps its old id)."""
    fields = event_to_dict(event)
    if "event_id" not in fields:
        return event
    del fields["event_id"]
    derived = event_from_dict(fields)
    return event if derived.event_id == event.event_id else derived


def _content(event: Event, *, key: bool = True) -> str:
    """*event*'s content as canonical text, without its id (and, unless *key*, without its key)."""
    fields = event_to_dict(event)
    fields.pop("event_id", None)
    if not key:
        fields.pop("key", None)
    return canonical_json(fields)


@contextlib.contextmanager
def _opened(log: EventLog | str | os.PathLike[str], *, dry_run: bool) -> Iterator[EventLog]:
    if not isinstance(log, str | os.PathLike):
        yield log
        return
    target = os.fspath(log)
    if dry_run and target != ":memory:" and "://" not in target and not Path(target).exists():
        target = ":memory:"  # plan against the empty log it would be, without creating it
    with open_log(target) as opened:
        yield opened


# -- the plan -------------------------------------------------------------------------------------------


@attrs.frozen
class _Version:
    """An original event of the log (``root``), the end of its chain of standing corrections (``end``:
    the root or the correction that stands last) and the version there (``latest``)."""

    root: uuid.UUID
    end: uuid.UUID
    latest: Event


class _Planner:
    def __init__(self, log: EventLog) -> None:
        self.head = log.head
        self.resolver = Resolver()
        for record in log.read():
            if record.position > self.head:
                break  # appended since the head was read: the append will say so
            self.resolver.add(record.event)
        resolver = self.resolver
        self.known = {*resolver.originals, *resolver.corrections, *resolver.retractions}
        self.live: dict[str, list[_Version]] = {}  # key → the standing events with that key
        self.void: dict[str, list[_Version]] = {}  # key → retracted events whose last version had it
        self.without_key: list[_Version] = []  # standing events without a key
        self._unkeyed: dict[str, _Version] | None = None
        for root in resolver.originals:
            version = self._version(root)
            standing = not resolver.is_void(root)
            if version.latest.key:
                (self.live if standing else self.void).setdefault(version.latest.key, []).append(version)
            elif standing:
                self.without_key.append(version)

    @property
    def unkeyed(self) -> dict[str, _Version]:
        """The standing events without a key, by content (made when a row first needs it)."""
        if self._unkeyed is None:
            self._unkeyed = {}
            for version in self.without_key:
                self._unkeyed.setdefault(_content(version.latest), version)
        return self._unkeyed

    def _version(self, root: uuid.UUID) -> _Version:
        resolver = self.resolver
        end, latest = root, resolver.originals[root]
        while True:  # the rule of the effective history: the last standing correction wins
            standing = [c for c in resolver.corrected_by.get(end, ()) if not resolver.is_void(c)]
            if not standing:
                return _Version(root, end, latest)
            end = standing[-1]
            latest = resolver.corrections[end].replacement

    def plan(self, rows: Rows, retract_missing: bool) -> SyncPlan:
        changes: list[SyncChange] = []
        unchanged: list[str] = []
        for line, row in rows:
            change = self._change(line, row)
            if change is None:
                unchanged.append(row.key)
            else:
                changes.append(change)
        if retract_missing:
            in_file = {row.key for _, row in rows}
            changes += [
                self._retract(key, versions) for key, versions in self.live.items() if key not in in_file
            ]
        self._check(changes)
        return SyncPlan(changes=tuple(changes), unchanged=tuple(unchanged), head=self.head)

    def _change(self, line: int, row: Event) -> SyncChange | None:
        key = row.key
        live = self.live.get(key, [])
        if len(live) > 1:
            ids = ", ".join(str(version.root) for version in live)
            raise ValidationError(
                f"the log holds {len(live)} events with the key {key!r} ({ids}); retract all but one of "
                "them, then sync again",
                field="key",
            )
        if live:
            version = live[0]
            if _content(version.latest) == _content(row):
                return None
            return SyncChange(
                action="correct",
                key=key,
                line=line,
                before=version.latest,
                after=row,
                events=self._correct(version.end, row),
            )
        if key in self.void:
            version = self.void[key][-1]
            events = self._unvoid(version.root)
            if _content(version.latest) != _content(row):
                events += self._correct(version.end, row)
            return SyncChange(
                action="restore", key=key, line=line, before=version.latest, after=row, events=tuple(events)
            )
        adopted = self.unkeyed.pop(_content(row, key=False), None)
        if adopted is not None:
            return SyncChange(
                action="correct",
                key=key,
                line=line,
                before=adopted.latest,
                after=row,
                events=self._correct(adopted.end, row),
            )
        return SyncChange(action="add", key=key, line=line, before=None, after=row, events=(row,))

    def _retract(self, key: str, versions: list[_Version]) -> SyncChange:
        events = [event for version in versions for event in self._void(version.root, GONE)]
        return SyncChange(
            action="retract", key=key, line=None, before=versions[-1].latest, after=None, events=tuple(events)
        )

    # -- amendments that never repeat one already in the log ---------------------------------------------

    def _correct(self, end: uuid.UUID, row: Event) -> tuple[Event, ...]:
        """Make *row* the version after *end*, the last standing link of a chain."""
        correction = EventCorrected(occurred=row.occurred, target=end, replacement=row)
        if correction.event_id not in self.known:
            return (correction,)
        return tuple(self._unvoid(correction.event_id))  # made before, then retracted: reinstate it

    def _void(self, target: uuid.UUID, reason: str) -> list[Event]:
        """Make the standing event *target* void."""
        occurred = self._event(target).occurred
        retraction = EventRetracted(occurred=occurred, target=target, reason=reason)
        if retraction.event_id not in self.known:
            return [retraction]
        return self._unvoid(retraction.event_id)  # made before, then itself retracted: reinstate it

    def _unvoid(self, target: uuid.UUID) -> list[Event]:
        """Make the void event *target* stand again: void each retraction of it that stands."""
        resolver = self.resolver
        standing = [r for r in resolver.retracted_by.get(target, ()) if not resolver.is_void(r)]
        return [event for retraction in standing for event in self._void(retraction, BACK)]

    def _event(self, event_id: uuid.UUID) -> Event:
        resolver = self.resolver
        found = (
            resolver.originals.get(event_id)
            or resolver.corrections.get(event_id)
            or resolver.retractions.get(event_id)
        )
        if found is None:  # pragma: no cover - ids come from the resolver
            raise LookupError(event_id)
        return found

    def _check(self, changes: list[SyncChange]) -> None:
        """Refuse a plan after which a key would not read as the file says (a tangle of amendments made
        by hand can do that), before anything is written."""
        after = self.resolver.copy()
        for change in changes:
            for event in change.events:
                after.add(event)
        effective: dict[str, list[Event]] = {}
        for root in after.originals:
            value = after.value(root)
            if value is not None and value.key:
                effective.setdefault(value.key, []).append(value)
        for change in changes:
            got = effective.get(change.key, [])
            wanted = [] if change.after is None else [change.after]
            if [_content(event) for event in got] != [_content(event) for event in wanted]:
                raise ValidationError(
                    f"cannot sync the key {change.key!r}: the retractions and corrections the log already "
                    "holds for it keep it from reading as the file does; retract its events, then sync "
                    "again",
                    field="key",
                )
