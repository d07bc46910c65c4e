"""``log_state_machine``: the log contract as a Hypothesis state machine, for people who write a store."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from policytracker._events import Event, EventCorrected, EventRetracted
from policytracker._log import EventLog, Recorded
from policytracker._serialization import event_to_json
from policytracker.exceptions import ConcurrencyError, DuplicateEventError, ValidationError
from policytracker.testing._strategies import BUILT_IN_TYPES, events, fuzzy_dates

__all__ = ["log_state_machine"]

_COUNTRIES = ("PK", "SV", "RU")
_FRESH = events(countries=_COUNTRIES)
_DATES = fuzzy_dates()
_KINDS = ("fresh", "fresh", "given id", "again", "conflict", "retraction", "correction", "stray")
_AMENDMENTS = (EventRetracted, EventCorrected)
_CLASSES: tuple[type[Event], ...] = (*BUILT_IN_TYPES, EventRetracted, EventCorrected)
_TAGS = tuple(cls.__event_tag__ for cls in _CLASSES)
_REFUSALS = (ConcurrencyError, DuplicateEventError, ValidationError)


def log_state_machine(
    new_log: Callable[[], EventLog], reopen: Callable[[EventLog], EventLog] | None = None
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine that checks a store against the log contract; run its ``.TestCase``.

    ``new_log()`` must return a fresh, empty log; ``reopen(log)``, when given, a new handle on the same
    store (closing the old one is up to it), which enables steps that reopen the store and check that
    every record survived. Each step appends a batch (fresh events, events with given ids, events
    already stored, other content under a stored id, retractions and corrections, targets that are not
    in the log, with or without a right or stale ``expected_position``), reads with ``after``,
    ``country`` and ``types``, verifies, or reopens; the machine checks the store against a model:
    positions, the append result, what is refused and that a refusal writes nothing, read-back events,
    ``recorded_at`` stamps, the documented digest chain, ``head`` and ``len``. A failure shrinks to the
    shortest sequence of steps that shows it.

    Set ``Machine.TestCase.settings = hypothesis.settings(...)`` to change ``max_examples`` or
    ``stateful_step_count``.

    Raises:
        TypeError: *new_log* or *reopen* is not callable.
    """
    if not callable(new_log):
        raise TypeError(f"new_log must be a function returning a fresh, empty log, got {new_log!r}")
    if reopen is not None and not callable(reopen):
        raise TypeError(f"reopen must be None or a function returning a new handle, got {reopen!r}")
    namespace = {"new_log": staticmethod(new_log), "reopen": None if reopen is None else staticmethod(reopen)}
    return type("LogStateMachine", (_LogStateMachine,), namespace)


class _LogStateMachine(RuleBasedStateMachine):
    new_log: Callable[[], EventLog]
    reopen: Callable[[EventLog], EventLog] | None

    def __init__(self) -> None:
        super().__init__()
        self.log = self.new_log()
        self.records: list[Recorded] = []
        self.countries: dict[uuid.UUID, tuple[str, ...]] = {}
        assert 0 == self.log.head, f"new_log() returned a log that is not empty: head {self.log.head}"

    @property
    def stored(self) -> dict[uuid.UUID, Event]:
        return {record.event.event_id: record.event for record in self.records}

    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        batch: list[Event] = []
        for _ in range(data.draw(st.integers(0, 4), label="batch size")):
            batch.append(self._item(data, batch))
        head = len(self.records)
        expected_position = data.draw(
            st.none() | st.sampled_from(sorted({head, max(head - 1, 0), head + 1})), label="expected_position"
        )
        written, unchanged, refusals = self._expect(batch, expected_position)
        try:
            result = self.log.append(batch, expected_position=expected_position)
        except _REFUSALS as exc:
            refused: BaseException | None = exc
        else:
            refused = None
        if refused is not None:
            assert refusals, f"append refused a valid batch: {refused!r}"
            assert isinstance(refused, refusals), f"append raised {refused!r}, expected one of {refusals}"
            assert head == self.log.head, f"a refused append moved the head from {head} to {self.log.head}"
            return
        assert not refusals, f"append accepted a batch it must refuse with one of {refusals}: {result!r}"
        self._check_written(result.written, written, head)
        assert set(unchanged) == set(result.unchanged), "AppendResult.unchanged"
        assert len(self.records) == result.head, "AppendResult.head"

    def _item(self, data: st.DataObject, batch: Sequence[Event]) -> Event:
        known = [*self.stored.values(), *batch]
        kind = data.draw(st.sampled_from(_KINDS if known else _KINDS[:3]), label="kind")
        if kind in ("fresh", "given id", "conflict"):
            event = data.draw(_FRESH, label="event")
            if kind == "fresh":
                return event
            if kind == "given id":
                return attrs.evolve(event, event_id=data.draw(st.uuids(), label="given id"))
            return attrs.evolve(event, event_id=data.draw(st.sampled_from(known), label="taken id").event_id)
        if kind == "stray":
            return EventRetracted(occurred=data.draw(_DATES), target=data.draw(st.uuids(), label="stray"))
        target = data.draw(st.sampled_from(known), label="target")
        if kind == "again":
            return target
        if kind == "retraction":
            return EventRetracted(occurred=data.draw(_DATES), target=target.event_id)
        return EventCorrected(
            occurred=data.draw(_DATES), target=target.event_id, replacement=data.draw(_FRESH)
        )

    def _expect(
        self, batch: Sequence[Event], expected_position: int | None
    ) -> tuple[list[Event], list[uuid.UUID], tuple[type[Exception], ...]]:
        """What the contract says *batch* does: the events written, the ids unchanged, the refusals."""
        refusals: set[type[Exception]] = set()
        if expected_position is not None and expected_position != len(self.records):
            refusals.add(ConcurrencyError)
        seen = self.stored
        written: list[Event] = []
        unchanged: list[uuid.UUID] = []
        for event in batch:
            earlier = seen.get(event.event_id)
            if earlier is not None:
                if earlier == event:
                    unchanged.append(event.event_id)
                else:
                    refusals.add(DuplicateEventError)
                continue
            if isinstance(event, _AMENDMENTS):
                target = seen.get(event.target)
                if target is None or (
                    isinstance(event, EventCorrected) and isinstance(target, EventRetracted)
                ):
                    refusals.add(ValidationError)
            seen[event.event_id] = event
            written.append(event)
        return written, unchanged, tuple(refusals)

    def _check_written(self, records: Sequence[Recorded], events: Sequence[Event], head: int) -> None:
        assert list(range(head + 1, head + 1 + len(events))) == [r.position for r in records], "positions"
        assert list(events) == [record.event for record in records], "the written events"
        assert len({record.recorded_at for record in records}) <= 1, "one append, one recorded_at"
        previous = self.records[-1] if self.records else None
        for record in records:
            if previous is not None:
                assert previous.recorded_at <= record.recorded_at, "recorded_at went backwards"
            expected = _chain(previous.digest if previous else "", record)
            assert expected == record.digest, f"the digest at position {record.position}"
            self._remember(record)
            previous = record

    def _remember(self, record: Recorded) -> None:
        event = record.event
        own = event.countries
        if isinstance(event, _AMENDMENTS):
            own = tuple(dict.fromkeys((*own, *self.countries.get(event.target, ()))))
        self.countries[event.event_id] = own
        self.records.append(record)

    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        after = data.draw(st.integers(0, len(self.records) + 1), label="after")
        country = data.draw(st.none() | st.sampled_from((*_COUNTRIES, "US")), label="country")
        names: st.SearchStrategy[type[Event] | str] = st.sampled_from(_CLASSES) | st.sampled_from(_TAGS)
        types = data.draw(st.none() | st.lists(names, min_size=1, max_size=3), label="types")
        tags = None if types is None else {t if isinstance(t, str) else t.__event_tag__ for t in types}
        expected = [
            record
            for record in self.records[after:]
            if (country is None or country in self.countries[record.event.event_id])
            and (tags is None or record.event.tag in tags)
        ]
        assert expected == list(self.log.read(after=after, country=country, types=types))

    @rule()
    def read_everything(self) -> None:
        assert self.records == list(self.log.read())

    @rule()
    def verify(self) -> None:
        report = self.log.verify()
        assert report.ok, f"verify() failed on an intact log: {report!r}"
        assert len(self.records) == report.checked, "VerifyReport.checked"

    @precondition(lambda self: self.reopen is not None)
    @rule()
    def reopen_the_store(self) -> None:
        assert self.reopen is not None
        self.log = self.reopen(self.log)
        assert self.records == list(self.log.read()), "the records after reopening"

    @invariant()
    def head_counts_the_records(self) -> None:
        assert len(self.records) == self.log.head == len(self.log), "head and len"

    def teardown(self) -> None:
        self.log.close()


def _chain(previous: str, record: Recorded) -> str:
    """The digest of *record* after *previous*, computed as the log contract defines it."""
    canonical = json.dumps(
        {
            "event": json.loads(event_to_json(record.event)),
            "position": record.position,
            "recorded_at": record.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()
