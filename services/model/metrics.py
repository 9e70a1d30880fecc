"""Row-level figures of a probability model on labelled rows (the registry's test metrics)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from services.model.calibration import expected_calibration_error


def test_metrics(prob: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    both = 0 < label.sum() < label.size
    return {
        "rows": int(label.size),
        "positive_rate": float(label.mean()),
        "average_precision": float(average_precision_score(label, prob)) if both else None,
        "roc_auc": float(roc_auc_score(label, prob)) if both else None,
        "brier": float(brier_score_loss(label, prob)),
        "log_loss": float(log_loss(label, np.clip(prob, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "ece": expected_calibration_error(prob, label.astype(float)),
        "mean_probability": float(prob.mean()),
    }
