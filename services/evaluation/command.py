"""Glue for `pantau evaluate`: run the evaluation and write JSON, markdown and figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from services.simulator import ScenarioConfig

from .evaluate import evaluate, load_model, write_json
from .figures import TIMELINE_COLUMNS, precision_vs_lead, timelines
from .history import evaluate_history
from .report import markdown, markdown_files
from .text import text_run_report


@dataclass(frozen=True)
class Outputs:
    report: dict[str, Any]
    json_path: Path
    markdown_path: Path
    figures: tuple[Path, ...]


def run_evaluation(
    scenario: str | ScenarioConfig,
    seed: int,
    json_path: Path,
    model_dir: Path | None = None,
    tune_seed: int | None = None,
    root: Path = Path("var/eval"),
    partitions: int = 4,
    progress: bool = False,
) -> Outputs:
    """Writes `json_path`, the same stem as .md, and `<stem>-*.png` beside it."""
    report, alerts, test = evaluate(
        scenario, seed, root, model_dir, tune_seed, partitions, progress
    )
    write_json(report, json_path)
    md = json_path.with_suffix(".md")
    md.write_text(markdown(report))
    stem = json_path.with_suffix("")
    figures = (
        precision_vs_lead(report, Path(f"{stem}-precision-lead.png")),
        timelines(
            test.columns(TIMELINE_COLUMNS), test.truth, alerts, Path(f"{stem}-timelines.png")
        ),
    )
    return Outputs(report, json_path, md, figures)


def run_history_evaluation(
    events: Path,
    truth: Path,
    json_path: Path,
    model_dir: Path | None = None,
    min_events_24h: float | None = None,
    root: Path = Path("var/eval"),
    partitions: int = 4,
    progress: bool = False,
) -> Outputs:
    """`evaluate --events --truth`: writes `json_path` and the same stem as .md.
    `min_events_24h`: the growth ratios' volume floor, the baselines' and the model's
    fallback's alike (None: none for the baselines, the deployment's for the model)."""
    model = load_model(model_dir, None, min_events_24h) if model_dir is not None else None
    floor = min_events_24h or 0.0
    report = evaluate_history(events, truth, root, model, floor, partitions, progress)
    text = text_run_report(events, orjson.loads(truth.read_bytes()))
    if text is not None:  # a `pantau simulate --text` run: matching and emerging-term lead
        report["text"] = text
    write_json(report, json_path)
    md = json_path.with_suffix(".md")
    md.write_text(markdown_files(report))
    return Outputs(report, json_path, md, ())
