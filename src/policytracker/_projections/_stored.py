"""The stored latest state: the built-in projection's state kept in the store beside the records.

``save_snapshot(log)`` (on the command line, ``policytracker snapshot LOG``) writes it; a read never does,
so readers stay lock-free. ``country_states(log)`` (the latest state: no ``as_of``, no ``known_at``) then
loads it and folds in only what was appended since:

- events about a country that sort after its checkpoint (in valid-time order) are folded in with the
  latest events the snapshot keeps for it;
- a country touched by an event that sorts before its checkpoint, a retraction or a correction is refolded
  alone, from its own records (read through the store's country index);
- a snapshot that does not match the log (the record it was taken at, its own content digest, its format
  or the projection's version) is ignored, never trusted: the state is then folded from the whole log.

The stored content is canonical JSON (docs/log.md, "Stored states"), never pickle::

    {"countries": {"SV": {"checkpoint": {...}, "checkpoint_last": [earliest, latest, rank, "event id"],
                          "tail": [event, ...]}, ...},
     "digest": "<digest of the record at position>", "format": 4, "position": 1234,
     "projection": "policytracker.country_states", "projection_version": 1,
     "replacements": ["<id of each standing correction's replacement>", ...]}

Per country, ``checkpoint`` is a ``CountryState`` (field by field, events in their stored form) after the
events up to the valid-time key ``checkpoint_last``, and ``tail`` the country's latest effective events
after it (between 512 and 1,023 of them, or all when fewer), in valid-time order: the state is the
checkpoint with the tail folded in. An appended event that sorts after ``checkpoint_last`` is folded in
again with the tail; only one that sorts before it makes the country be refolded from its records.
"""

from __future__ import annotations

import collections.abc
import enum
import itertools
import re
import reprlib
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from policytracker._canonical import canonical_json, loads, uuid_from_int
from policytracker._codec import decode_event, encode_event
from policytracker._countries import normalize_country
from policytracker._dates import FuzzyDate
from policytracker._events import AMENDMENT_TAGS, Event
from policytracker._frozenmap import FrozenMap
from policytracker._gcpause import collector_paused
from policytracker._log._core import EventLog, Recorded, StateKeeper, StoredState
from policytracker._projections._country import (
    COUNTRY_STATES,
    Conflict,
    CountryState,
)
from policytracker._projections._history import (
    Resolver,
    ValidKey,
    effective_events,
    stream_effective,
    valid_time_key,
)
from policytracker._validation import EXACT, to_asset
from policytracker.exceptions import ConcurrencyError

__all__ = ["SnapshotInfo", "latest_country_states", "save_snapshot", "stored_state_problem"]

#: The name the built-in projection's latest state is stored under, and the version of its format.
NAME = COUNTRY_STATES.name
FORMAT = 4
# Appended records beyond which folding them in one by one costs more than a streamed replay.
_MAX_NEW = 200_000


@attrs.frozen(kw_only=True)
class SnapshotInfo:
    """What :func:`save_snapshot` stored: the ``position`` and ``digest`` of the last record the state
    folds in, how many ``countries`` it holds, and the ``refolded`` countries (those a back-dated event or
    an amendment since the previous snapshot touched; None when the state was folded from the whole log)."""

    position: int
    digest: str
    countries: int
    refolded: tuple[str, ...] | None


#: How many of a country's latest events a stored state keeps after its checkpoint (between this and
#: twice this): an appended event that sorts among them is folded in again with them, not refolded.
_WINDOW = 512


@attrs.frozen(kw_only=True)
class _Entry:
    """One country's stored state: the ``checkpoint`` state (None: no entry yet) after the events up to
    the key ``checkpoint_last`` (None: none), and the effective events after it, ``tail``, in valid-time
    order; ``state`` is the checkpoint with the tail folded in (None: no entry)."""

    checkpoint: CountryState | None
    checkpoint_last: ValidKey | None
    tail: tuple[Event, ...]
    state: CountryState | None


class _Window:
    """Builds an ``_Entry`` from a country's effective events in valid-time order, folding into the
    checkpoint all but the latest ``_WINDOW`` to ``2 * _WINDOW`` of them."""

    def __init__(self, code: str, entry: _Entry | None = None) -> None:
        self.code = code
        self.checkpoint = None if entry is None else entry.checkpoint
        self.checkpoint_last = None if entry is None else entry.checkpoint_last
        self.pending: list[Event] = []

    def add(self, event: Event) -> None:
        self.pending.append(event)
        if len(self.pending) >= 2 * _WINDOW:
            done, self.pending = self.pending[:_WINDOW], self.pending[_WINDOW:]
            self.checkpoint = _fold_entry(self.code, self.checkpoint, done)
            self.checkpoint_last = valid_time_key(done[-1])

    def entry(self) -> _Entry:
        tail = tuple(self.pending)
        return _Entry(
            checkpoint=self.checkpoint,
            checkpoint_last=self.checkpoint_last,
            tail=tail,
            state=_fold_entry(self.code, self.checkpoint, list(tail)) if tail else self.checkpoint,
        )


def _window_of(code: str, events: Iterable[Event], entry: _Entry | None = None) -> _Entry:
    window = _Window(code, entry)
    for event in events:
        window.add(event)
    return window.entry()


@attrs.frozen(kw_only=True)
class _Latest:
    position: int
    digest: str
    entries: Mapping[str, _Entry]
    replacements: frozenset[uuid.UUID]
    refolded: tuple[str, ...] | None = None

    @property
    def states(self) -> dict[str, CountryState]:
        return {code: entry.state for code, entry in self.entries.items() if entry.state is not None}


def save_snapshot(log: EventLog, *, rebuild: bool = False) -> SnapshotInfo:
    """Store the latest state of the built-in projection (``country_states(log)``) in *log*, beside its
    records, so that later ``country_states(log)`` calls, in any process, load it and fold in only what
    was appended since. A valid earlier snapshot is brought up to date, unless *rebuild* is true: then the
    state is folded from the whole log.

    Raises:
        TypeError: the log's store cannot keep a state.
        PermissionError: the log is read-only.
        ConcurrencyError: appends kept arriving in the same microsecond as the last record read.
    """
    if not isinstance(log, StateKeeper):
        raise TypeError(f"{log!r} cannot keep a stored state")
    base = None if rebuild else _decoded(log.load_state(NAME))
    try:
        latest = _brought_up_to_date(log, base) if base is not None else None
    except _Untrusted:
        latest = None
    if latest is None:
        latest = _folded_whole(log)
    log.save_state(StoredState(NAME, latest.position, latest.digest, _encoded(latest)))
    return SnapshotInfo(
        position=latest.position,
        digest=latest.digest,
        countries=len(latest.states),
        refolded=latest.refolded,
    )


def latest_country_states(log: EventLog) -> Mapping[str, CountryState] | None:
    """The latest ``country_states`` from the log's stored state plus what was appended since, or None
    when there is no stored state that matches the log (or too much was appended since to be worth it)."""
    if not isinstance(log, StateKeeper):
        return None
    base = _decoded(log.load_state(NAME))
    if base is None:
        return None
    try:
        latest = _brought_up_to_date(log, base)
    except _Untrusted:
        return None
    return None if latest is None else FrozenMap(dict(sorted(latest.states.items())))


# -- building -----------------------------------------------------------------------------------------------


def _last_record(log: EventLog) -> Recorded | None:
    head = log.head
    return next(log.read(after=head - 1), None) if head else None


def _folded_whole(log: EventLog) -> _Latest:
    """The state folded from the whole log, up to its last record, read as known when that record was
    written (so that appends arriving meanwhile are left for the next snapshot)."""
    for _attempt in range(5):
        last = _last_record(log)
        if last is None:
            return _Latest(position=0, digest="", entries={}, replacements=frozenset())
        windows: dict[str, _Window] = {}
        for event in stream_effective(log, known_at=last.recorded_at):
            for code in event.countries:
                window = windows.get(code)
                if window is None:
                    window = windows[code] = _Window(code)
                window.add(event)
        replacements = _standing_replacements(log, last.position)
        if _settled(log, last):
            return _Latest(
                position=last.position,
                digest=last.digest,
                entries={code: window.entry() for code, window in sorted(windows.items())},
                replacements=replacements,
            )
    raise ConcurrencyError(_BUSY)


_BUSY = "appends kept arriving in the microsecond of the last record read; try again"


def _settled(log: EventLog, last: Recorded) -> bool:
    """Whether every record a read as known at *last*'s stamp could include is at or before it."""
    following = next(log.read(after=last.position), None)
    return following is None or following.recorded_at > last.recorded_at


def _amendments(log: EventLog, upto: int) -> Resolver:
    """The retractions and corrections through position *upto*, resolved (open world: the originals they
    amend are not read)."""
    resolver = Resolver(open_world=True)
    for record in log.read(types=sorted(AMENDMENT_TAGS)):
        if record.position > upto:
            break
        resolver.add(record.event)
    return resolver


def _standing_replacements(log: EventLog, upto: int) -> frozenset[uuid.UUID]:
    """The ids of the replacements that stand in for an original, through position *upto*."""
    return _replacement_ids(_amendments(log, upto))


def _replacement_ids(resolver: Resolver) -> frozenset[uuid.UUID]:
    ids = set()
    for root in set(resolver.root.values()):
        value = resolver.amended_value(root)
        if isinstance(value, Event):
            ids.add(value.event_id)
    return frozenset(ids)


def _chain_countries(log: StateKeeper, resolver: Resolver, amendments: list[Event]) -> set[str]:
    """Every country that any version of a fact the *amendments* amend belongs to: its original's and
    each replacement's along its chain of corrections (a retraction of the original takes them all out,
    a retraction of a correction brings back the version before it)."""
    roots = {resolver.root[event.event_id] for event in amendments if event.event_id in resolver.root}
    chain = [amendment for amendment, root in resolver.root.items() if root in roots]
    indexed = log.index_countries([*roots, *chain])
    countries: set[str] = set()
    for event_id in [*roots, *chain]:
        countries.update(indexed.get(event_id, ()))
        correction = resolver.corrections.get(event_id)
        if correction is not None:
            countries.update(correction.replacement.countries)
    return countries


class _Untrusted(ValueError):
    """A stored state that its log shows to be false: it is ignored, never trusted."""


def _brought_up_to_date(log: EventLog, base: _Latest) -> _Latest | None:
    """*base* with the records appended since folded in; None when too many were appended to be worth it.
    Countries touched by an amendment or a back-dated event are refolded alone.

    Raises:
        _Untrusted: *base* already holds an event appended after it.
    """
    assert isinstance(log, StateKeeper)
    if log.head - base.position > _MAX_NEW:
        return None
    new = list(log.read(after=base.position))
    if not new:
        return attrs.evolve(base, refolded=())
    last = new[-1]
    refold: set[str] = set()
    amendments = [record.event for record in new if record.event.tag in AMENDMENT_TAGS]
    replacements = base.replacements
    if amendments:
        resolver = _amendments(log, last.position)
        refold.update(_chain_countries(log, resolver, amendments))
        replacements = _replacement_ids(resolver)
    fresh: dict[str, list[Event]] = {}
    for record in new:
        event = record.event
        if event.tag in AMENDMENT_TAGS:
            continue
        for code in event.countries:
            if event.event_id in replacements:
                refold.add(code)  # the same fact as a standing replacement: it counts once
            else:
                fresh.setdefault(code, []).append(event)
    entries = dict(base.entries)
    for code, events in fresh.items():
        entry = entries.get(code)
        first = min(valid_time_key(event) for event in events)
        if entry is not None and entry.checkpoint_last is not None and first <= entry.checkpoint_last:
            refold.add(code)  # sorts before the kept tail: only a refold from the start can place it
        if code in refold:
            continue
        kept = entry.tail if entry is not None else ()
        if kept and not {event.event_id for event in kept}.isdisjoint(event.event_id for event in events):
            raise _Untrusted(f"{code}: kept events appended after the record it was taken at")
        merged = sorted([*kept, *events], key=valid_time_key)
        entries[code] = _window_of(code, merged, entry)
    for code in refold:
        entries[code] = _window_of(code, stream_effective(log, known_at=last.recorded_at, country=code))
    if refold and not _settled(log, last):
        return _folded_whole(log)
    return _Latest(
        position=last.position,
        digest=last.digest,
        entries=entries,
        replacements=replacements,
        refolded=tuple(sorted(refold)),
    )


def _fold_entry(code: str, state: CountryState | None, events: list[Event]) -> CountryState | None:
    fold_country = COUNTRY_STATES.fold_country
    assert fold_country is not None
    entry = fold_country(code, state, events)
    assert entry is None or isinstance(entry, CountryState)
    return entry


# -- the stored form ----------------------------------------------------------------------------------------


def _encoded(latest: _Latest) -> str:
    return canonical_json(
        {
            "format": FORMAT,
            "projection": NAME,
            "projection_version": COUNTRY_STATES.version,
            "position": latest.position,
            "digest": latest.digest,
            "replacements": sorted(str(event_id) for event_id in latest.replacements),
            "countries": {
                code: {
                    "checkpoint": None if entry.checkpoint is None else _STATE_CODEC.encode(entry.checkpoint),
                    "checkpoint_last": None
                    if entry.checkpoint_last is None
                    else [*entry.checkpoint_last[:3], str(entry.checkpoint_last[3])],
                    "tail": [encode_event(event) for event in entry.tail],
                }
                for code, entry in latest.entries.items()
            },
        }
    )


def _decoded(stored: StoredState | None) -> _Latest | None:
    """The stored state, or None when there is none or it is of another format or projection version."""
    if stored is None:
        return None
    with collector_paused():
        return _read_latest(stored)


def _read_latest(stored: StoredState) -> _Latest | None:
    try:
        return _parsed_latest(stored)
    except Exception:  # a state that cannot be read is ignored, never trusted
        return None


def _parsed_latest(stored: StoredState) -> _Latest | None:
    """The stored state, or None when it is of another format or projection version; any other state
    not as the projection writes it raises (mostly ``ValueError`` naming what is wrong)."""
    obj = _exactly(dict)(loads(stored.content))
    return None if _version(obj) is not None else _latest_of(obj, stored)


def _latest_of(obj: dict[str, Any], stored: StoredState) -> _Latest:
    """The state of the parsed content *obj* of *stored*, of this version's format and projection."""
    if obj.keys() != _TOP_KEYS:
        raise ValueError("top-level fields other than the format's")
    if _exactly(int)(obj["position"]) != stored.position or obj["digest"] != stored.digest:
        raise ValueError("its content names another record than the one it is stored at")
    countries = _exactly(dict)(obj["countries"])
    texts = _exactly(list)(obj["replacements"])
    if stored.position == 0 and (countries or texts):
        raise ValueError("a state taken before the first record, which holds no country")
    try:
        entries = {code: _decoded_entry(code, entry) for code, entry in countries.items()}
    finally:
        _IDS.clear()
    for code, entry in entries.items():
        # A partnership is about both countries, so each partner has an entry of its own.
        if entry.state is not None and not entry.state.partners <= entries.keys():
            raise ValueError(f"{code}: a partner without an entry of its own")
    replacements = [_event_id(text) for text in texts]
    if any(earlier >= later for earlier, later in itertools.pairwise(texts)):
        raise ValueError("replacements not written as a sorted list without repeats")
    return _Latest(
        position=stored.position, digest=stored.digest, entries=entries, replacements=frozenset(replacements)
    )


_TOP_KEYS = {"countries", "digest", "format", "position", "projection", "projection_version", "replacements"}
_ENTRY_KEYS = {"checkpoint", "checkpoint_last", "tail"}


def _version(obj: dict[str, Any]) -> str | None:
    """How the format or projection version of a stored state *obj* differs from what this version reads
    and writes (each a whole number), or None when they are the same. Raises ``ValueError`` for a state
    of another projection, or whose format or projection version is not a whole number: the projection
    never writes one."""
    if obj.get("projection") != NAME:
        raise ValueError(f"the projection {reprlib.repr(obj.get('projection'))}, not {NAME!r}")
    written, version = obj.get("format"), obj.get("projection_version")
    if type(written) is not int or type(version) is not int or written < 1 or version < 1:
        raise ValueError("a format or projection version that is not a whole number from 1")
    if written != FORMAT:
        return f"of format {written}"
    if version != COUNTRY_STATES.version:
        return f"of projection version {version}"
    return None


def stored_state_problem(log: EventLog) -> tuple[bool, str] | None:
    """What is wrong with the stored latest state of *log*, beyond what ``verify()`` checks (its digests
    and the record it was taken at), as ``(damaged, message)``; None when there is none, or nothing is.

    Damaged: a state not as the projection writes it, which reads ignore; or one that differs from what
    the projection writes at its position, which reads would trust (found by folding every record up to
    there, so this costs a replay). Not damaged: a state of another format or projection version, which
    another version of policytracker wrote and reads ignore until it is written again."""
    stored = log.load_state(NAME) if isinstance(log, StateKeeper) else None
    if stored is None:
        return None
    try:
        with collector_paused():
            obj = _exactly(dict)(loads(stored.content))
            other = _version(obj)
            if other is None:
                base = _latest_of(obj, stored)
                latest = _brought_up_to_date(log, base)
    except Exception as exc:
        why = f"the field {reprlib.repr(exc.args[0])} is missing" if isinstance(exc, KeyError) else str(exc)
        why = why or type(exc).__name__
        return True, (
            f"the stored latest state is not as the projection writes it ({_bounded(why)}); reads ignore it "
            "and fold every record (write it again with policytracker snapshot LOG)"
        )
    if other is not None:
        return False, (
            f"the stored latest state is {other}, which this version of policytracker does not read (it "
            f"writes format {FORMAT}, projection version {COUNTRY_STATES.version}): reads fold every record "
            "until `policytracker snapshot LOG` writes it again"
        )
    if latest is None:  # so much appended since that reads fold every record anyway
        return None
    differing = _differing_from_log(log, base)
    if not differing:
        return None
    return True, (
        f"the stored latest state differs from what the projection writes at position {base.position} "
        f"(for {_bounded(', '.join(differing))}); reads use it, so write it again with policytracker "
        "snapshot LOG --rebuild"
    )


def _differing_from_log(log: EventLog, base: _Latest) -> list[str]:
    """The countries whose entry in *base* is not what the projection writes at its position (the
    checkpoint, the key of the last event it folds, the kept events), and ``the replacements`` when those
    differ. Folds every record up to the state's position, once."""
    if base.position == 0:
        return []  # a state taken before the first record holds nothing: checked when it is read
    taken = next(log.read(after=base.position - 1), None)
    if taken is None:
        return ["the record it was taken at"]
    # Records after the state's that share its stamp (the rest of its append, say) are known at that moment
    # too: their events are passed over. An amendment among them changes what stood then, so the history
    # up to the state's position is then resolved in memory (rare: only within one stamp).
    later: set[uuid.UUID] = set()
    amended = False
    for record in log.read(after=base.position):
        if record.recorded_at != taken.recorded_at:
            break
        amended = amended or bool(record.event.__amends__)
        later.add(record.event.event_id)
    history: Iterable[Event] = (
        effective_events(itertools.islice(log.read(), base.position))
        if amended
        else (
            event
            for event in stream_effective(log, known_at=taken.recorded_at)
            if not later or event.event_id not in later
        )
    )
    limits = {code: entry.checkpoint_last for code, entry in base.entries.items()}
    checkpoints: dict[str, CountryState | None] = {}
    pending: dict[str, list[Event]] = {}
    last_keys: dict[str, ValidKey] = {}
    tails: dict[str, list[Event]] = {}
    for event in history:
        key = valid_time_key(event)
        for code in event.countries:
            limit = limits.get(code)
            if limit is None or key > limit:
                tails.setdefault(code, []).append(event)
                continue
            last_keys[code] = key
            events = pending.setdefault(code, [])
            events.append(event)
            if len(events) >= 2 * _WINDOW:
                checkpoints[code] = _fold_entry(code, checkpoints.get(code), events)
                pending[code] = []
    differing = []
    for code in sorted(base.entries.keys() | tails.keys() | pending.keys()):
        entry = base.entries.get(code)
        rest = pending.get(code)
        checkpoint = _fold_entry(code, checkpoints.get(code), rest) if rest else checkpoints.get(code)
        if (
            entry is None
            or last_keys.get(code) != entry.checkpoint_last
            or _ordered(checkpoint) != _ordered(entry.checkpoint)
            or list(entry.tail) != tails.get(code, [])
        ):
            differing.append(code)
    if base.replacements != _standing_replacements(log, base.position):
        differing.append("the replacements")
    return differing


def _ordered(state: CountryState | None) -> tuple[Any, ...] | None:
    """*state*'s values as tables show them, for comparing: each mapping as its items in order, amounts as
    written (``5.0`` is not ``5`` there, though the two are equal)."""
    if state is None:
        return None
    return tuple(_written(value) for value in attrs.astuple(state, recurse=False))


def _written(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple((key, _written(item)) for key, item in value.items())
    return str(value) if isinstance(value, Decimal) else value


def _bounded(text: str, limit: int = 300) -> str:
    """*text*, cut to *limit* characters with an ellipsis, for a one-line message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decoded_entry(code: str, obj: dict[str, Any]) -> _Entry:
    if _exactly(dict)(obj).keys() != _ENTRY_KEYS:
        raise ValueError(f"{reprlib.repr(code)}: fields other than checkpoint, checkpoint_last and tail")
    if normalize_country(code) != code:
        raise ValueError(
            f"a state under {reprlib.repr(code)}, which is not a country code as the projection writes it"
        )
    checkpoint = None if obj["checkpoint"] is None else _STATE_CODEC.decode(obj["checkpoint"])
    checkpoint_last = None if obj["checkpoint_last"] is None else _key(obj["checkpoint_last"])
    tail = tuple(_stored_event(event) for event in _exactly(list)(obj["tail"]))
    _check_entry(code, checkpoint, checkpoint_last, tail)
    return _Entry(
        checkpoint=checkpoint,
        checkpoint_last=checkpoint_last,
        tail=tail,
        state=_fold_entry(code, checkpoint, list(tail)) if tail else checkpoint,
    )


def _check_entry(
    code: str, checkpoint: CountryState | None, checkpoint_last: ValidKey | None, tail: tuple[Event, ...]
) -> None:
    """Refuse an entry of a shape the projection never writes: a checkpoint without its key; kept events
    that are amendments, not about the country, or not strictly after the checkpoint and each other in
    valid-time order; a checkpoint whose own shape is wrong. (A key without a checkpoint is written when
    the events up to it fold to no state: events of a user's own types, say.)"""
    if checkpoint is not None and checkpoint_last is None:
        raise ValueError(f"{code}: a checkpoint without its key")
    # _Window keeps _WINDOW to 2 * _WINDOW - 1 events after a checkpoint's key, and fewer than 2 * _WINDOW
    # without one.
    if not (_WINDOW if checkpoint_last is not None else 0) <= len(tail) < 2 * _WINDOW:
        kept = f"{len(tail)} kept event" if len(tail) == 1 else f"{len(tail)} kept events"
        raise ValueError(f"{code}: {kept}, which the projection never keeps")
    last = checkpoint_last
    for event in tail:
        key = valid_time_key(event)
        if event.__amends__ or code not in event.countries or (last is not None and key <= last):
            raise ValueError(f"{code}: a kept event that is not the country's next standalone event")
        last = key
    if checkpoint is not None:
        assert checkpoint_last is not None
        _check_state(code, checkpoint, checkpoint_last)


def _check_state(code: str, state: CountryState, last: ValidKey) -> None:
    """Refuse a checkpoint state of a shape the projection never writes (each value's kind is checked as
    it is read): another country's, asset symbols or partner codes not as the events write them, a
    holdings report under another asset or of another country, reported assets that are not those of
    the reports or have no holdings, events about another country, listed out of valid-time order, twice
    or after the checkpoint's key *last*, fewer events counted than listed, no crypto holders, or a blank
    ban scope, official's role or name, or company."""
    if state.country != code:
        raise ValueError(f"the state of {state.country!r} under {code!r}")  # both country codes
    for field in (state.holdings, state.holdings_reports, state.reserve, state.legal_tender):
        if any(to_asset(asset) != asset for asset in field):
            raise ValueError(f"{code}: an asset symbol not as the events write it")
    if any(
        report.asset != asset or report.country != code for asset, report in state.holdings_reports.items()
    ):
        raise ValueError(f"{code}: a holdings report under another asset or of another country")
    if state.reported_assets != frozenset(state.holdings_reports):
        raise ValueError(f"{code}: reported assets that are not those of the holdings reports")
    if any(partner == code or normalize_country(partner) != partner for partner in state.partners):
        raise ValueError(f"{code}: a partner code not as the events write it")
    events = (
        *state.regulators,
        *state.imf_programs,
        *state.imf_refusals,
        *state.imf_concerns,
        *state.planned_visits,
    )
    if any(code not in event.countries for event in events):
        raise ValueError(f"{code}: an event about another country")
    for listed in (state.regulators, state.imf_programs, state.imf_refusals, state.imf_concerns):
        keys = [valid_time_key(event) for event in listed]
        if any(earlier >= later for earlier, later in itertools.pairwise(keys)) or (keys and keys[-1] > last):
            raise ValueError(f"{code}: listed events out of valid-time order, twice, or after the checkpoint")
    visits = [valid_time_key(event) for event in state.planned_visits]
    reports = [valid_time_key(report) for report in state.holdings_reports.values()]
    if visits != sorted(set(visits)) or any(key > last for key in [*visits, *reports]):
        raise ValueError(f"{code}: planned visits out of order or twice, or events after the checkpoint")
    if not state.reported_assets <= state.holdings.keys():
        raise ValueError(f"{code}: a reported asset without holdings")
    if state.event_count < len(events) + len(state.holdings_reports):
        raise ValueError(f"{code}: fewer events counted than the state lists")
    if state.crypto_holders is not None and state.crypto_holders < 1:
        raise ValueError(f"{code}: no crypto holders")
    names = (*state.bans, *state.officials, *state.officials.values(), *state.headquartered_companies)
    if not all(name.strip() for name in names):  # as the events' validators require
        raise ValueError(f"{code}: an empty ban scope, official or company")


def _key(parts: Any) -> ValidKey:
    earliest, latest, rank, event_id = _exactly(list)(parts)
    number = _exactly(int)
    return (number(earliest), number(latest), number(rank), _event_id(event_id))


def _event_id(text: Any) -> uuid.UUID:
    """An event id as the projection writes it: a UUID's lowercase, hyphenated text."""
    event_id = uuid.UUID(_exactly(str)(text))
    if str(event_id) != text:
        raise ValueError(f"expected an event id as written, got {reprlib.repr(text)}")
    return event_id


# -- CountryState, field by field ---------------------------------------------------------------------------


class _StateCodec:
    """``CountryState`` to and from its stored JSON form, one function per field chosen from the field's
    type: events in their stored form (through the codec), amounts as decimal strings, dates as EDTF
    strings, sets as sorted lists, conflicts column by column (``{"messages", "sizes", "event_ids"}``). A
    state of a million events holds tens of thousands of events and conflicts, so reading them is the cost
    of loading a snapshot."""

    def __init__(self) -> None:
        hints = typing.get_type_hints(CountryState)
        self.fields = [(field.name, _field_codec(hints[field.name])) for field in attrs.fields(CountryState)]
        self.names = {name for name, _ in self.fields}

    def encode(self, state: CountryState) -> dict[str, Any]:
        return {name: encode(getattr(state, name)) for name, (encode, _) in self.fields}

    def decode(self, obj: dict[str, Any]) -> CountryState:
        if _exactly(dict)(obj).keys() != self.names:
            raise ValueError("a state with fields other than the projection's")
        return CountryState(**{name: decode(obj[name]) for name, (_, decode) in self.fields})


_Pair = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _same(value: Any) -> Any:
    return value


def _exactly(kind: type) -> Callable[[Any], Any]:
    """A reader refusing a stored value not of exactly *kind* (``true`` for a count, say): a state that
    cannot be read as the projection wrote it is ignored, never folded on."""

    def read(value: Any) -> Any:
        if type(value) is not kind:
            raise ValueError(f"expected a value of type {kind.__name__}, got {reprlib.repr(value)}")
        return value

    return read


def _event_of(cls: type[Event]) -> Callable[[Any], Event]:
    """A reader of a stored event of class *cls* (an IMF refusal among the refusals, say), refusing any
    other."""

    def read(obj: Any) -> Event:
        event = _stored_event(obj)
        if not isinstance(event, cls):
            raise ValueError(f"expected an event of type {cls.__name__}, got a {type(event).__name__}")
        return event

    return read


def _stored_event(obj: Any) -> Event:
    """An event in its stored form, which always holds its id (decoding would derive a missing one). The
    codec reads it as it reads any event, so an id in another spelling of the same UUID is the same id."""
    if "event_id" not in _exactly(dict)(obj):
        raise ValueError("an event without its id")
    event: Event = decode_event(obj)
    return event


def _set_of(one: Callable[[Any], Any]) -> Callable[[Any], frozenset[Any]]:
    """A reader of a set written as a sorted list without repeats."""

    def read(items: Any) -> frozenset[Any]:
        values = [one(item) for item in _exactly(list)(items)]
        if any(earlier >= later for earlier, later in itertools.pairwise(values)):
            raise ValueError("a set not written as a sorted list without repeats")
        return frozenset(values)

    return read


def _pairs_of(value: Callable[[Any], Any]) -> Callable[[Any], FrozenMap[str, Any]]:
    """A reader of a mapping written as a list of ``[key, value]`` pairs, in order, each key once."""

    def read(items: Any) -> FrozenMap[str, Any]:
        pairs = {}
        for pair in _exactly(list)(items):
            key, item = _exactly(list)(pair)
            pairs[_exactly(str)(key)] = value(item)
        if len(pairs) != len(items):
            raise ValueError("a mapping with a key written twice")
        return FrozenMap(pairs)

    return read


def _amount(text: Any) -> Decimal:
    """An amount as the projection writes it (``str`` of a ``Decimal``, so ``"0E-8"`` too, and nothing
    else that ``Decimal`` reads, such as ``" 7 "`` or ``"7_0"``): finite, zero or more, and with no more
    digits written out than a sum of amounts can have (``EXACT``'s precision)."""
    number = Decimal(text) if type(text) is str else None
    if number is None or not number.is_finite() or number.is_signed() or str(number) != text:
        raise ValueError(f"expected an amount of zero or more as a decimal string, got {reprlib.repr(text)}")
    # Integer digits plus decimal places, counted without writing the number out.
    written = max(number.adjusted() + 1, 1) + max(-int(number.as_tuple().exponent), 0)
    if written > EXACT.prec:
        raise ValueError(f"an amount with more digits than any sum of amounts has: {reprlib.repr(text)}")
    return number


def _field_codec(hint: Any) -> _Pair:
    """The (encode, decode) pair of a ``CountryState`` field of type *hint*."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in (str, int, bool):
        return _same, _exactly(hint)
    if hint == int | None:
        return _same, _optional(_exactly(int))
    if hint is Decimal:
        return str, _amount
    if hint == FuzzyDate | None:
        return (lambda d: None if d is None else str(d)), _optional(FuzzyDate.parse)
    if origin is frozenset:
        return sorted, _set_of(_exactly(args[0]))
    if hint == tuple[Conflict, ...]:
        return _encode_conflicts, _decode_conflicts
    if origin is tuple and args[1:] == (Ellipsis,):
        one_encode, one_decode = _value_codec(args[0])
        return (lambda items: [one_encode(item) for item in items]), (
            lambda items: tuple([one_decode(item) for item in _exactly(list)(items)])
        )
    if origin in (Mapping, collections.abc.Mapping, dict):
        # As [key, value] pairs in the mapping's order, which tables show: a JSON object's keys would be
        # sorted by the canonical form.
        value_encode, value_decode = _value_codec(args[1])
        return (lambda items: [[key, value_encode(value)] for key, value in items.items()]), _pairs_of(
            value_decode
        )
    raise TypeError(f"CountryState: no stored form for a field of type {hint!r}")


def _value_codec(hint: Any) -> _Pair:
    """The (encode, decode) pair of one item of a tuple or mapping field."""
    if isinstance(hint, type) and issubclass(hint, Event):
        return encode_event, _event_of(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return (lambda member: member.value), hint
    if hint is Decimal:
        return str, _amount
    if hint in (str, int, bool):
        return _same, _exactly(hint)
    raise TypeError(f"CountryState: no stored form for an item of type {hint!r}")


def _encode_conflicts(conflicts: tuple[Conflict, ...]) -> dict[str, Any]:
    """Conflicts column by column (a state of a large log holds very many): their messages, how many ids
    each names, and all their ids in order as one string of 32 hex digits each."""
    return {
        "messages": [conflict.message for conflict in conflicts],
        "sizes": [len(conflict.event_ids) for conflict in conflicts],
        "event_ids": "".join(
            f"{event_id.int:032x}" for conflict in conflicts for event_id in conflict.event_ids
        ),
    }


def _decode_conflicts(obj: dict[str, Any]) -> tuple[Conflict, ...]:
    if _exactly(dict)(obj).keys() != _CONFLICT_COLUMNS:
        raise ValueError("conflicts: expected the columns messages, sizes and event_ids, and no others")
    messages, sizes, digits = obj["messages"], obj["sizes"], obj["event_ids"]
    if not (
        messages.__class__ is list
        and sizes.__class__ is list
        and len(messages) == len(sizes)
        and all(message.__class__ is str for message in messages)
        and all(size.__class__ is int and 1 <= size <= 2 for size in sizes)  # a sale; two reports
        and digits.__class__ is str
        and len(digits) == 32 * sum(sizes)
        and _HEX.fullmatch(digits)
    ):
        raise ValueError("conflicts: expected messages, sizes and 32 lowercase hex digits per id, in step")
    # The digits become bytes in one call; each id's 16 bytes then key the ids already made.
    raw, known, ids = bytes.fromhex(digits), _IDS, []
    for start in range(0, len(raw), 16):
        key = raw[start : start + 16]
        found = known.get(key)
        if found is None:
            found = known[key] = uuid_from_int(int.from_bytes(key))
        ids.append(found)
    # Conflicts are made slot by slot, as the codec makes events: Conflict has no converter or validator.
    conflicts, following = [], iter(ids).__next__
    for message, size in zip(messages, sizes, strict=True):
        conflict = _new(Conflict)
        _set_message(conflict, message)
        if size == 1:
            _set_event_ids(conflict, (following(),))
        else:
            earlier, later = following(), following()
            if earlier == later:
                raise ValueError("conflicts: a conflict between an event and itself")
            _set_event_ids(conflict, (earlier, later))
        conflicts.append(conflict)
    return tuple(conflicts)


_CONFLICT_COLUMNS = {"messages", "sizes", "event_ids"}
_new = object.__new__
_set_message = vars(Conflict)["message"].__set__
_set_event_ids = vars(Conflict)["event_ids"].__set__
if [(field.name, field.converter, field.validator) for field in attrs.fields(Conflict)] != [
    ("message", None, None),
    ("event_ids", None, None),
]:
    raise TypeError("Conflict has changed: _decode_conflicts must make it through its constructor")


def _optional(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else function(value)


_HEX = re.compile("[0-9a-f]*")
# The ids read while loading one state, by their 16 bytes: each holdings report is in up to two
# conflicts, and one UUID object serves both.
_IDS: dict[bytes, uuid.UUID] = {}


_STATE_CODEC = _StateCodec()
