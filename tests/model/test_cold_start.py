"""With no promoted model and no shipped default (missing or unloadable): an uncalibrated
growth baseline that waits for a product's history.

The events are tests/data/evaluate (daily view counters, as a public API reports them):
three flat videos, two viral rises, and a new upload that starts with 60,000 views.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from services.model.baseline import COLD_START_MIN_HISTORY_H, cold_start_scorer
from services.model.registry import unpromoted_scorer
from services.replay import replay_features, replay_file
from shared.scores import is_calibrated

DATA = Path(__file__).parents[1] / "data" / "evaluate"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
START_MS = 1_767_225_600_000  # the truth's start, 2026-01-01T00:00Z; events at noon
FLAT = ("flat-a", "flat-b", "flat-c")


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """What the score service publishes with an empty model registry and no default."""
    scorer = unpromoted_scorer(tmp_path_factory.mktemp("no-default"))
    return scorer.score(replay_features(DATA / "events.ndjson", partitions=1, progress=False))


def test_without_a_promoted_model_scores_say_they_are_not_probabilities(
    scores: pl.DataFrame,
) -> None:
    versions = scores["model_version"].unique().to_list()
    assert versions and not any(is_calibrated(v) for v in versions)


def test_a_flat_product_never_looks_like_rising(scores: pl.DataFrame) -> None:
    """A daily counter's one event a day fell in the last 6 h: the 6 h ratio read it as a
    1,000x rise, so flat videos showed at 99 %."""
    flat = scores.filter(pl.col("product_id").is_in(FLAT))
    assert flat.height > 100
    assert flat["probability"].max() < 0.1
    assert flat["score"].max() < 1.5  # the day against the week: about 1x


def test_a_new_product_is_not_judged_before_it_has_history(scores: pl.DataFrame) -> None:
    upload = scores.filter(pl.col("product_id") == "upload")
    first_event_ms = START_MS + 12 * DAY_MS + 12 * HOUR_MS
    young = upload.filter(pl.col("tick_ms") < first_event_ms + COLD_START_MIN_HISTORY_H * HOUR_MS)
    assert young.height > 0
    assert young["probability"].max() == 0.0 and young["score"].max() == 0.0


def test_replay_without_a_model_alerts_on_the_rises_only(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    replay_file(DATA / "events.ndjson", out, cold_start_scorer(), partitions=1, progress=False)
    alerts = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    fired = {a["product_id"] for a in alerts}
    assert fired == {"viral-a", "viral-b"}  # never a flat video, never the upload's first day
    # viral-a: 4,000 on day 19 is 3.7x its week, 12,000 on day 20 is 11x: the alert comes
    # with day 20's counter, a day before the peak (day 21).
    first = min(a["tick_ms"] for a in alerts if a["product_id"] == "viral-a")
    assert START_MS + 20 * DAY_MS + 12 * HOUR_MS <= first <= START_MS + 21 * DAY_MS
