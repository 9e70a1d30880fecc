"""`pantau replay`: an events file through the live cores to alerts, as fast as the CPU allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from services.api.alerts import AlertEngine, AlertRules
from services.ingest.config import WindowConfig
from services.model.baseline import GrowthRatioScorer
from services.model.scorer import Scorer
from services.pipeline import LocalPipeline, PipelineStats

CHUNK_BYTES = 16 * 1_048_576


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, list[bytes]]]:
    """(bytes consumed, whole lines) chunks of a file; a partial last line waits for the next."""
    tail = b""
    with open(path, "rb") as f:
        while block := f.read(chunk_bytes):
            data = tail + block
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            tail = data[cut + 1 :]
            yield len(block), data[:cut].split(b"\n")
    if tail.strip():
        yield 0, [tail]


def _feed(pipeline: LocalPipeline, events: Path, progress: bool, label: str) -> None:
    columns = (TextColumn(label), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(label, total=events.stat().st_size)
        for consumed, lines in read_chunks(events):
            pipeline.submit([line for line in lines if line.strip()])
            bar.advance(task, consumed)


def replay_features(
    events: Path, partitions: int = 4, config: WindowConfig | None = None, progress: bool = True
) -> pl.DataFrame:
    """Every feature row the live ingest service would emit for `events` (for training)."""
    frames: list[pl.DataFrame] = []
    pipeline = LocalPipeline(
        GrowthRatioScorer(), lambda _: None, partitions, config, feature_sink=frames.append
    )
    _feed(pipeline, events, progress, "features")
    if not frames:
        raise ValueError(f"{events}: no feature rows (too few events or too short a span)")
    return pl.concat(frames).sort("tick_ms", "product_id")


def replay_file(
    events: Path,
    alerts_out: Path,
    scorer: Scorer | None = None,
    partitions: int = 4,
    rules: AlertRules | None = None,
    config: WindowConfig | None = None,
    progress: bool = True,
) -> PipelineStats:
    """Replay `events`; write one JSON line per alert to `alerts_out`."""
    engine = AlertEngine(rules or AlertRules())
    alerts_out.parent.mkdir(parents=True, exist_ok=True)
    with open(alerts_out, "wb") as out:

        def sink(scores: pl.DataFrame) -> None:
            for alert in engine.evaluate(scores):
                out.write(orjson.dumps(alert) + b"\n")

        pipeline = LocalPipeline(scorer or GrowthRatioScorer(), sink, partitions, config)
        _feed(pipeline, events, progress, "replay")
    return pipeline.stats
