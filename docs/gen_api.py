"""Generate docs/api.md, the API reference, from the docstrings of policytracker's public names.

Run ``python docs/gen_api.py > docs/api.md``; the test suite fails when docs/api.md is out of date.
"""

from __future__ import annotations

import inspect
import sys
import typing

import policytracker
import policytracker.exceptions
import policytracker.testing
from policytracker._projections import _history

# Names whose objects cannot carry a docstring of their own (type aliases, instances).
NOTES = {
    "Upcaster": "A function turning the stored fields of schema version n into those of n + 1:\n"
    "Callable[[dict[str, Any]], dict[str, Any]]. Register them with event_type(..., upcasters={n: f}).",
    "COUNTRY_STATES": "The built-in Projection behind country_states(): a read-only mapping of country code\n"
    "to CountryState. Pass it to project(), fold() or Projector.",
    "LAWS": "The laws check_projection_laws() checks, by name, in order: a dict of law name to check.",
}

SECTIONS = [
    ("policytracker", policytracker),
    ("policytracker.testing", policytracker.testing),
]


def _union(alias: object) -> str:
    return " | ".join("None" if arg is type(None) else arg.__name__ for arg in typing.get_args(alias))


# Type aliases in signatures that users cannot import, spelled out.
ALIASES = {"'AsOf'": f"'{_union(_history.AsOf)}'", "'KnownAt'": f"'{_union(_history.KnownAt)}'"}


def _signature(obj: object) -> str:
    try:
        text = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    for alias, spelled in ALIASES.items():
        text = text.replace(alias, spelled)
    return text


def _entry(module_name: str, name: str, obj: object) -> str:
    if name in NOTES:
        return f"### `{name}`\n\n```text\n{NOTES[name]}\n```\n"
    doc = inspect.getdoc(obj) or "(undocumented)"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        header = f"### `{name}` ({kind})"
    elif callable(obj):
        header = f"### `{name}{_signature(obj)}`"
    else:
        header = f"### `{name}`"
    return f"{header}\n\n```text\n{doc}\n```\n"


def generate() -> str:
    parts = [
        "# API reference\n",
        "Generated from the docstrings by `python docs/gen_api.py > docs/api.md`; do not edit by hand.\n",
    ]
    for module_name, module in SECTIONS:
        parts.append(f"## `{module_name}`\n")
        for name in module.__all__:
            if module is policytracker.testing and name in policytracker.__all__:
                continue
            parts.append(_entry(module_name, name, getattr(module, name)))
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(generate())
