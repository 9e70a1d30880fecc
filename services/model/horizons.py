"""The heads-up horizon beside the 24 h one: a second booster and calibration per version.

A version directory holds the 24 h model (`model.txt`, calibration in the metadata) and,
when training could fit it, the heads-up model: `model_72h.txt` with its label definition,
calibration, split and test metrics under `horizons["72h"]` in `metadata.json`. Both are
trained on the same labelled rows; the heads-up label asks whether the 24 h label turns
1 within the next 48 h (`labels.heads_up_label`), so the viral day lies within 72 h.
Its inputs may differ from the 24 h model's (`features` in its entry, read by the scorer;
a version without that entry gives both boosters the version's `features`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import polars as pl

from services.model.calibration import Isotonic, calibrations

HEADS_UP = "72h"
HEADS_UP_FILE = "model_72h.txt"


@dataclass(frozen=True)
class Horizon:
    """A trained horizon: booster and calibration."""

    booster: lgb.Booster
    calibration: Isotonic
    by_source: dict[str, Isotonic] = field(default_factory=dict)  # `calibration.by_source`
    columns: list[str] | None = None  # its inputs; None: the 24 h model's


def fit_heads_up(
    rows: pl.DataFrame, cfg: Any, progress: bool
) -> tuple[Horizon | None, dict[str, Any]]:
    """The heads-up model from rows carrying `label_heads_up`, and its metadata entry. None
    (with the reason in the entry) when the rows cannot support it: too short a span for
    its look-ahead, or no viral rows in a part."""
    from services.model.inputs import HEADS_UP_INPUT_COLUMNS, INPUT_COLUMNS
    from services.model.train import fit  # training-side only

    spec = cfg.heads_up
    columns = HEADS_UP_INPUT_COLUMNS if cfg.heads_up_day_before else INPUT_COLUMNS
    known = rows.filter(pl.col("label_heads_up").is_not_null()).with_columns(
        label=pl.col("label_heads_up")
    )
    try:
        booster, calibration, split, report = fit(
            known, cfg, progress, spec.lookahead_ms, columns, cfg.heads_up_members
        )
    except ValueError as exc:
        return None, {"label": spec.as_dict(), "skipped": str(exc)}
    own = report.pop("calibration_by_source", {})
    entry = {
        "model_file": HEADS_UP_FILE,
        "features": columns,
        "label": spec.as_dict(),
        "split": split.as_dict(),
        "metrics": report,
        "calibration": calibration.as_dict(),
        "calibration_by_source": own,
    }
    return Horizon(booster, calibration, calibrations(own), columns), entry


def save(directory: Path, horizon: Horizon | None) -> None:
    if horizon is not None:
        horizon.booster.save_model(str(directory / HEADS_UP_FILE))


def load(directory: Path, metadata: dict[str, Any]) -> Horizon | None:
    """The heads-up horizon of a version, or None for a version without one."""
    entry = (metadata.get("horizons") or {}).get(HEADS_UP) or {}
    if "model_file" not in entry:
        return None
    booster = lgb.Booster(model_file=str(directory / entry["model_file"]))
    return Horizon(
        booster,
        Isotonic.from_dict(entry["calibration"]),
        calibrations(entry.get("calibration_by_source")),
        list(entry["features"]) if "features" in entry else None,
    )
