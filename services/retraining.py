"""Learning from the deployment's own outcomes: `pantau retrain`, once or on a schedule.

One run, one step per line of `_run`: read the feature log's recent days → label the rows
whose horizons have passed (`labels`, as for any training) → hold out the last
`window_days` of them (`split.hold_out_recent`: never trained on) → train a candidate on
the rows before the window (a new registry version) → score the window with the candidate
and with the model that scores now (the promoted one, or the cold-start baseline) → decide
(`promotion`) → move the registry's `promoted` pointer when the candidate is better →
write the run's report. Every step is a log line; the outcome, the window's figures and
the duration are metrics. The scorer watches the pointer and swaps models between
batches (`services.model.service.ModelWatcher`), so a promotion needs no restart.

The promoted candidate is the one measured: trained without the window. Refitting on the
window too would promote a model nobody measured.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from services.ingest import feature_log
from services.model import registry
from services.model.promotion import (
    Decision,
    Outcome,
    PromotionRule,
    decide,
    measure,
    window_refusal,
    window_summary,
)
from services.model.service import load_scorer
from services.model.split import hold_out_recent
from services.model.train import TrainConfig, labelled, train_rows
from shared import metrics
from shared.logs import log_event
from shared.settings import AlertSettings, RetrainSettings, ScoreSettings

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


def rule(settings: RetrainSettings) -> PromotionRule:
    return PromotionRule(
        margin_ap=settings.margin_ap,
        max_log_loss_rise=settings.max_log_loss_rise,
        min_viral_products=settings.min_viral_products,
    )


def report_dir(settings: RetrainSettings, root: Path) -> Path:
    return settings.report_dir or root / "reports"


def retrain(
    settings: RetrainSettings,
    cfg: TrainConfig | None = None,
    threshold: float | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """One run; its report (also written as JSON, path under `report`). A run that breaks
    is reported as `failed` and leaves the promoted model in place."""
    cfg = cfg or TrainConfig()
    threshold = AlertSettings().threshold if threshold is None else threshold
    if settings.model_dir is None:
        raise ValueError("no model registry: set PANTAU_RETRAIN_MODEL_DIR or PANTAU_MODEL_DIR")
    root = Path(settings.model_dir)
    started, clock = datetime.now(UTC), time.perf_counter()
    report: dict[str, Any] = {
        "started": started.isoformat().replace("+00:00", "Z"),
        "feature_log": str(settings.feature_log_dir),
        "registry": str(root),
        "rule": rule(settings).as_dict(),
        "window_days": settings.window_days,
        "history_days": settings.history_days,
        "alert_threshold": threshold,
    }
    try:
        decision = _run(settings, root, cfg, threshold, progress, report)
    except Exception as exc:
        log_event(log, "retrain: run failed", level=logging.ERROR, exc_info=True)
        decision = Decision(Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    report["decision"] = decision.as_dict()
    report["duration_s"] = round(time.perf_counter() - clock, 2)
    metrics.RETRAIN_RUNS.labels(outcome=decision.outcome.value).inc()
    metrics.RETRAIN_DURATION.set(report["duration_s"])
    metrics.RETRAIN_LAST_RUN_TIMESTAMP.labels(outcome=decision.outcome.value).set(time.time())
    report["report"] = str(_write_report(report_dir(settings, root), started, report))
    log_event(
        log,
        "retrain: %s (%s)",
        decision.outcome.value,
        decision.reason,
        outcome=decision.outcome.value,
        duration_s=report["duration_s"],
        report=report["report"],
        candidate=report.get("candidate", {}).get("version"),
        promoted=report.get("promoted", {}).get("version"),
    )
    return report


def _run(
    settings: RetrainSettings,
    root: Path,
    cfg: TrainConfig,
    threshold: float,
    progress: bool,
    report: dict[str, Any],
) -> Decision:
    if settings.feature_log_dir is None:
        return Decision(
            Outcome.REFUSED, "no feature log configured (PANTAU_INGEST_FEATURE_LOG_DIR)"
        )
    try:
        features = feature_log.read(
            Path(settings.feature_log_dir), int(settings.history_days * DAY_MS)
        )
    except FileNotFoundError as exc:
        return Decision(Outcome.REFUSED, str(exc))
    report["read"] = _span(features)
    log_event(log, "retrain: feature log read", **_prefixed("read", report["read"]))

    rows = labelled(features, "feature-log", cfg)
    del features
    lookahead = {"label": cfg.label.lookahead_ms}
    if cfg.heads_up is not None:
        lookahead["label_heads_up"] = replace(cfg.heads_up, base=cfg.label).lookahead_ms
    train, window = hold_out_recent(rows, int(settings.window_days * DAY_MS), lookahead)
    report["labelled_rows"] = rows.height
    report["training"] = {**_span(train), "positive_rows": int(train["label"].sum() or 0)}
    report["window"] = window_summary(window)
    log_event(
        log,
        "retrain: rows labelled and split",
        labelled_rows=rows.height,
        **_prefixed("training", report["training"]),
        **_prefixed("window", report["window"]),
    )
    refused = window_refusal(report["window"], rule(settings))
    if refused is not None:
        return refused

    source = {"kind": "retrain", "directory": str(settings.feature_log_dir)}
    try:
        directory = train_rows(train, root, source, [], cfg, progress)
    except ValueError as exc:  # too little data before the window for a time split
        return Decision(Outcome.REFUSED, f"no candidate could be trained: {exc}")
    candidate = registry.load_version(directory, compile=False)
    log_event(log, "retrain: candidate trained", model_version=candidate.version)

    promoted_before = registry.promoted_version(root)
    current = load_scorer(ScoreSettings(model_dir=root), compile=False)
    cand_scores = measure(candidate, window, threshold)
    cur_scores = measure(current, window, threshold)
    cur_scores["calibrated"] = getattr(current, "calibrated", True)
    report["candidate"] = {"version": candidate.version, **cand_scores}
    report["promoted"] = {"version": current.version, **cur_scores}
    for model, scores in (("candidate", cand_scores), ("promoted", cur_scores)):
        metrics.RETRAIN_WINDOW_AP.labels(model=model).set(_gauge(scores["average_precision"]))
        metrics.RETRAIN_WINDOW_AUC.labels(model=model).set(_gauge(scores["roc_auc"]))
    log_event(
        log,
        "retrain: models scored on the window",
        **_prefixed("candidate", report["candidate"]),
        **_prefixed("promoted", report["promoted"]),
    )

    decision = decide(report["window"], cand_scores, cur_scores, rule(settings))
    if decision.outcome is Outcome.PROMOTED:
        if registry.promoted_version(root) != promoted_before:
            return Decision(Outcome.KEPT, "another version was promoted during the run")
        registry.write_pointer(root, candidate.version)
    return decision


def _span(rows: pl.DataFrame) -> dict[str, Any]:
    return {
        "rows": rows.height,
        "products": rows["product_id"].n_unique() if rows.height else 0,
        "start_ms": rows["tick_ms"].min() if rows.height else None,
        "end_ms": rows["tick_ms"].max() if rows.height else None,
    }


def _prefixed(prefix: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{k}": v for k, v in fields.items()}


def _gauge(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _write_report(directory: Path, started: datetime, report: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path, n = directory / f"retrain-{started:%Y%m%dT%H%M%S}.json", 1
    while path.exists():
        n += 1
        path = directory / f"retrain-{started:%Y%m%dT%H%M%S}-{n}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def retrain_every(
    settings: RetrainSettings, stop: threading.Event, cfg: TrainConfig | None = None
) -> None:
    """Run now, then every `interval_h` hours (from one run's start to the next) until
    `stop` is set; metrics on `metrics_port`. A failed run is reported and the schedule
    goes on."""
    metrics.start_metrics_server(settings.metrics_port, "retrain")
    while True:
        started = time.monotonic()
        retrain(settings, cfg)
        if stop.wait(max(0.0, started + settings.interval_h * 3600 - time.monotonic())):
            return
