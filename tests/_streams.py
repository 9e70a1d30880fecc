"""Realistic event streams for the determinism tests: simulated lines, routed to partitions
as Kafka's key partitioner routes them, packed into message values in arbitrary ways and,
when a test needs it, moved in time.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from datetime import datetime

import orjson

from services.simulator import SCENARIOS, iter_event_lines
from shared.partitioning import partition_for
from shared.schema import MIN_TS_MS


def simulated_lines(at_least: int) -> list[bytes]:
    """The first whole simulated hours holding at least `at_least` lines (seed fixed).

    Late events, retries and malformed lines come with them, at the simulator's rates.
    """
    scenario = dataclasses.replace(SCENARIOS["small"], n_products=150, days=2)
    lines: list[bytes] = []
    for _, hour in iter_event_lines(scenario, seed=1):
        lines += hour
        if len(lines) >= at_least:
            return lines
    raise AssertionError(f"scenario holds only {len(lines)} lines")


def _event(line: bytes) -> dict | None:
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def product_of(line: bytes) -> str | None:
    event = _event(line)
    product = event.get("product_id") if event is not None else None
    return product if isinstance(product, str) else None


def route(lines: list[bytes], partitions: int) -> dict[int, list[bytes]]:
    """Each partition's lines in stream order; lines without a readable product go to 0."""
    out: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    for line in lines:
        product = product_of(line)
        out[0 if product is None else partition_for(product, partitions)].append(line)
    return out


def pack(lines: list[bytes], rng: random.Random, max_lines: int = 64) -> list[bytes]:
    """Message values of 1..`max_lines` lines (sizes drawn by `rng`), joined by newlines.

    A value ends with a newline at random, and always when its last line is empty: a
    trailing newline is the value's terminator, so without one that empty line would
    read as the terminator and vanish.
    """
    values, i = [], 0
    while i < len(lines):
        n = rng.choice([1, 1, 2, rng.randint(1, max_lines)])
        chunk = lines[i : i + n]
        terminated = not chunk[-1] or rng.random() < 0.3
        values.append(b"\n".join(chunk) + (b"\n" if terminated else b""))
        i += n
    return values


def _ms(ts: object) -> int | None:
    """Epoch milliseconds of a readable `ts` (digits or RFC 3339), else None."""
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts if ts >= MIN_TS_MS else None
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            return None
        if parsed.tzinfo is not None:
            return round(parsed.timestamp() * 1000)
    return None


def retimed(lines: list[bytes], to_ms: Callable[[int], int]) -> list[bytes]:
    """The lines with every readable timestamp mapped by `to_ms`, written as it was
    (epoch milliseconds, or RFC 3339 in its own offset); other lines are left as they are."""
    out = []
    for line in lines:
        event = _event(line)
        ms = None if event is None else _ms(event.get("ts"))
        if event is None or ms is None:
            out.append(line)
            continue
        ts = event["ts"]
        if isinstance(ts, str):
            zone = datetime.fromisoformat(ts).tzinfo
            text = datetime.fromtimestamp(to_ms(ms) / 1000, zone).isoformat(timespec="milliseconds")
            event["ts"] = text.replace("+00:00", "Z") if ts.endswith("Z") else text
        else:
            event["ts"] = to_ms(ms)
        out.append(orjson.dumps(event))
    return out


def newest_ms(lines: list[bytes]) -> int:
    """The newest readable timestamp among the lines."""
    return max(ms for ms in (_ms(e.get("ts")) for e in map(_event, lines) if e) if ms)
