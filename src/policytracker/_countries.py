"""Countries: ISO 3166-1 alpha-2 codes, plus the jurisdictions ``EU`` and ``XK`` (data from pycountry).

A country may be given as an alpha-2 code (``"SV"``, ``"sv"``), an alpha-3 code (``"SLV"``) or an exact
English name, in any case (``"El Salvador"``; pycountry's name, common name or official name); it is stored
as its upper-case alpha-2 code. Two jurisdictions outside ISO 3166-1 are accepted too: ``EU`` (the European
Union, which makes crypto policy for its members: MiCA) and ``XK`` (Kosovo, which has no ISO 3166-1
code; ``XK`` is the one in common use). Anything else is a ``ValidationError`` with a hint where one is found
(``did you mean 'SV' (El Salvador)?``).

A known code is one dictionary lookup: the tables are built from pycountry once, on first use, and the
slow search for a hint runs only for a value that is refused.
"""

from __future__ import annotations

import difflib
import functools
import unicodedata

import pycountry

from policytracker.exceptions import ValidationError

__all__ = ["country_name", "known_country_codes", "normalize_country"]

#: Jurisdictions outside ISO 3166-1 alpha-2 that make digital-asset policy: code → (name, other names).
JURISDICTIONS = {
    "EU": ("European Union", ()),
    "XK": ("Kosovo", ("Republic of Kosovo",)),
}
#: Codes people often write for a country whose ISO code differs: a hint, never accepted.
_LOOKALIKES = {"UK": "GB", "EL": "GR"}
_ACCEPTED = (
    "expected an ISO 3166-1 alpha-2 code such as 'PK' or 'SV', an alpha-3 code such as 'PAK' or an "
    "English name such as 'Pakistan'"
)

# Every accepted spelling of a code (upper and lower case alpha-2 and alpha-3) → alpha-2; filled on first use.
_CODES: dict[str, str] = {}
_NAMES: dict[str, str] = {}  # casefolded English names → alpha-2
_NAME_OF: dict[str, str] = {}  # alpha-2 → the short English name


def _load() -> None:
    if _NAME_OF:
        return
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    name_of: dict[str, str] = {}
    for country in pycountry.countries:
        alpha_2, alpha_3 = country.alpha_2, country.alpha_3
        for code in (alpha_2, alpha_3):
            codes[code] = codes[code.lower()] = alpha_2
        spellings = [getattr(country, attr, None) for attr in ("name", "common_name", "official_name")]
        for spelling in spellings:
            if spelling:
                names.setdefault(spelling.casefold(), alpha_2)
        name_of[alpha_2] = str(getattr(country, "common_name", None) or country.name)
    for code, (name, others) in JURISDICTIONS.items():
        codes[code] = codes[code.lower()] = code
        for spelling in (name, *others):
            names.setdefault(spelling.casefold(), code)
        name_of[code] = name
    _NAMES.update(names)
    _CODES.update(codes)
    _NAME_OF.update(name_of)  # last: it marks the tables as loaded


@functools.cache
def known_country_codes() -> frozenset[str]:
    """Every accepted code: each ISO 3166-1 alpha-2 code pycountry knows, plus ``EU`` and ``XK``."""
    _load()
    return frozenset(_NAME_OF)


def normalize_country(value: object, *, field: str = "country") -> str:
    """Return the country *value* names as an upper-case alpha-2 code (``"sv"``, ``"SLV"`` and
    ``"El Salvador"`` all give ``"SV"``; ``"EU"`` and ``"XK"`` are accepted jurisdictions).

    Raises:
        ValidationError: *value* is not a string or names no country; the message names *field* and the
            value, and suggests the code meant where one is found (``did you mean 'SV' (El Salvador)?``).
    """
    if type(value) is str:
        code = _CODES.get(value)
        if code is not None:
            return code
    return _resolve(value, field)


def _resolve(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(
            f"{field}: expected an ISO 3166-1 alpha-2 code (or an alpha-3 code or English name) as a "
            f"string, got {value!r}",
            field=field,
        )
    _load()
    code = _CODES.get(value.upper()) or _NAMES.get(value.casefold())
    if code is None:
        raise ValidationError(f"{field}: unknown country {value!r}: {_hint(value)}", field=field)
    return code


def country_name(code: str) -> str:
    """The short English name of a country (``"SV"`` → ``"El Salvador"``, ``"EU"`` → ``"European Union"``);
    *code* is anything :func:`normalize_country` accepts."""
    return _NAME_OF[normalize_country(code)]


# -- hints, for refused values only ------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _hint(value: str) -> str:
    """``did you mean ...?`` naming the likeliest codes for *value*, or the accepted forms."""
    found = _suggestions(value)
    if not found:
        return _ACCEPTED
    return "did you mean " + " or ".join(f"{code!r} ({_NAME_OF[code]})" for code in found) + "?"


def _suggestions(value: str) -> list[str]:
    text = value.strip()
    code = _CODES.get(text.upper()) or _NAMES.get(text.casefold())
    if code is not None:  # only the spaces were wrong
        return [code]
    lookalike = _LOOKALIKES.get(text.upper())
    if lookalike is not None:
        return [lookalike]
    if len(text) <= 3:  # a code nobody uses: any name would be a guess
        return []
    close = difflib.get_close_matches(text.casefold(), _NAMES, n=1, cutoff=0.8)
    if close:
        return [_NAMES[close[0]]]
    return _fuzzy(text)


def _fuzzy(text: str) -> list[str]:
    """The countries pycountry's fuzzy search finds whose own names contain *text* (its other matches,
    through subdivisions, are too loose to suggest), at most three."""
    try:
        matches = pycountry.countries.search_fuzzy(text)
    except LookupError:
        return []
    wanted = _plain(text)
    found = []
    for country in matches:
        names = [getattr(country, attr, None) or "" for attr in ("name", "common_name", "official_name")]
        if any(wanted in _plain(name) for name in names) and country.alpha_2 in _NAME_OF:
            found.append(str(country.alpha_2))
    return found[:3]


def _plain(text: str) -> str:
    """*text* casefolded, without accents."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
