"""The whole pipeline in one process: the same cores the Kafka services run, wired directly.

Used by `pantau replay` (a file in, scores and alerts out) and `pantau demo`. Events are
routed to partitions exactly as Kafka's default partitioner would route them, so every
product sees the same per-partition event time as in the live services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from services.ingest.config import WindowConfig
from services.ingest.processor import PartitionProcessor
from services.model.scorer import Scorer
from shared.clock import wall_clock_ms
from shared.columns import column_max
from shared.partitioning import partition_for
from shared.schema import DecodedBatch, decode_lines

ScoreSink = Callable[[pl.DataFrame], None]


@dataclass
class PipelineStats:
    lines: int = 0  # lines submitted (one event each when the input is events)
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    feature_rows: int = 0
    score_rows: int = 0
    last_tick_ms: int | None = None  # event time of the newest tick scored


class LocalPipeline:
    """Partitioned ingest processors feeding a scorer feeding a sink."""

    def __init__(
        self,
        scorer: Scorer,
        sink: ScoreSink,
        partitions: int = 4,
        config: WindowConfig | None = None,
        feature_sink: Callable[[pl.DataFrame], None] | None = None,
    ) -> None:
        self.scorer, self.sink, self.partitions = scorer, sink, partitions
        self.feature_sink = feature_sink
        self.processors = [PartitionProcessor(p, config) for p in range(partitions)]
        self.stats = PipelineStats()

    def submit(self, lines: list[bytes], now_ms: int | None = None) -> None:
        """Route and fold lines; `now_ms` (default: the wall clock) bounds their event time."""
        now_ms = wall_clock_ms() if now_ms is None else now_ms
        self.stats.lines += len(lines)
        decoded = decode_lines(lines)
        self._count_rejects(decoded.rejected)
        ids = decoded.events["product_id"].unique().to_list()
        routes = pl.DataFrame(
            {"product_id": ids, "partition": [partition_for(i, self.partitions) for i in ids]},
            schema={"product_id": pl.String, "partition": pl.Int32},
        )
        events = decoded.events.join(routes, on="product_id", how="left", maintain_order="left")
        empty = decoded.rejected.clear()
        for (partition,), part in events.partition_by("partition", as_dict=True).items():
            result = self.processors[int(partition)].submit_decoded(
                DecodedBatch(events=part.drop("partition"), rejected=empty), now_ms=now_ms
            )
            self.stats.accepted += result.accepted
            self.stats.duplicates += result.duplicates
            self._count_rejects(result.rejected)
            self._emit(result.features)

    def advance_to(self, watermark_ms: int) -> None:
        """Close windows up to `watermark_ms` on every partition (end of a replay, idle demo)."""
        for processor in self.processors:
            self._emit(processor.advance_to(watermark_ms))

    def _emit(self, features: list[pl.DataFrame]) -> None:
        for rows in features:
            if rows.height == 0:
                continue
            self.stats.feature_rows += rows.height
            if self.feature_sink is not None:
                self.feature_sink(rows)
            scores = self.scorer.score(rows)
            self.stats.score_rows += scores.height
            newest = column_max(rows["tick_ms"], int)
            if newest is not None and (
                self.stats.last_tick_ms is None or newest > self.stats.last_tick_ms
            ):
                self.stats.last_tick_ms = newest
            self.sink(scores)

    def _count_rejects(self, rejected: pl.DataFrame) -> None:
        for reason, n in rejected.group_by("reason").len().iter_rows():
            self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + n
