"""The strategies registered with Hypothesis for policytracker's types (its ``hypothesis`` entry point).

``st.from_type`` then draws valid values of every built-in event class, of ``FuzzyDate`` and ``Source``,
and of ``Event`` and ``CountryEvent``: one of every registered event class, looked up when drawn, so
classes registered after Hypothesis was imported (your own) are included. Nothing is registered for
``str``, ``Decimal`` or any other type that is not policytracker's own.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from policytracker._dates import FuzzyDate
from policytracker._events import (
    CountryCode,
    CountryEvent,
    Event,
    EventCorrected,
    EventRetracted,
    NonNegativeAmount,
    PositiveAmount,
    Source,
    registered_event_types,
)
from policytracker.exceptions import ValidationError
from policytracker.testing._strategies import (
    BUILT_IN_TYPES,
    FIELD_STRATEGIES,
    amounts,
    country_codes,
    events,
    fuzzy_dates,
    sources,
)

__all__: list[str] = []

_AMENDMENTS = (EventRetracted, EventCorrected)


def _hypothesis_setup_hook() -> None:
    """Register the strategies (Hypothesis runs this when it is imported)."""
    st.register_type_strategy(FuzzyDate, fuzzy_dates())
    st.register_type_strategy(Source, sources())
    st.register_type_strategy(CountryCode, country_codes())
    st.register_type_strategy(PositiveAmount, amounts())
    st.register_type_strategy(NonNegativeAmount, amounts(allow_zero=True))
    for cls in BUILT_IN_TYPES:
        st.register_type_strategy(cls, _built_in)
    st.register_type_strategy(EventRetracted, _retractions())
    st.register_type_strategy(EventCorrected, _corrections())
    st.register_type_strategy(Event, _registered_events(Event))
    st.register_type_strategy(CountryEvent, _registered_events(CountryEvent))


def _built_in(cls: type[Event]) -> st.SearchStrategy[Event]:
    return events(types=[cls])


def _retractions() -> st.SearchStrategy[EventRetracted]:
    return st.builds(EventRetracted, occurred=fuzzy_dates(), target=st.uuids(), reason=st.just(""))


def _corrections() -> st.SearchStrategy[EventCorrected]:
    return st.builds(
        EventCorrected,
        occurred=fuzzy_dates(),
        target=st.uuids(),
        replacement=_registered_events(Event, amendments=False),
    )


@st.composite
def _registered_events(draw: st.DrawFn, base: type[Event], *, amendments: bool = True) -> Event:
    """Events of every class registered with ``policytracker.event_type`` that subclasses *base*, the
    built-in ones first; the classes are looked up when an event is drawn.

    Each class is drawn from the strategy registered for it with Hypothesis, if any; a built-in class
    otherwise from ``events(types=[cls])``, and your own from ``st.builds(cls)`` with valid dates and
    country codes (its other required fields inferred from their types).
    """
    classes = _classes(base, amendments)
    cls = classes[draw(st.integers(0, len(classes) - 1))]
    registered = _has_registered_strategy(cls)
    try:
        return draw(st.from_type(cls) if registered else _unregistered(cls))
    except (InvalidArgument, ValidationError) as exc:
        if not registered:
            exc.add_note(
                f"policytracker: to draw {cls.__qualname__} events, register a strategy for them: "
                f"st.register_type_strategy({cls.__qualname__}, st.builds({cls.__qualname__}, ...))"
            )
        raise


def _classes(base: type[Event], amendments: bool) -> tuple[type[Event], ...]:
    def wanted(cls: type[Event]) -> bool:
        return issubclass(cls, base) and (amendments or not issubclass(cls, _AMENDMENTS))

    own = sorted(set(registered_event_types().values()) - set(BUILT_IN_TYPES), key=lambda c: c.__event_tag__)
    return tuple(cls for cls in (*BUILT_IN_TYPES, *own) if wanted(cls))


def _unregistered(cls: type[Event]) -> st.SearchStrategy[Event]:
    return events(types=[cls]) if cls in BUILT_IN_TYPES else _inferred(cls)


def _has_registered_strategy(cls: type[Any]) -> bool:
    # Hypothesis has no public way to ask whether a type has a strategy of its own; from_type(cls) of an
    # unregistered attrs class would build it with arbitrary strings for its country codes.
    from hypothesis.strategies._internal.types import _global_type_lookup

    return cls in _global_type_lookup


_INFERRED: dict[type[Event], st.SearchStrategy[Event]] = {}


def _inferred(cls: type[Event]) -> st.SearchStrategy[Event]:
    strategy = _INFERRED.get(cls)
    if strategy is None:
        strategy = _INFERRED[cls] = _constructed(cls, _field_values(cls))
    return strategy


def _field_values(cls: type[Event]) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for the required fields of *cls*: valid dates and country codes, the common
    types from the kit's own strategies, the rest from their type hints."""
    known = _required_fields(cls)
    known["occurred"] = fuzzy_dates()
    if issubclass(cls, CountryEvent):
        known["country"] = country_codes()
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # annotations that cannot be evaluated here: builds() says which
        return st.builds(dict, **known)
    for field in attrs.fields(cls):
        if field.init and field.default is attrs.NOTHING and field.alias not in known:
            known[field.alias] = st.from_type(hints.get(field.name, object))
    return st.fixed_dictionaries(known)


@st.composite
def _constructed(draw: st.DrawFn, cls: type[Event], values: st.SearchStrategy[dict[str, Any]]) -> Event:
    """An event of *cls* made from *values*; values its own validators refuse are rejected, not errors."""
    try:
        return cls(**draw(values))
    except (ValidationError, ValueError, TypeError):
        reject()


def _required_fields(cls: type[Event]) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies of valid values for the required fields of *cls* whose types are common ones (text,
    numbers, dates); builds() infers the others from their types."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # annotations that cannot be evaluated here: leave them all to builds()
        return {}
    return {
        field.alias: FIELD_STRATEGIES[hints[field.name]]
        for field in attrs.fields(cls)
        if field.init and field.default is attrs.NOTHING and hints.get(field.name) in FIELD_STRATEGIES
    }
