"""Replayed feature rows spilled to disk in parts equal the rows the pipeline emitted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from services.model.baseline import GrowthRatioScorer
from services.pipeline import LocalPipeline
from services.replay import read_chunks, replay_features_to
from services.simulator import SCENARIOS, simulate


@pytest.mark.slow
def test_spilled_parts_equal_the_emitted_rows_sorted(tmp_path: Path) -> None:
    cfg = dataclasses.replace(SCENARIOS["small"], n_products=12, days=1)
    events = simulate(cfg, 3, tmp_path / "sim", progress=False).events_path

    emitted: list[pl.DataFrame] = []
    pipeline = LocalPipeline(GrowthRatioScorer(), lambda _: None, 2, feature_sink=emitted.append)
    for _, lines in read_chunks(events, chunk_bytes=1 << 16):
        pipeline.submit([line for line in lines if line.strip()])
    expected = pl.concat(emitted).sort("tick_ms", "product_id")

    # Many small parts: spilled whenever 300 rows wait.
    out = tmp_path / "features.parquet"
    rows = replay_features_to(events, out, partitions=2, progress=False, spill_rows=300)
    assert rows == expected.height > 1000
    assert_frame_equal(pl.read_parquet(out), expected)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".replay-")]
