"""ISO 3166-1 alpha-2 country codes: validation and normalisation (data from pycountry)."""

from __future__ import annotations

import functools

import pycountry

from policytracker.exceptions import ValidationError

__all__ = ["country_name", "known_country_codes", "normalize_country"]


@functools.cache
def known_country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code pycountry knows, upper case (loaded once, on first use)."""
    return frozenset(country.alpha_2 for country in pycountry.countries)


def normalize_country(value: object, *, field: str = "country") -> str:
    """Return *value* as an upper-case ISO 3166-1 alpha-2 code.

    Raises:
        ValidationError: *value* is not a string or not an assigned ISO 3166-1 alpha-2 code; the message names
            *field* and the value.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"{field}: expected an ISO 3166-1 alpha-2 code as a string, got {value!r}", field=field
        )
    code = value.upper()
    if code not in known_country_codes():
        raise ValidationError(
            f"{field}: {value!r} is not an ISO 3166-1 alpha-2 country code (e.g. 'PK', 'SV')",
            field=field,
        )
    return code


def country_name(code: str) -> str:
    """The short English name of an ISO 3166-1 alpha-2 code (``"SV"`` → ``"El Salvador"``)."""
    country = pycountry.countries.get(alpha_2=normalize_country(code))
    assert country is not None  # normalize_country only lets known codes through
    return str(getattr(country, "common_name", country.name))
