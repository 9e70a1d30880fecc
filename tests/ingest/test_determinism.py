"""Features are a function of the events and the settings only: not of how the lines were
packed into messages, how the messages were cut into polls, or when a partition sat idle.

Realistic streams (simulated lines with their late events, retries and malformed lines)
are packed into message values of random sizes, split into polls at random, with idle
spells between polls in which the watermark follows a clock running ahead of the events;
the core must publish what one batch of the same lines gives (the last row published per
product and tick), accept the same events and reject the same lines for the same reasons.
"""

from __future__ import annotations

import orjson
import polars as pl

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS
from services.ingest.processor import PartitionProcessor


def event(i: int, ts_ms: int, product: str, **extra: object) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"e{i}",
            "ts": ts_ms,
            "platform": "tiktok",
            "product_id": product,
            "action": "view",
            **extra,
        }
    )


T0 = 1_772_409_600_000
NOW_MS = 1_800_000_000_000  # the ingest clock: after every event of these tests


def test_a_product_back_after_the_retention_starts_afresh_inside_one_batch() -> None:
    """As if pruned at the tick before its return: no old category, first seen anew."""
    lines = [event(0, T0, "p", category="old")]
    for hour in range(1, 9 * 24):  # another product keeps the watermark moving
        lines.append(event(hour, T0 + hour * HOUR_MS, "q"))
    back_ms = T0 + (8 * 24 + 6) * HOUR_MS + 1
    lines.append(event(-1, back_ms, "p"))
    lines.sort(key=lambda line: orjson.loads(line)["ts"])

    def rows_of_p(cuts: list[int]) -> pl.DataFrame:
        processor, frames = PartitionProcessor(0), []
        for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True):
            frames += processor.submit(lines[a:b], now_ms=NOW_MS).features
        return pl.concat(frames).filter(pl.col("product_id") == "p")

    whole = rows_of_p([])
    assert whole.filter(pl.col("tick_ms") <= T0 + DAY_MS).height == 24 * 12  # its first day
    # Cut after its first event, the batch holding its first day also holds its return.
    for cuts in ([1], [100], list(range(1, len(lines)))):
        assert whole.equals(rows_of_p(cuts)), cuts
    back = whole.filter(pl.col("tick_ms") > back_ms)
    assert back.height > 0 and back["category"].is_null().all()
    assert back["hours_since_first_seen"].max() < 24


def latest(frames: list[pl.DataFrame]) -> pl.DataFrame:
    keys = ["partition", "product_id", "tick_ms"]
    return pl.concat(frames).unique(keys, keep="last", maintain_order=True).sort(keys)


def test_idle_ticks_leave_lateness_to_the_events() -> None:
    """Ticks published while idle do not make an event late that a replay accepts, and
    they fire again with it: the last row per product and tick is the replay's."""
    before = [event(i, T0 + i * MINUTE_MS, f"p{i % 3}", region="ID-JT") for i in range(60)]
    # Arrives after an idle spell, stamped up to 8 minutes behind the last event before it.
    after = [event(100 + i, T0 + (52 + i) * MINUTE_MS, f"p{i % 4}") for i in range(60)]
    replay = PartitionProcessor(0)
    want = latest(replay.submit(before + after, now_ms=NOW_MS).features)

    live = PartitionProcessor(0)
    frames = live.submit(before, now_ms=NOW_MS).features
    idle = live.advance_to(T0 + 3 * HOUR_MS)
    assert idle and all(f["tick_ms"][0] > live.watermark_ms for f in idle)
    assert live.advance_to(T0 + 3 * HOUR_MS) == []  # each idle tick is published once
    result = live.submit(after, now_ms=NOW_MS)
    assert result.rejected.height == 0 and result.accepted == len(after)
    got = latest(frames + idle + result.features)
    assert got.filter(pl.col("tick_ms") <= want["tick_ms"].max()).equals(want)
    # Rows of the idle ticks the events did not reach yet stay as they were published.
    assert got.filter(pl.col("tick_ms") > want["tick_ms"].max()).height > 0


def test_idle_ticks_equal_the_ticks_the_events_would_fire() -> None:
    """With no more events, an idle tick's rows are those a later event would have fired."""
    lines = [event(i, T0 + i * MINUTE_MS, f"p{i % 5}", region="ID-JK") for i in range(300)]
    idle = PartitionProcessor(0)
    idle.submit(lines, now_ms=NOW_MS)
    ahead = latest(idle.advance_to(T0 + DAY_MS))
    fired = PartitionProcessor(0)
    rows = fired.submit(
        [*lines, event(-1, T0 + DAY_MS + 10 * MINUTE_MS, "other")], now_ms=NOW_MS
    ).features
    reference = latest(rows).filter(pl.col("tick_ms").is_in(ahead["tick_ms"].unique().implode()))
    assert ahead.drop("watermark_ms").equals(reference.drop("watermark_ms"))
