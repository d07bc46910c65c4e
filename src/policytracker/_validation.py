"""Field converters and validators shared by the event classes.

Converters are plain named functions (so type checkers see the accepted argument types); each raises
:class:`~policytracker.exceptions.ValidationError` naming its field. ``event_type`` adds the class name.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from policytracker._countries import normalize_country
from policytracker._dates import FuzzyDate
from policytracker.exceptions import ValidationError

_DECIMAL_TEXT = re.compile(r"-?\d+(?:\.\d+)?")
_ASSET = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,15}")
#: The most digits an amount may have written out in full: its integer digits plus its decimal places
#: (for example 42 integer digits and 18 decimal places), so every amount is a multiple of 10**-60 below
#: 10**60.
MAX_DIGITS = 60
#: The decimal context of every sum and difference of amounts, never the caller's: a sum of fewer than
#: 10**40 amounts within ``MAX_DIGITS`` has at most ``2 * MAX_DIGITS + 40`` digits, so it is exact; an
#: inexact or rounded result, which the limit rules out, would raise rather than pass silently.
EXACT = decimal.Context(
    prec=2 * MAX_DIGITS + 40,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[
        decimal.Inexact,
        decimal.Rounded,
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Underflow,
    ],
)
_SURROGATE = re.compile("[\ud800-\udfff]")
# The asset symbols accepted so far (as given → as stored), up to a bound: a handful in practice.
_ASSETS: dict[str, str] = {}
_ASSETS_KEPT = 1024


def _check_encodable(value: str, field: str) -> None:
    if not value.isascii() and _SURROGATE.search(value):
        raise ValidationError(
            f"{field}: {value!r} holds a lone surrogate, which UTF-8 cannot encode", field=field
        )


def to_decimal(value: object, *, field: str, allow_zero: bool = False) -> Decimal:
    """An exact, canonical, positive (or non-negative) ``Decimal``.

    Accepts ``Decimal``, ``int`` and plain decimal strings (``"6238"``, ``"0.5"``). Floats are refused,
    because a float such as ``0.1`` is not the number it looks like: pass ``Decimal("0.1")`` or ``"0.1"``.
    Trailing fractional zeros are dropped (``Decimal("7.00")`` becomes ``Decimal("7")``), so the same
    figure always encodes, and derives ids, the same way. At most ``MAX_DIGITS`` (60) digits written out
    are accepted (integer digits plus decimal places), so that sums in the ``EXACT`` context are exact.
    """
    if type(value) is Decimal:
        text = str(value)
        if (
            (text.isdigit() or (text[-1] != "0" and text.replace(".", "", 1).isdigit()))
            and len(text) <= MAX_DIGITS
            and (allow_zero or text != "0")
        ):
            return value  # plain digits, already canonical: the common case, decided from its text alone
        number = value
    elif isinstance(value, Decimal):
        number = Decimal(value)  # a subclass: stored and compared as the plain Decimal it stands for
    elif type(value) is int or (isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value)):
        number = Decimal(value)
    elif isinstance(value, float):
        raise ValidationError(
            f"{field}: got the float {value!r}; floats are inexact, pass Decimal({str(value)!r}) "
            f"or the string {str(value)!r}",
            field=field,
        )
    else:
        raise ValidationError(
            f"{field}: expected a Decimal, an int or a decimal string such as '6238' or '0.5', got {value!r}",
            field=field,
        )
    if not number.is_finite():
        raise ValidationError(f"{field}: {value!r} is not a finite number", field=field)
    if number < 0 or (number == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ValidationError(f"{field}: must be {bound}, got {value!r}", field=field)
    return _canonical_decimal(number, field)


def _canonical_decimal(number: Decimal, field: str) -> Decimal:
    text = str(number)
    if (
        text[0] != "-"
        and "E" not in text
        and not (text[-1] == "0" and "." in text)
        and len(text) <= MAX_DIGITS
    ):
        return number  # already canonical: no exponent, no trailing fractional zero, short enough
    if number == 0:
        return Decimal(0)
    _sign, digit_tuple, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite numbers only
    digits = list(digit_tuple)
    while exponent < 0 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    # Written out in full: the integer digits (len + exponent, when positive) plus the decimal places.
    written = len(digits) + exponent if exponent >= 0 else max(len(digits), -exponent)
    if written > MAX_DIGITS:
        raise ValidationError(
            f"{field}: {number} has more than {MAX_DIGITS} digits written out ({written}); an amount has at "
            f"most {MAX_DIGITS} digits (integer digits plus decimal places, for example 42 and 18)",
            field=field,
        )
    if exponent > 0:
        digits.extend([0] * exponent)
        exponent = 0
    return Decimal((0, tuple(digits), exponent))


def to_text_tuple(value: object, *, field: str) -> tuple[str, ...]:
    """A tuple of non-empty strings; a lone string is refused (it would become its characters)."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{field}: expected a tuple of strings such as ('mining',), got {value!r}", field=field
        )
    items = tuple(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(
                f"{field}: every item must be a non-empty string, got {item!r}", field=field
            )
        _check_encodable(item, field)
    return items


#: The number a UUID holds, read from its slot (a subclass may redefine ``int``).
_UUID_INT = vars(uuid.UUID)["int"].__get__


def to_uuid(value: object, *, field: str) -> uuid.UUID:
    """A plain ``uuid.UUID`` from a UUID (of a subclass too, whose ``str`` may say otherwise) or its string
    form."""
    if value.__class__ is uuid.UUID:
        return value
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=_UUID_INT(value))
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError(f"{field}: expected a UUID, got {value!r}", field=field)


def to_asset(value: object, *, field: str = "asset") -> str:
    """An asset symbol, upper-cased: ``"btc"`` → ``"BTC"``."""
    if type(value) is str:
        found = _ASSETS.get(value)
        if found is not None:
            return found
    if isinstance(value, str) and _ASSET.fullmatch(value.upper()):
        if type(value) is str and len(_ASSETS) < _ASSETS_KEPT:  # a subclass may read otherwise
            _ASSETS[value] = value.upper()
        return value.upper()
    raise ValidationError(
        f"{field}: expected an asset symbol such as 'BTC' or 'USDT', got {value!r}", field=field
    )


def to_country(value: object, *, field: str = "country") -> str:
    return normalize_country(value, field=field)


def to_fuzzy_date(value: object, *, field: str) -> FuzzyDate:
    if type(value) is str or isinstance(value, FuzzyDate | str | _dt.date):
        return FuzzyDate.coerce(value, field=field)
    raise ValidationError(
        f"{field}: expected a FuzzyDate, an EDTF string such as '2025-07' or a date, got {value!r}",
        field=field,
    )


# --- attrs validators (they receive the attribute, so they name it themselves) ---------------------


def non_empty_text(_instance: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{attribute.name}: expected a non-empty string, got {value!r}", field=attribute.name
        )
    _check_encodable(value, attribute.name)


def text(_instance: Any, attribute: Any, value: Any) -> None:
    if type(value) is str and value.isascii():
        return  # ASCII holds no lone surrogate
    if not isinstance(value, str):
        raise ValidationError(f"{attribute.name}: expected a string, got {value!r}", field=attribute.name)
    _check_encodable(value, attribute.name)


# What str.splitlines() breaks a line at.
_LINE_BREAK = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(_instance: Any, attribute: Any, value: Any) -> None:
    """One line of text without spaces at either end, or ``""``: a name that reads the same in a CSV cell,
    a JSON string and a table."""
    if value == "" and value.__class__ is str:
        return
    text(_instance, attribute, value)
    if _LINE_BREAK.search(value):
        raise ValidationError(
            f"{attribute.name}: {value!r} is more than one line; give one line of text", field=attribute.name
        )
    if value.strip() != value:
        raise ValidationError(
            f"{attribute.name}: {value!r} has spaces at an end; give it without them", field=attribute.name
        )


def optional_text(_instance: Any, attribute: Any, value: Any) -> None:
    if value is not None:
        non_empty_text(_instance, attribute, value)


def strict_bool(_instance: Any, attribute: Any, value: Any) -> None:
    if type(value) is not bool:
        raise ValidationError(
            f"{attribute.name}: expected True or False, got {value!r}", field=attribute.name
        )


def positive_int(_instance: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValidationError(
            f"{attribute.name}: expected a whole number greater than zero, got {value!r}",
            field=attribute.name,
        )
