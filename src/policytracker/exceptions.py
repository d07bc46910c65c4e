"""Every exception policytracker raises on purpose.

All of them derive from :class:`PolicyTrackerError`, so ``except PolicyTrackerError`` catches any of them,
and each also subclasses the builtin it resembles, so code written against plain Python keeps working
(a :class:`ValidationError` is a :class:`ValueError`).
"""

from __future__ import annotations

__all__ = [
    "ConcurrencyError",
    "DuplicateEventError",
    "IntegrityError",
    "PolicyTrackerError",
    "ProjectionLawError",
    "SerializationError",
    "ValidationError",
]


class PolicyTrackerError(Exception):
    """Base class of every error policytracker raises on purpose."""


class ValidationError(PolicyTrackerError, ValueError):
    """A value does not satisfy the contract: unknown country, negative amount, malformed date, ...

    ``field`` names the offending field (or argument) when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SerializationError(PolicyTrackerError, ValueError):
    """A stored or imported record cannot be decoded: malformed JSON, unknown type tag, bad field,
    future schema version.

    ``tag`` is the event type tag, ``line`` the 1-based line of a file and ``position`` the log position,
    each when known; the message names all of them. An error about a whole file lists every bad row in
    ``errors``.
    """

    def __init__(
        self,
        message: str,
        *,
        tag: str | None = None,
        line: int | None = None,
        position: int | None = None,
        errors: tuple[SerializationError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.tag = tag
        self.line = line
        self.position = position
        self.errors = errors


class ConcurrencyError(PolicyTrackerError, RuntimeError):
    """Another writer appended first: the ``expected_position`` given to ``append`` is stale; or another
    process held the log's lock longer than the store waits for it (``expected`` and ``actual`` are then
    None).

    Nothing was written. Re-read the log, decide again, and retry with the new head.
    """

    def __init__(self, message: str, *, expected: int | None = None, actual: int | None = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class DuplicateEventError(PolicyTrackerError, ValueError):
    """An event was appended whose ``event_id`` is already in the log with different content.

    Nothing was written.
    """


class IntegrityError(PolicyTrackerError, RuntimeError):
    """A stored log is damaged: its digest chain does not verify, a record is torn, positions have gaps."""


class ProjectionLawError(PolicyTrackerError, AssertionError):
    """A projection broke one of the laws checked by ``policytracker.testing.check_projection_laws``.

    ``law`` names the law; ``example`` is the shrunk counter-example (the history, in append order).
    """

    def __init__(self, message: str, *, law: str, example: tuple[object, ...] = ()) -> None:
        super().__init__(message)
        self.law = law
        self.example = example
