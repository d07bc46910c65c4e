"""``check_projection_laws``: property checks any projection of policy events must pass."""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from policytracker._events import Event, EventCorrected, EventRetracted
from policytracker._log import open_log
from policytracker._log._core import EventLog
from policytracker._projections import Projection, Projector, effective_events, fold, project
from policytracker._serialization import event_from_json, event_to_json
from policytracker.exceptions import ProjectionLawError
from policytracker.testing._strategies import histories as default_histories

__all__ = ["LAWS", "check_projection_laws"]

_AMENDMENTS = (EventRetracted, EventCorrected)
_STAMP = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)


def _log_of(events: Iterable[Event]) -> EventLog:
    log = open_log(":memory:", clock=lambda: _STAMP)
    log.append(events)
    return log


def _standalone(history: Sequence[Event]) -> tuple[list[Event], list[Event]]:
    return (
        [event for event in history if not isinstance(event, _AMENDMENTS)],
        [event for event in history if isinstance(event, _AMENDMENTS)],
    )


def _same(law: str, expected: Any, actual: Any) -> None:
    if not expected == actual:
        raise AssertionError(f"{law}: expected {expected!r}, got {actual!r}")


def deterministic(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """Two folds of the same history are equal, and folding changes neither the initial state nor an
    earlier result (no hidden counters, no randomness, no mutation of shared state)."""
    log = _log_of(history)
    initial = _copy(projection.initial)
    first = project(log, projection)
    first_copy = _copy(first)
    second = project(log, projection)
    _same("deterministic", first, second)
    if first_copy is not _UNCOPYABLE:
        _same("deterministic (an earlier result was mutated)", first_copy, first)
        _same("deterministic", first_copy, second)
    if initial is not _UNCOPYABLE:
        _same("deterministic (the initial state was mutated)", initial, projection.initial)


_UNCOPYABLE = object()


def _copy(state: Any) -> Any:
    """A deep copy to detect mutation later, or a marker for states that cannot be copied."""
    try:
        return copy.deepcopy(state)
    except Exception:
        return _UNCOPYABLE


def append_order_independent(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """Appending the same facts in another order gives the same result."""
    standalone, amendments = _standalone(history)
    shuffled = data.draw(st.permutations(standalone), label="append order")
    _same(
        "append order",
        project(_log_of(standalone + amendments), projection),
        project(_log_of([*shuffled, *amendments]), projection),
    )


def two_step_fold(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """Folding a history in two steps equals folding it whole."""
    events = effective_events(history)
    cut = data.draw(st.integers(0, len(events)), label="cut")
    whole = fold(projection, events)
    _same("two-step fold", whole, fold(projection, events[cut:], state=fold(projection, events[:cut])))


def serialization_round_trip(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """Serialising and deserialising every event of the log leaves the result unchanged."""
    log = _log_of(history)
    copy = _log_of(event_from_json(event_to_json(record.event)) for record in log.read())
    _same("serialisation round trip", project(log, projection), project(copy, projection))


def retraction_equals_absence(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """Retracting an event equals never having appended it."""
    standalone, _ = _standalone(history)
    if not standalone:
        return
    victim = data.draw(st.sampled_from(standalone), label="retracted event")
    kept = [event for event in standalone if event.event_id != victim.event_id]
    retraction = EventRetracted(occurred=victim.occurred, target=victim.event_id)
    _same(
        "retraction equals absence",
        project(_log_of(kept), projection),
        project(_log_of([*standalone, retraction]), projection),
    )


def projector_equals_replay(projection: Projection[Any], history: list[Event], data: st.DataObject) -> None:
    """A live ``Projector`` that catches up batch by batch equals a full replay."""
    log = open_log(":memory:", clock=lambda: _STAMP)
    projector: Projector[Any] = Projector(log, projection)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(history)), max_size=4), label="batch boundaries"))
    for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
        log.append(history[start:end])
        projector.catch_up()
        _same("projector equals replay", project(log, projection), projector.state)


#: The laws by name, in the order they are checked.
LAWS: dict[str, Callable[[Projection[Any], list[Event], st.DataObject], None]] = {
    "deterministic": deterministic,
    "append order": append_order_independent,
    "two-step fold": two_step_fold,
    "serialisation round trip": serialization_round_trip,
    "retraction equals absence": retraction_equals_absence,
    "projector equals replay": projector_equals_replay,
}


def check_projection_laws(
    projection: Projection[Any],
    *,
    max_examples: int = 100,
    histories: st.SearchStrategy[list[Event]] | None = None,
    laws: Iterable[str] | None = None,
    **hypothesis_settings: Any,
) -> None:
    """Check that *projection* obeys every law of :data:`LAWS`, with Hypothesis.

    Each law runs on up to *max_examples* histories from *histories* (default:
    ``policytracker.testing.histories()``); pass your own strategy to cover your own event types.
    *laws* limits the check to some laws by name; other keyword arguments go to ``hypothesis.settings``.

    The projection's states must compare by value (``==``).

    Raises:
        ProjectionLawError: a law fails. Its message names the law and shows the shrunk counter-example
            (also in ``.example``).
        ValueError: an unknown law name or a bad *max_examples*.
    """
    if type(max_examples) is not int or max_examples < 1:
        raise ValueError(f"max_examples must be an int >= 1, got {max_examples!r}")
    chosen = list(LAWS) if laws is None else list(laws)
    unknown = [name for name in chosen if name not in LAWS]
    if unknown:
        raise ValueError(f"unknown laws {unknown}; the laws are {list(LAWS)}")
    strategy = default_histories(max_size=15) if histories is None else histories
    config = {
        "max_examples": max_examples,
        "deadline": None,
        # Hypothesis's explain phase took ~34 of 35 s on a failing law (measured) and adds little to the
        # shrunk history shown here; pass phases=... to have it back.
        "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        **hypothesis_settings,
    }
    for name in chosen:
        _check(name, LAWS[name], projection, strategy, config)


def _check(
    name: str,
    law: Callable[[Projection[Any], list[Event], st.DataObject], None],
    projection: Projection[Any],
    strategy: st.SearchStrategy[list[Event]],
    config: dict[str, Any],
) -> None:
    last: list[list[Event]] = []

    @settings(**config)
    @given(history=strategy, data=st.data())
    def run(history: list[Event], data: st.DataObject) -> None:
        last[:] = [history]
        law(projection, history, data)

    try:
        run()
    except Exception as exc:
        example = last[0] if last else []
        lines = "\n".join(f"    {event!r}" for event in example) or "    (empty history)"
        notes = "\n".join(getattr(exc, "__notes__", ()))
        raise ProjectionLawError(
            f"projection {projection.name!r} breaks the law {name!r}: {exc}\n"
            f"  shrunk counter-example ({len(example)} events, in append order):\n{lines}\n{notes}".rstrip(),
            law=name,
            example=tuple(example),
        ) from exc
