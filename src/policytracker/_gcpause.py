"""Pausing Python's cyclic garbage collector around the library's own bulk work."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block, then let it run again as it was (left off if
    the caller had turned it off).

    For the library's own bulk work, whose code makes no reference cycles: a replay or the loading of a
    stored state makes millions of objects, many of which stay alive, and an append a few for each event
    while the caller may hold many; as they accumulate CPython runs full collections over everything made
    so far, again and again, finding nothing to free (benchmarks/README.md has the measurements).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
