"""Decoding stored events: the codec's generated decoder beside cattrs' generated structuring function.

    python benchmarks/codec_vs_cattrs.py

Both decode the same stored purchases of the benchmark workload into equal events with the stored id.
cattrs' function (``make_dict_structure_fn``, with pass-through hooks so that the class's own converters
read the text) ends in the class's ``__init__``, which runs every converter again and takes the stored id
as a given one; the codec sets the slots itself, memoising its own pure converters. Prints microseconds
per event, best of 7, CPU time of this process.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import cattrs
import workload
from cattrs.gen import make_dict_structure_fn

import policytracker as pt
from policytracker._canonical import read_uuid
from policytracker._codec import codec_for


def main() -> None:
    purchases = [
        workload.policytracker_event(raw) for raw in workload.raw_events(60_000) if raw[0] == "purchase"
    ]
    stored = [pt.event_to_dict(event) for event in purchases]

    converter = cattrs.Converter()
    for text_type in (pt.FuzzyDate, Decimal, uuid.UUID):
        converter.register_structure_hook(text_type, lambda value, _: value)
    structure = make_dict_structure_fn(pt.ReservePurchase, converter)  # type: ignore[arg-type]
    header = ("type", "version")

    def with_cattrs(obj: dict[str, Any]) -> Any:
        return structure({key: value for key, value in obj.items() if key not in header}, pt.ReservePurchase)

    decode = codec_for(pt.ReservePurchase).decode

    def with_codec(obj: dict[str, Any]) -> Any:
        return decode(obj, read_uuid(obj["event_id"]))

    for name, function in (("cattrs make_dict_structure_fn", with_cattrs), ("codec", with_codec)):
        decoded = [function(obj) for obj in stored]
        assert decoded == purchases
        assert [e.event_id for e in decoded] == [e.event_id for e in purchases]
        print(f"{name:<30} {_best(function, stored):6.2f} us an event ({len(stored):,} purchases)")


def _best(function: Callable[[dict[str, Any]], Any], objects: list[dict[str, Any]]) -> float:
    times = []
    for _ in range(7):
        started = time.process_time()
        for obj in objects:
            function(obj)
        times.append(time.process_time() - started)
    return min(times) / len(objects) * 1e6


if __name__ == "__main__":
    main()
