"""`pantau retrain` end to end on a feature log: a weak candidate is kept out (nothing
promoted: the shipped default is the model to beat); a good one beats a weak promoted
model and is promoted; each run leaves a report."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from services.cli import app
from services.evaluation.data import prepare_run
from services.ingest import feature_log
from services.model import registry
from services.model.train import TrainConfig
from services.retraining import retrain, retrain_every
from shared import metrics
from shared.settings import RetrainSettings

DAY_MS = 86_400_000
FAST = TrainConfig(num_boost_round=60, heads_up=None)  # a test budget, not the recipe
WEAK = TrainConfig(num_boost_round=1, num_leaves=2, min_data_in_leaf=5_000, heads_up=None)


def runs_total(outcome: str) -> float:
    return metrics.RETRAIN_RUNS.labels(outcome=outcome)._value.get()


@pytest.mark.slow
def test_retrain_promotes_a_better_model_and_keeps_a_worse_one_out(trained, tmp_path) -> None:
    # Four weeks of log: two small runs one after the other (seed 4's products renamed).
    later = prepare_run("small", 4, trained.runs, partitions=1).features.with_columns(
        product_id="s4-" + pl.col("product_id"), tick_ms=pl.col("tick_ms") + 14 * DAY_MS
    )
    feature_log.write(tmp_path / "log", pl.concat([trained.features, later]))
    settings = RetrainSettings(
        feature_log_dir=tmp_path / "log",
        model_dir=tmp_path / "registry",
        window_days=3,
        min_viral_products=2,
        metrics_port=0,
    )
    root = tmp_path / "registry"
    promoted_before = runs_total("promoted")

    weak = retrain(settings, WEAK)
    assert weak["decision"]["outcome"] == "kept", weak["decision"]
    assert weak["promoted"]["version"].startswith("default-")  # nothing promoted yet
    assert weak["candidate"]["average_precision"] < weak["promoted"]["average_precision"]
    assert registry.promoted_version(root) is None
    assert metrics.RETRAIN_WINDOW_AP.labels(model="candidate")._value.get() == pytest.approx(
        weak["candidate"]["average_precision"]
    )
    # An operator promotes the weak version anyway; the next run must do better than it.
    registry.write_pointer(root, weak["candidate"]["version"])

    good = retrain(settings, FAST)
    assert good["decision"]["outcome"] == "promoted", good["decision"]
    assert good["promoted"]["version"] == weak["candidate"]["version"]
    assert good["candidate"]["average_precision"] > good["promoted"]["average_precision"]
    assert registry.promoted_version(root) == good["candidate"]["version"]
    assert runs_total("promoted") == promoted_before + 1
    # The candidate never saw the window: its training ended a look-ahead before it.
    split = registry.read_metadata(root / good["candidate"]["version"])["split"]
    assert split["end_ms"] + FAST.label.lookahead_ms < good["window"]["start_ms"]
    on_disk = json.loads(Path(good["report"]).read_text())
    assert on_disk["decision"] == good["decision"] and on_disk["window"]["viral_products"] >= 2
    assert good["report"] != weak["report"] and Path(weak["report"]).is_file()


def test_retrain_without_a_feature_log_refuses_and_reports(tmp_path, monkeypatch) -> None:
    # The command's JSON logging would replace the root handlers for the whole session.
    monkeypatch.setattr("services.cli._logging", lambda level="INFO": None)
    result = CliRunner().invoke(
        app,
        ["retrain", "--feature-log", str(tmp_path / "none"), "--dir", str(tmp_path / "reg")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("refused: no feature log under")
    (report,) = (tmp_path / "reg" / "reports").glob("retrain-*.json")
    assert json.loads(report.read_text())["decision"]["outcome"] == "refused"


def test_the_schedule_runs_again_after_the_interval_and_stops(tmp_path) -> None:
    settings = RetrainSettings(
        feature_log_dir=tmp_path / "none",
        model_dir=tmp_path / "reg",
        interval_h=0.5 / 3600,  # half a second
        metrics_port=0,
    )
    stop = threading.Event()
    refused_before = runs_total("refused")
    schedule = threading.Thread(target=retrain_every, args=(settings, stop))
    schedule.start()
    deadline = time.monotonic() + 20
    while runs_total("refused") < refused_before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    schedule.join(timeout=10)
    assert not schedule.is_alive()
    assert runs_total("refused") >= refused_before + 2
    assert len(list((tmp_path / "reg" / "reports").glob("retrain-*.json"))) >= 2


def test_a_run_that_breaks_is_reported_failed_and_promotes_nothing(tmp_path) -> None:
    broken = tmp_path / "log" / "day=2026-01-01" / "00-p0.parquet"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not parquet")
    settings = RetrainSettings(
        feature_log_dir=tmp_path / "log", model_dir=tmp_path / "reg", metrics_port=0
    )
    failed_before = runs_total("failed")
    report = retrain(settings)
    assert report["decision"]["outcome"] == "failed"
    assert runs_total("failed") == failed_before + 1
    assert json.loads(Path(report["report"]).read_text())["decision"]["outcome"] == "failed"
    assert registry.promoted_version(tmp_path / "reg") is None
