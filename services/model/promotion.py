"""Whether a retrained candidate replaces the promoted model: both scored on one recent
window of labelled rows that neither trained on. Pure: models, arrays and frames in, a
decision out. `pantau retrain` and `pantau model promote` both measure models here.

The window is the last days whose outcomes are known (`split.hold_out_recent`). Both
models are measured there with the same figures: average precision and ROC AUC of the
24 h label (ranking), log loss (calibration: alerts fire at a probability), and at the
alert threshold, per product, precision (products flagged at a row labelled 1 over
products flagged) and recall (the same over products with a row labelled 1). The
candidate is promoted only when its average precision beats the promoted model's by
`margin_ap` and its log loss is not worse by more than `max_log_loss_rise` (relative;
not held against the uncalibrated cold-start baseline). A window with fewer than
`min_viral_products` viral products is refused outright: average precision over one or
two episodes is luck.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from services.model.lgbm import LightGBMScorer
from services.model.metrics import test_metrics
from services.model.scorer import Scorer


class Outcome(StrEnum):
    PROMOTED = "promoted"  # the candidate is better on the window: it scores from now on
    KEPT = "kept"  # the candidate is not better: the promoted model stays
    REFUSED = "refused"  # no fair comparison possible (too few viral products, no data)
    FAILED = "failed"  # the run broke; the promoted model stays


OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)


@dataclass(frozen=True)
class PromotionRule:
    margin_ap: float = 0.01
    max_log_loss_rise: float = 0.05
    min_viral_products: int = 5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"outcome": self.outcome.value, "reason": self.reason}


def window_summary(window: pl.DataFrame) -> dict[str, Any]:
    """Rows, positive rows and viral products (with a positive row) of the window."""
    positive = window.filter(pl.col("label") == 1)
    return {
        "start_ms": window["tick_ms"].min() if window.height else None,
        "end_ms": window["tick_ms"].max() if window.height else None,
        "rows": window.height,
        "positive_rows": positive.height,
        "viral_products": positive["product_id"].n_unique(),
        "products": window["product_id"].n_unique(),
    }


def window_scores(window: pl.DataFrame, prob: np.ndarray, threshold: float) -> dict[str, Any]:
    """One model's figures on the window's rows (`prob` in row order)."""
    label = window["label"].to_numpy().astype(np.int8)
    row = test_metrics(np.asarray(prob, float), label)
    flags = window.select("product_id", "label").with_columns(hot=pl.Series(prob >= threshold))
    per_product = flags.group_by("product_id").agg(
        flagged=pl.col("hot").any(),
        viral=(pl.col("label") == 1).any(),
        caught=(pl.col("hot") & (pl.col("label") == 1)).any(),
    )
    flagged = int(per_product["flagged"].sum())
    viral = int(per_product["viral"].sum())
    caught = int(per_product["caught"].sum())
    return {
        "average_precision": row["average_precision"],
        "roc_auc": row["roc_auc"],
        "log_loss": row["log_loss"],
        "ece": row["ece"],
        "threshold": threshold,
        "flagged_products": flagged,
        "product_precision": caught / flagged if flagged else None,
        "product_recall": caught / viral if viral else None,
    }


def published_probability(scorer: Scorer, rows: pl.DataFrame) -> np.ndarray:
    """The probabilities the live scorer would publish for `rows` (its source fallback
    included: a model's own probability ignores the rows a fallback scores), no reasons."""
    if isinstance(scorer, LightGBMScorer):
        return scorer.score(rows, explain=False)["probability"].to_numpy()
    return scorer.score(rows)["probability"].to_numpy()


def measure(scorer: Scorer, window: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """One model's `window_scores` on the window, from the probabilities it publishes."""
    return window_scores(window, published_probability(scorer, window), threshold)


def window_refusal(summary: dict[str, Any], rule: PromotionRule) -> Decision | None:
    """A refusal when the window cannot tell models apart (checked before training)."""
    viral = summary["viral_products"]
    if viral >= max(1, rule.min_viral_products) and summary["positive_rows"] < summary["rows"]:
        return None
    return Decision(
        Outcome.REFUSED,
        f"the window has {viral} viral products ({summary['positive_rows']} positive rows "
        f"of {summary['rows']}); at least {rule.min_viral_products} are needed to compare "
        "models",
    )


def decide(
    summary: dict[str, Any],
    candidate: dict[str, Any],
    current: dict[str, Any] | None,
    rule: PromotionRule,
) -> Decision:
    """Promote, keep or refuse, from the window's summary and both models' `window_scores`
    (`current` None: nothing scores yet, so a candidate on a fair window is promoted;
    `current["calibrated"]` False: its log loss is not held against the candidate)."""
    refused = window_refusal(summary, rule)
    if refused is not None:
        return refused
    cand_ap = candidate["average_precision"]
    if current is None:
        return Decision(Outcome.PROMOTED, f"no model scores yet; candidate AP {cand_ap:.4f}")
    cur_ap = current["average_precision"]
    if cand_ap < cur_ap + rule.margin_ap:
        return Decision(
            Outcome.KEPT,
            f"candidate AP {cand_ap:.4f} does not beat the promoted model's {cur_ap:.4f} "
            f"by the margin {rule.margin_ap}",
        )
    cand_ll, cur_ll = candidate["log_loss"], current["log_loss"]
    # The cold-start baseline's "probability" is an alert strength, not a probability:
    # against it only the ranking counts.
    if current.get("calibrated", True) and cand_ll > cur_ll * (1 + rule.max_log_loss_rise):
        return Decision(
            Outcome.KEPT,
            f"candidate AP {cand_ap:.4f} beats {cur_ap:.4f} but its log loss {cand_ll:.4f} "
            f"is more than {rule.max_log_loss_rise:.0%} above the promoted model's "
            f"{cur_ll:.4f}: its probabilities are worse calibrated",
        )
    return Decision(
        Outcome.PROMOTED,
        f"candidate AP {cand_ap:.4f} beats the promoted model's {cur_ap:.4f} by at least "
        f"{rule.margin_ap}; log loss {cand_ll:.4f} against {cur_ll:.4f}",
    )
