"""Alert rules are settings (`PANTAU_ALERT_*`): validated once, used by the API's intake,
`pantau replay` and the evaluation of a registered model, with one set of defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.api.app import create_app
from services.evaluation.tuning import model_method
from shared.alerts import AlertRules
from shared.scores import ALERT_THRESHOLD, WITHOUT_CREATORS_THRESHOLD
from shared.settings import AlertSettings, ApiSettings, ScoreSettings

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000


def test_defaults_have_one_source() -> None:
    settings = AlertSettings()
    assert AlertRules() == AlertRules.from_settings(settings)
    assert settings.threshold == ALERT_THRESHOLD
    # Every row at a level some row alerts at gets reasons: the lower of the two levels.
    assert ScoreSettings().explain_threshold == settings.lowest_threshold
    assert settings.lowest_threshold == min(ALERT_THRESHOLD, WITHOUT_CREATORS_THRESHOLD)


@pytest.mark.parametrize(
    "fields",
    [{"threshold": 0.5, "rearm_below": 0.6}, {"threshold": 1.2}, {"rearm_below": -0.1}],
)
def test_rules_are_validated(fields: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        AlertSettings(**fields)


def test_the_api_intake_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_scores: Any
) -> None:
    monkeypatch.setenv("PANTAU_ALERT_THRESHOLD", "0.8")
    monkeypatch.setenv("PANTAU_ALERT_REARM_BELOW", "0.5")
    monkeypatch.setenv("PANTAU_ALERT_COOLDOWN_MS", str(HOUR_MS))
    monkeypatch.setenv("PANTAU_ALERT_CONFIDENT_COOLDOWN_MS", str(2 * HOUR_MS))
    monkeypatch.setenv("PANTAU_ALERT_WITHOUT_CREATORS_THRESHOLD", "0.9")
    monkeypatch.setenv("PANTAU_ALERT_WITHOUT_CREATORS_REARM_BELOW", "0.6")
    monkeypatch.setenv("PANTAU_ALERT_WITHOUT_CREATORS_HOLD_MS", str(2 * HOUR_MS))
    api = ApiSettings(database_url=f"sqlite:///{tmp_path / 'api.db'}", run_dispatcher=False)
    intake = create_app(api).state.intake
    assert intake.engine.rules == AlertRules(
        0.8,
        0.5,
        HOUR_MS,
        confident_cooldown_ms=2 * HOUR_MS,
        without_creators_threshold=0.9,
        without_creators_rearm_below=0.6,
        without_creators_hold_ms=2 * HOUR_MS,
    )
    tick = 1_772_409_600_000
    assert intake.apply(make_scores({"p": 0.7}, tick)) == []  # above the default 0.4 only
    counter = make_scores({"c": 0.85}, tick, creators_24h=0.0)
    assert intake.apply(counter) == []  # no creators: under its own 0.9
    assert len(intake.apply(make_scores({"p": 0.85}, tick + HOUR_MS))) == 1
    assert intake.apply(make_scores({"p": 0.45}, tick + 2 * HOUR_MS)) == []  # re-armed
    assert intake.apply(make_scores({"p": 0.9}, tick + 2 * HOUR_MS + 1)) == []  # 2 h cool-down
    assert intake.apply(make_scores({"p": 0.45}, tick + 2 * HOUR_MS + 2)) == []
    assert len(intake.apply(make_scores({"p": 0.9}, tick + 3 * HOUR_MS))) == 1
    explicit = create_app(api, alert_settings=AlertSettings(threshold=0.3, rearm_below=0.1))
    assert explicit.state.intake.engine.rules.threshold == 0.3


def test_evaluation_runs_a_model_at_the_deployed_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANTAU_ALERT_THRESHOLD", "0.7")
    [knob] = model_method(object(), "v1").knobs  # type: ignore[arg-type]
    assert knob.value == 0.7 and knob.rules.threshold == 0.7


@pytest.mark.parametrize(
    "variable",
    ["REARM_BELOW", "WITHOUT_CREATORS_REARM_BELOW", "HEADSUP_WITHOUT_CREATORS_REARM_BELOW"],
)
def test_a_bad_rule_stops_replay_with_one_line(tmp_path: Path, variable: str) -> None:
    events = tmp_path / "events.ndjson"
    events.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "replay", str(events)],
        cwd=REPO,
        env={**os.environ, f"PANTAU_ALERT_{variable}": "0.9"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr[-500:]
    assert done.stderr.strip().startswith(f"pantau: PANTAU_ALERT_{variable}=0.9: ")
    assert f"{variable.lower()} <= {variable.lower().replace('rearm_below', 'threshold')}" in (
        done.stderr
    )


def test_the_ratio_floor_is_the_deployments(monkeypatch: pytest.MonkeyPatch) -> None:
    """A growth ratio's rows (the cold start, a version's fallback for daily counters) need
    the version's 200 events a day unless the deployment sets its own trend volume."""
    from services.model.baseline import cold_start_scorer
    from services.model.sources import RatioFallback

    stored = RatioFallback().as_dict()
    assert RatioFallback.from_dict(stored).min_events_24h == 200.0
    assert cold_start_scorer().min_events_24h == 200.0
    monkeypatch.setenv("PANTAU_ALERT_RATIO_MIN_EVENTS_24H", "1000")
    assert RatioFallback.from_dict(stored).min_events_24h == 1000.0
    assert cold_start_scorer().min_events_24h == 1000.0
    with pytest.raises(ValidationError):
        AlertSettings(ratio_min_events_24h=-1.0)
