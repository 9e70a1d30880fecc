"""The model registry: one directory per version under a root, and a `promoted` pointer.

    ROOT/<version>/model.txt       LightGBM native text model
    ROOT/<version>/metadata.json   features (in order), label definition, split, seeds,
                                   data fingerprint, test metrics, calibration, versions
    ROOT/<version>/test.parquet    the version's test rows, to compare models on one window
    ROOT/promoted                  the promoted version's name (replaced atomically)

A default version ships inside the package (`DEFAULT_DIR`, built by `pantau model
build-default`): it scores whenever no version is promoted, so a fresh install gives
calibrated chances from its first tick. The cold-start growth ratio scores only when the
default is missing or fails to load.

The scorer polls `promoted` between batches; writing it with `os.replace` means a reader
sees the old name or the new one, never half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from services.model.baseline import cold_start_scorer
from services.model.lgbm import LightGBMScorer
from services.model.scorer import Scorer
from shared.logs import log_event
from shared.settings import AlertSettings

POINTER = "promoted"
DEFAULT_DIR = Path(__file__).parent / "default"  # the shipped version (package data)
log = logging.getLogger(__name__)


class PromotionRefused(ValueError):
    """The candidate is worse than the promoted model on the candidate's test window."""


def read_metadata(version_dir: Path) -> dict[str, Any]:
    path = version_dir / "metadata.json"
    if not path.is_file():
        raise FileNotFoundError(f"{version_dir}: not a model version (no metadata.json)")
    metadata: dict[str, Any] = json.loads(path.read_bytes())
    return metadata


def load_version(path: Path, **kwargs: Any) -> LightGBMScorer:
    """The scorer stored in one version directory (ValueError when there is no directory)."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: no such model directory")
    return LightGBMScorer.load(path, read_metadata(path), **kwargs)


def unpromoted_scorer(directory: Path = DEFAULT_DIR, **kwargs: Any) -> Scorer:
    """What scores while no version is promoted: the shipped default version, or the
    uncalibrated cold start when it is missing or fails to load (logged, never raised)."""
    try:
        return load_version(directory, **kwargs)
    except Exception:
        log_event(
            log,
            "default model failed to load; scoring with the cold-start growth ratio",
            level=logging.WARNING,
            exc_info=True,
            directory=str(directory),
        )
        return cold_start_scorer()


def list_versions(root: Path) -> list[dict[str, Any]]:
    """Every version's metadata, oldest first, with `promoted` set on the promoted one."""
    current = promoted_version(root)
    found = []
    for d in sorted(p for p in Path(root).glob("*/metadata.json")):
        meta = read_metadata(d.parent)
        found.append({**meta, "promoted": meta["version"] == current})
    return sorted(found, key=lambda m: (m.get("created_s", 0), m["version"]))


def promoted_version(root: Path) -> str | None:
    pointer = Path(root) / POINTER
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def promoted_dir(root: Path) -> Path | None:
    name = promoted_version(root)
    return Path(root) / name if name else None


@dataclass(frozen=True)
class Comparison:
    """Both models' `promotion.window_scores` on the candidate's test rows (`current` None:
    no other version is promoted)."""

    window: str
    rows: int
    candidate: dict[str, Any]
    current: dict[str, Any] | None

    @property
    def candidate_ap(self) -> float:
        return float(self.candidate["average_precision"])

    @property
    def current_ap(self) -> float | None:
        return None if self.current is None else float(self.current["average_precision"])

    @property
    def worse(self) -> bool:
        return self.current_ap is not None and self.candidate_ap < self.current_ap - 1e-9


def compare(root: Path, candidate: str, threshold: float | None = None) -> Comparison:
    """The candidate and the promoted model measured on the candidate's test rows (the most
    recent labelled window either has seen) as `pantau retrain` measures them
    (`promotion.measure`), products flagged at `threshold` (default: the alert settings')."""
    from services.model.promotion import measure  # training-side (scikit-learn)

    cand_dir = Path(root) / candidate
    test = pl.read_parquet(cand_dir / "test.parquet")
    positive = int(test["label"].sum())
    if not 0 < positive < test.height:
        raise ValueError(
            f"{candidate}: its test window has {positive} positive rows of {test.height}; "
            "models cannot be compared on it"
        )
    threshold = AlertSettings().threshold if threshold is None else threshold
    cand = measure(load_version(cand_dir, compile=False), test, threshold)
    current = promoted_dir(root)
    if current is None or current.name == candidate:
        return Comparison(_window(cand_dir), test.height, cand, None)
    cur = measure(load_version(current, compile=False), test, threshold)
    return Comparison(_window(cand_dir), test.height, cand, cur)


def _window(version_dir: Path) -> str:
    split = read_metadata(version_dir)["split"]
    return f"ticks {split['test_start_ms']}..{split['end_ms']}"


def promote(root: Path, version: str, force: bool = False) -> Comparison:
    """Point `root/promoted` at `version`; refused when it is worse than the current one on
    the same recent test window, unless `force`."""
    version_dir = Path(root) / version
    read_metadata(version_dir)
    result = compare(root, version)
    if result.worse and not force:
        raise PromotionRefused(
            f"{version} is worse than the promoted model on {result.window} "
            f"(average precision {result.candidate_ap:.4f} < {result.current_ap:.4f}); "
            "use --force to promote it anyway"
        )
    write_pointer(root, version)
    return result


def write_pointer(root: Path, version: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".promoted-")
    with os.fdopen(fd, "w") as f:
        f.write(version + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, Path(root) / POINTER)


def summary(meta: dict[str, Any]) -> dict[str, Any]:
    """The few fields `pantau model list` shows."""
    test = meta.get("metrics", {}).get("test", {})
    return {
        "version": meta["version"],
        "promoted": meta.get("promoted", False),
        "created": meta.get("created"),
        "source": meta.get("source", {}).get("kind"),
        "test_average_precision": _round(test.get("average_precision")),
        "test_ece": _round(test.get("ece")),
    }


def _round(x: float | None) -> float | None:
    return None if x is None or np.isnan(x) else round(x, 4)
