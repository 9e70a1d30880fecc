"""The real `pantau ingest` publishes the features of the events, whatever the messages,
polls and pauses: the same simulated lines, packed into messages of random sizes, written
in random slices with random pauses and read with a random poll size, give the features
(the last row published per product and tick) and dead letters that one batch of each
partition's lines gives in the core.

Once with the simulator's own times (years before the wall clock: idle partitions must
not follow the clock at all), and twice moved to the last hours before the wall clock
with a short idle timeout, so idle partitions publish ticks ahead of their events between
slices. Draws come from a seeded RNG; the seed is printed and can be set with
PANTAU_TEST_SEED.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from _ingest import (
    IngestProcess,
    ingest_env,
    produce,
    published_dead_letters,
    published_features,
    wait_caught_up,
)
from _streams import newest_ms, pack, retimed, route, simulated_lines

from services.ingest.processor import PartitionProcessor
from services.ingest.service import window_config
from shared.features import FEATURE_SCHEMA
from shared.kafka import ensure_topics, frame_to_values, values_to_frame
from shared.settings import IngestSettings, KafkaSettings

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

LINES = 8_000  # four simulated hours
KEYS = ["partition", "product_id", "tick_ms"]
IDLE_TIMEOUT_S = 0.3


def reference(
    lines: dict[int, list[bytes]], settings: IngestSettings
) -> tuple[pl.DataFrame, Counter[tuple[int, str, str]]]:
    """Feature rows and (partition, reason, raw line) dead letters of one batch per partition."""
    frames, dead = [], Counter()
    for partition, mine in lines.items():
        result = PartitionProcessor(partition, window_config(settings)).submit(
            mine, now_ms=int(time.time() * 1000)
        )
        frames += [f for f in result.features if f.height]
        for line_no, reason in result.rejected.select("line_no", "reason").rows():
            raw = mine[line_no].decode("utf-8", "replace")[:65_536]
            dead[(partition, reason, raw)] += 1
    values = [v for f in frames for v in frame_to_values(f)]
    return values_to_frame(values, FEATURE_SCHEMA).sort(KEYS), dead


def topics(kafka: KafkaSettings, run: str) -> KafkaSettings:
    names = ("events_topic", "features_topic", "scores_topic", "dlq_topic")
    return kafka.model_copy(update={n: f"{run}.{getattr(kafka, n)}" for n in names})


def run_ingest(
    kafka: KafkaSettings, lines: dict[int, list[bytes]], rng: random.Random, work: Path
) -> tuple[pl.DataFrame, list[dict], str]:
    """Write the lines as drawn, let one `pantau ingest` read them, return what it published."""
    ensure_topics(kafka)
    work.mkdir()
    messages = {p: pack(mine, rng, max_lines=rng.choice([1, 8, 200])) for p, mine in lines.items()}
    slices = rng.randint(1, 6)
    poll = rng.choice([1, 7, 60, 5_000])
    env = ingest_env(kafka, work, f"{kafka.events_topic}.ingest", checkpoint_interval_s=0.5)
    env["PANTAU_INGEST_MAX_POLL_RECORDS"] = str(poll)
    env["PANTAU_INGEST_IDLE_TIMEOUT_S"] = str(IDLE_TIMEOUT_S)
    proc = IngestProcess(env, work / "ingest.log").start()
    try:
        proc.wait_assigned(timeout_s=60)
        pauses = []
        for s in range(slices):
            part = [
                (p, v)
                for p, values in messages.items()
                for v in values[len(values) * s // slices : len(values) * (s + 1) // slices]
            ]
            produce(kafka, part)
            pauses.append(round(rng.uniform(0.0, 1.5), 2))
            time.sleep(pauses[-1])
        wait_caught_up(kafka, work / "checkpoints", [proc], timeout_s=120)
        time.sleep(2 * IDLE_TIMEOUT_S + 0.5)  # idle partitions publish ticks ahead
    finally:
        proc.kill(signal.SIGTERM)
    sizes = {p: len(v) for p, v in messages.items()}
    drawn = f"messages {sizes}, {slices} slices, pauses {pauses} s, polls of {poll}"
    return published_features(kafka), published_dead_letters(kafka), drawn


@pytest.mark.parametrize("timing", ["as simulated", "live"])
def test_messages_polls_and_pauses_do_not_change_the_features(
    kafka_settings: KafkaSettings, tmp_path: Path, timing: str
) -> None:
    seed = int(os.environ.get("PANTAU_TEST_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    lines = simulated_lines(LINES)
    if timing == "live":
        shift_ms = int(time.time() * 1000) - 3_600_000 - newest_ms(lines)
        lines = retimed(lines, lambda ms: ms + shift_ms)
    routed = route(lines, kafka_settings.partitions)
    settings = IngestSettings()
    want, want_dead = reference(routed, settings)
    last_tick = want.group_by("partition").agg(last=pl.col("tick_ms").max())
    for run in range(1 if timing == "as simulated" else 2):
        kafka = topics(kafka_settings, f"r{run}")
        published, dead, drawn = run_ingest(kafka, routed, rng, tmp_path / f"run-{run}")
        context = f"seed={seed} run {run}: {drawn}"
        print(context)
        got = published.unique(KEYS, keep="last", maintain_order=True).sort(KEYS)
        ahead = got.join(last_tick, on="partition").filter(pl.col("tick_ms") > pl.col("last"))
        if timing == "live":
            # Idle partitions followed the clock past their events: the test tested that.
            assert ahead.height > 0, context
        else:
            assert ahead.height == 0, f"ticks past the events without a live clock: {context}"
        reached = got.join(ahead.select(KEYS), on=KEYS, how="anti")
        counts = reached.select(*KEYS, "events_5m").join(
            want.select(*KEYS, "events_5m"), on=KEYS, how="full", suffix="_batch"
        )
        differ = counts.filter(pl.col("events_5m").ne_missing(pl.col("events_5m_batch")))
        assert differ.height == 0, f"event counts differ ({context}):\n{differ}"
        assert reached.equals(want), context
        got_dead = Counter((d["partition"], d["reason"], d["raw"]) for d in dead)
        assert got_dead == want_dead, context
