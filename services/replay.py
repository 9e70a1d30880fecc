"""`pantau replay`: an events file through the live cores to alerts, as fast as the CPU allows."""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from services.ingest.config import WindowConfig
from services.model.baseline import cold_start_scorer
from services.model.registry import unpromoted_scorer
from services.model.scorer import Scorer
from services.pipeline import LocalPipeline, PipelineStats
from shared.alerts import AlertEngine, AlertRules
from shared.columns import column_max

CHUNK_BYTES = 16 * 1_048_576


def read_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, list[bytes]]]:
    """(bytes of the file consumed, whole lines) chunks of a file, gzip-compressed when its
    name ends in .gz; a partial last line waits for the next chunk."""
    tail = b""
    with open(path, "rb") as raw:
        f = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
        reported = 0
        while block := f.read(chunk_bytes):
            data = tail + block
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                continue
            tail = data[cut + 1 :]
            consumed, reported = raw.tell() - reported, raw.tell()
            yield consumed, data[:cut].split(b"\n")
    if tail.strip():
        yield 0, [tail]


def _feed(
    pipeline: LocalPipeline,
    events: Path,
    progress: bool,
    label: str,
    after_chunk: Callable[[], None] | None = None,
) -> None:
    columns = (TextColumn(label), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(label, total=events.stat().st_size)
        for consumed, lines in read_chunks(events):
            pipeline.submit([line for line in lines if line.strip()])
            if after_chunk is not None:
                after_chunk()
            bar.advance(task, consumed)


class _SortedSpill:
    """Feature rows to parquet parts in (tick_ms, product_id) order, with bounded memory.

    Each partition emits its ticks in increasing order, so once every partition has
    emitted tick T no row at or before T can still come: those rows are final and go to
    disk, sorted; the parts, read in order, are sorted as a whole. A month of a thousand
    products is ~8 million rows of ~600 bytes; holding them (then concatenating and
    sorting them) took over 10 GB.
    """

    def __init__(self, directory: Path, partitions: int, spill_rows: int) -> None:
        self.directory, self.partitions, self.spill_rows = directory, partitions, spill_rows
        self.buffer: list[pl.DataFrame] = []
        self.buffered = 0
        self.last_tick: dict[int, int] = {}
        self.parts: list[Path] = []
        self.rows = 0

    def add(self, rows: pl.DataFrame) -> None:
        self.buffer.append(rows)
        self.buffered += rows.height
        partition = int(rows["partition"][0])
        newest = column_max(rows["tick_ms"], int) or 0
        self.last_tick[partition] = max(self.last_tick.get(partition, 0), newest)

    def maybe_spill(self) -> None:
        if self.buffered >= self.spill_rows and len(self.last_tick) == self.partitions:
            self._write(min(self.last_tick.values()))

    def finish(self) -> list[Path]:
        self._write(None)
        return self.parts

    def _write(self, up_to_ms: int | None) -> None:
        if not self.buffer:
            return
        rows = pl.concat(self.buffer, how="vertical_relaxed")
        ready = rows if up_to_ms is None else rows.filter(pl.col("tick_ms") <= up_to_ms)
        rest = rows.filter(pl.col("tick_ms") > up_to_ms) if up_to_ms is not None else rows.clear()
        self.buffer, self.buffered = ([rest], rest.height) if rest.height else ([], 0)
        if ready.height:
            path = self.directory / f"part-{len(self.parts):05d}.parquet"
            ready.sort("tick_ms", "product_id").write_parquet(path)
            self.parts.append(path)
            self.rows += ready.height


def replay_features_to(
    events: Path,
    out: Path,
    partitions: int = 4,
    config: WindowConfig | None = None,
    progress: bool = True,
    spill_rows: int = 500_000,
) -> int:
    """Write every feature row the live ingest would emit for `events` to parquet `out`.

    Rows are sorted by (tick_ms, product_id); memory stays bounded by `spill_rows`. The
    file appears whole or not at all (written beside `out`, then renamed).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".replay-", dir=out.parent) as tmp:
        spill = _SortedSpill(Path(tmp), partitions, spill_rows)
        pipeline = LocalPipeline(
            cold_start_scorer(), lambda _: None, partitions, config, feature_sink=spill.add
        )
        _feed(pipeline, events, progress, "features", after_chunk=spill.maybe_spill)
        parts = spill.finish()
        if not parts:
            raise ValueError(f"{events}: no feature rows (too few events or too short a span)")
        staged = Path(tmp) / "all.parquet"
        pl.scan_parquet(parts).sink_parquet(staged)
        os.replace(staged, out)
    return spill.rows


def replay_features(
    events: Path, partitions: int = 4, config: WindowConfig | None = None, progress: bool = True
) -> pl.DataFrame:
    """Every feature row the live ingest service would emit for `events` (for training)."""
    with tempfile.TemporaryDirectory(prefix="pantau-features-") as tmp:
        path = Path(tmp) / "features.parquet"
        replay_features_to(events, path, partitions, config, progress)
        return pl.read_parquet(path)


class NotEvents(ValueError):
    """The file held no valid event: most likely not an events file at all."""


@dataclass(frozen=True)
class Replayed:
    """What a replay read and wrote."""

    events: Path
    stats: PipelineStats
    alerts: int
    alerts_out: Path

    def describe(self) -> str:
        """One readable paragraph for the person who ran the replay."""
        s = self.stats
        newest = (
            "no tick closed"
            if s.last_tick_ms is None
            else "scored up to "
            + datetime.fromtimestamp(s.last_tick_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
        )
        return (
            f"{self.events}: {_n(s.lines, 'line')}, {_n(s.accepted, 'event')} accepted, "
            f"{_n(s.duplicates, 'duplicate')} dropped, {rejected_text(s)}\n"
            f"{_n(s.feature_rows, 'feature row')}, {newest}\n"
            f"{_n(self.alerts, 'alert')} written to {self.alerts_out}"
        )


def rejected_text(stats: PipelineStats) -> str:
    """`N rejected (reason n, ...)`, largest reason first."""
    total = sum(stats.rejected.values())
    if not total:
        return "0 rejected"
    reasons = sorted(stats.rejected.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{total:,} rejected (" + ", ".join(f"{r} {n:,}" for r, n in reasons) + ")"


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def replay_file(
    events: Path,
    alerts_out: Path,
    scorer: Scorer | None = None,
    partitions: int = 4,
    rules: AlertRules | None = None,
    config: WindowConfig | None = None,
    progress: bool = True,
    watch: Callable[[pl.DataFrame], None] | None = None,
) -> Replayed:
    """Replay `events`; write one JSON line per alert to `alerts_out`, and hand every
    batch of scores to `watch` if given (a measure that needs more than the alerts).
    `scorer` None: the shipped default model (the cold start when it fails to load).

    Raises `NotEvents` (and leaves no alerts file) when not one line was a valid event.
    """
    engine = AlertEngine(rules or AlertRules())
    alerts_out.parent.mkdir(parents=True, exist_ok=True)
    alerts = 0
    with open(alerts_out, "wb") as out:

        def sink(scores: pl.DataFrame) -> None:
            nonlocal alerts
            if watch is not None:
                watch(scores)
            for alert in engine.evaluate(scores):
                out.write(orjson.dumps(alert) + b"\n")
                alerts += 1

        pipeline = LocalPipeline(scorer or unpromoted_scorer(), sink, partitions, config)
        _feed(pipeline, events, progress, "replay")
    stats = pipeline.stats
    if stats.accepted + stats.duplicates == 0:
        alerts_out.unlink()
        raise NotEvents(
            f"{events}: not an events file (NDJSON, one event a line): "
            f"{_n(stats.lines, 'line')}, {rejected_text(stats)}"
        )
    return Replayed(events, stats, alerts, alerts_out)
