"""Text from the data made safe to show: control characters written as escapes."""

from __future__ import annotations

import re

__all__ = ["UNSAFE_IN_JSON", "visible"]

# Characters that move the cursor, recolour or rewrite a terminal, or reorder or split what a terminal or a
# browser shows: C0 and C1 controls, DEL, line and paragraph separators, and the bidirectional marks and
# overrides. JSON escapes C0 controls itself, and the others can only occur inside its strings, where
# \uXXXX is the same.
_INVISIBLE = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_INVISIBLE}]")
_UNSAFE_KEEPING_LINES = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_INVISIBLE}]")
UNSAFE_IN_JSON = re.compile(f"[{_INVISIBLE}]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(match: re.Match[str]) -> str:
    """The escape of one matched character: ``\\n``, ``\\x1b``, ``\\u202e``."""
    code = ord(match[0])
    return _SHORT_ESCAPES.get(match[0]) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str, *, keep_lines: bool = False) -> str:
    """*text* with every control, separator and bidirectional character written as an escape; with
    *keep_lines*, newlines, carriage returns and tabs are kept (for HTML, which lays them out itself)."""
    return (_UNSAFE_KEEPING_LINES if keep_lines else _UNSAFE).sub(escape, text)
