"""``FuzzyDate``: a calendar date known to day, month or year precision (EDTF level 0)."""

from __future__ import annotations

import calendar
import datetime as _dt
import enum
import functools
import re
from typing import Any

import attrs
import pendulum

from policytracker.exceptions import ValidationError

__all__ = ["FuzzyDate", "Precision", "as_of_date", "day_ordinals"]

_EDTF = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class Precision(enum.Enum):
    """How much of a :class:`FuzzyDate` is known."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


def _check_part(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int:
        raise ValidationError(f"FuzzyDate {name}: expected an int, got {value!r}", field=name)
    if not low <= value <= high:
        raise ValidationError(f"FuzzyDate {name}: {value} is out of range {low}..{high}", field=name)


@attrs.frozen(repr=False, order=False)
class FuzzyDate:
    """A calendar date known to **day**, **month** or **year** precision.

    Written as the ISO 8601 / EDTF level-0 strings ``"2025-07-16"``, ``"2025-07"`` or ``"2025"``;
    :meth:`parse` reads them strictly and ``str()`` writes them back unchanged. The date covers the days
    ``earliest`` through ``latest`` (both :class:`pendulum.Date`, inclusive).

    Ordering is total and derived from content alone: by ``(earliest, latest)``, so ``"2025-01-01"``
    (Jan 1 to Jan 1) sorts before ``"2025-01"`` (Jan 1 to Jan 31), which sorts before ``"2025"``
    (Jan 1 to Dec 31). Equal dates are exactly the ones with equal text.
    A ``FuzzyDate`` never turns into a datetime.

    Raises:
        ValidationError: a part is missing, out of range or not a real calendar day.
    """

    year: int
    month: int | None = None
    day: int | None = None
    _earliest: pendulum.Date = attrs.field(init=False, eq=False, hash=False, repr=False)
    _latest: pendulum.Date = attrs.field(init=False, eq=False, hash=False, repr=False)
    _text: str = attrs.field(init=False, eq=False, hash=False, repr=False)
    _order: tuple[int, int] = attrs.field(init=False, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _check_part("year", self.year, 1, 9999)
        if self.month is None:
            if self.day is not None:
                raise ValidationError("FuzzyDate: a day needs a month", field="day")
            first, last = pendulum.Date(self.year, 1, 1), pendulum.Date(self.year, 12, 31)
        else:
            _check_part("month", self.month, 1, 12)
            days = calendar.monthrange(self.year, self.month)[1]
            if self.day is None:
                first = pendulum.Date(self.year, self.month, 1)
                last = pendulum.Date(self.year, self.month, days)
            else:
                _check_part("day", self.day, 1, days)
                first = last = pendulum.Date(self.year, self.month, self.day)
        object.__setattr__(self, "_earliest", first)
        object.__setattr__(self, "_latest", last)
        if self.month is None:
            text = f"{self.year:04d}"
        elif self.day is None:
            text = f"{self.year:04d}-{self.month:02d}"
        else:
            text = f"{self.year:04d}-{self.month:02d}-{self.day:02d}"
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_order", (first.toordinal(), last.toordinal()))

    @classmethod
    def parse(cls, text: str) -> FuzzyDate:
        """Read an EDTF level-0 date: ``"YYYY"``, ``"YYYY-MM"`` or ``"YYYY-MM-DD"``, nothing else.

        Results are memoised: parsing the same string twice returns the same (immutable) object.

        Raises:
            ValidationError: *text* is not one of the three forms or is not a real calendar date;
                the message quotes *text*.
        """
        if not isinstance(text, str):
            raise ValidationError(f"FuzzyDate.parse expects a string, got {text!r}")
        return _parse(text)

    @classmethod
    def from_date(cls, value: _dt.date) -> FuzzyDate:
        """A day-precision ``FuzzyDate`` for a ``datetime.date`` or ``pendulum.Date``.

        Raises:
            ValidationError: *value* is a datetime (a moment, not a day) or not a date at all.
        """
        if isinstance(value, _dt.datetime) or not isinstance(value, _dt.date):
            raise ValidationError(
                f"expected a date, got {value!r}; pass value.date() to drop the time of day"
            )
        return cls(year=value.year, month=value.month, day=value.day)

    @classmethod
    def coerce(cls, value: FuzzyDate | str | _dt.date, *, field: str = "date") -> FuzzyDate:
        """Accept a ``FuzzyDate``, an EDTF string or a date; refuse anything else (datetimes too)."""
        if type(value) is FuzzyDate:
            return value
        try:
            if isinstance(value, str):
                return _parse(value)
            return cls.from_date(value)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ValidationError(f"{field}: {exc}", field=field) from None

    @property
    def earliest(self) -> pendulum.Date:
        """The first day this date may mean."""
        return self._earliest

    @property
    def latest(self) -> pendulum.Date:
        """The last day this date may mean."""
        return self._latest

    @property
    def precision(self) -> Precision:
        """Whether the year, the month or the exact day is known."""
        if self.day is not None:
            return Precision.DAY
        if self.month is not None:
            return Precision.MONTH
        return Precision.YEAR

    def contains(self, value: _dt.date) -> bool:
        """Whether the day *value* lies within ``earliest``..``latest``."""
        return self._earliest <= value <= self._latest

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"FuzzyDate({str(self)!r})"

    def __lt__(self, other: Any) -> bool:
        if type(other) is not FuzzyDate:
            return NotImplemented
        return self._order < other._order

    def __le__(self, other: Any) -> bool:
        if type(other) is not FuzzyDate:
            return NotImplemented
        return self._order <= other._order

    def __gt__(self, other: Any) -> bool:
        if type(other) is not FuzzyDate:
            return NotImplemented
        return self._order > other._order

    def __ge__(self, other: Any) -> bool:
        if type(other) is not FuzzyDate:
            return NotImplemented
        return self._order >= other._order


@functools.lru_cache(maxsize=16384)
def _parse(text: str) -> FuzzyDate:
    match = _EDTF.fullmatch(text)
    if match is None:
        raise ValidationError(
            f"{text!r} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD (e.g. '2025-07')"
        )
    year, month, day = (int(part) if part is not None else None for part in match.groups())
    try:
        return FuzzyDate(year=year, month=month, day=day)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ValidationError(f"{text!r} is not a real calendar date: {exc}") from None


def day_ordinals(date: FuzzyDate) -> tuple[int, int]:
    """The proleptic Gregorian ordinals of *date*'s first and last day: its place in the valid-time order."""
    return date._order


def as_of_date(value: FuzzyDate | str | _dt.date, *, field: str = "as_of") -> pendulum.Date:
    """The last day meant by an ``as_of`` argument: a date, a ``FuzzyDate`` or an EDTF string.

    Raises:
        ValidationError: *value* is a datetime or cannot be read as a date.
    """
    if isinstance(value, _dt.datetime):
        raise ValidationError(
            f"{field}: expected a date, got the datetime {value!r}; "
            "use known_at for moments of knowledge, or pass value.date()",
            field=field,
        )
    return FuzzyDate.coerce(value, field=field).latest
