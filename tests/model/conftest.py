"""Small simulated runs, replayed through the live ingest core once per session, and two
model versions trained from them (a real one and a deliberately weak one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from services.evaluation.data import prepare_run
from services.model.train import TrainConfig, labelled, train_rows
from services.training import train_from_scenario


@dataclass(frozen=True)
class Trained:
    registry: Path
    good: Path
    weak: Path
    features: pl.DataFrame
    runs: Path  # the simulated runs (small, seeds 3 and 4, one partition), cached


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    work = tmp_path_factory.mktemp("runs")
    registry = tmp_path_factory.mktemp("registry")
    # Two runs: one short run leaves a test split of a day or two, whose calibration
    # error swung between 0.02 and 0.07 with the training settings alone.
    good = train_from_scenario("small", [3, 4], registry, progress=False, work=work, partitions=1)
    features = prepare_run("small", 3, work, partitions=1).features
    weak_cfg = TrainConfig(num_boost_round=1, num_leaves=2, min_data_in_leaf=5_000)
    rows = labelled(features, "small-3", weak_cfg)
    weak = train_rows(rows, registry, {"kind": "weak"}, [3], weak_cfg, progress=False)
    return Trained(registry, good, weak, features, work)
