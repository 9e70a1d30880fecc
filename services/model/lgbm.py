"""The trained scorer: LightGBM margins, isotonic calibration, reasons for likely alerts.

Scoring is vectorised end to end (one matrix, one `predict`, one `np.interp`); only rows
at or above `explain_threshold` get contributions (`pred_contrib`) and phrases, so the
per-row Python is bounded by the number of likely alerts, not by the batch.

Margins come from the model compiled to machine code by `lleaves` (several times faster
than LightGBM's tree walk on one core; same margins within ~1e-14) once it is ready.
Compiling takes a second or two, so it runs on a background thread and LightGBM's own
`predict` scores meanwhile: a hot-reloaded version starts scoring at once. Where
`lleaves` is missing or fails to compile, LightGBM's `predict` simply stays in use.
Contributions always come from LightGBM (`pred_contrib`).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import polars as pl

from services.model import horizons
from services.model.calibration import Isotonic, by_source, calibrations
from services.model.inputs import add_derived, matrix
from services.model.labels import HOUR_MS
from services.model.phrases import reasons
from services.model.sources import RatioFallback, source_kinds
from shared.logs import log_event
from shared.scores import ALERT_THRESHOLD, SCORE_SCHEMA

REASONS = SCORE_SCHEMA["reasons"]
OUTPUTS = {"probability", "probability_72h", "score", "model_version", "reasons"}
PASSTHROUGH = [c for c in SCORE_SCHEMA if c not in OUTPUTS]
_COMPILE_LOCK = threading.Lock()  # LLVM's per-process set-up is not meant to race
log = logging.getLogger(__name__)


class Compiled(Protocol):
    """A compiled forest (`lleaves.Model`): raw margins of float64 C-order rows."""

    def predict(self, data: np.ndarray, n_jobs: int | None = None) -> np.ndarray: ...


def compile_model(model_file: Path) -> Compiled:
    """The model compiled to raw margins (`lleaves`); raises when that is impossible."""
    import lleaves  # optional at run time: without it LightGBM's predict scores

    with _COMPILE_LOCK:
        model = lleaves.Model(model_file=str(model_file))
        model.compile(raw_score=True)
    compiled: Compiled = model  # lleaves has no types; this is the part the scorer uses
    return compiled


class LightGBMScorer:
    """A registered model version ready to score feature rows (shared.features schema)."""

    def __init__(
        self,
        version: str,
        booster: lgb.Booster,
        columns: list[str],
        calibration: Isotonic,
        created_s: float = 0.0,
        explain_threshold: float = ALERT_THRESHOLD,
        num_threads: int = 1,
        min_history_h: float = 0.0,
        heads_up: horizons.Horizon | None = None,
        fallback: RatioFallback | None = None,
        by_source: dict[str, Isotonic] | None = None,
    ) -> None:
        """`min_history_h`: a product seen for less long scores as the least likely (`margin`);
        `heads_up`: the 72 h horizon (None: score rows carry a null `probability_72h`);
        `fallback`: what scores the sources the model is not fit for (`sources`);
        `by_source`: the 24 h calibrations of kinds of source calibrated on their own."""
        self.version, self.booster, self.columns = version, booster, columns
        self.by_source = by_source or {}
        self.heads_up, self.fallback = heads_up, fallback
        self.min_history_h = min_history_h
        self.calibration, self.created_s = calibration, created_s
        self.explain_threshold, self.num_threads = explain_threshold, num_threads
        self.compiled: Compiled | None = None
        self.compile_s: float | None = None  # seconds the compile took, once it succeeded
        self.compiling: threading.Thread | None = None

    @classmethod
    def load(
        cls, directory: Path, metadata: dict[str, Any], compile: bool = True, **kwargs: Any
    ) -> LightGBMScorer:
        """`compile`: start compiling the model in the background (see the module doc)."""
        booster = lgb.Booster(model_file=str(directory / "model.txt"))
        scorer = cls(
            metadata["version"],
            booster,
            list(metadata["features"]),
            Isotonic.from_dict(metadata["calibration"]),
            float(metadata.get("created_s", 0.0)),
            min_history_h=metadata.get("label", {}).get("min_history_ms", 0) / HOUR_MS,
            heads_up=horizons.load(directory, metadata),
            fallback=RatioFallback.from_dict(metadata["source_fallback"])
            if metadata.get("source_fallback")
            else None,
            by_source=calibrations(metadata.get("calibration_by_source")),
            **kwargs,
        )
        if compile:
            scorer.start_compile(directory / "model.txt")
        return scorer

    def start_compile(self, model_file: Path) -> None:
        def run() -> None:
            start = time.perf_counter()
            try:
                compiled = compile_model(model_file)
            except Exception as exc:  # ImportError included: LightGBM's predict stays
                log_event(
                    log,
                    "model %s not compiled (%r): LightGBM predicts",
                    self.version,
                    exc,
                    level=logging.WARNING,
                    model_version=self.version,
                )
                return
            self.compile_s = time.perf_counter() - start
            self.compiled = compiled
            log_event(
                log,
                "model %s compiled in %.2f s",
                self.version,
                self.compile_s,
                model_version=self.version,
            )

        self.compiling = threading.Thread(target=run, name=f"compile-{self.version}", daemon=True)
        self.compiling.start()

    def wait_compiled(self, timeout_s: float | None = None) -> bool:
        """Whether the compiled model is in use, after waiting for a running compile."""
        if self.compiling is not None:
            self.compiling.join(timeout_s)
        return self.compiled is not None

    def margin(self, features: pl.DataFrame) -> np.ndarray:
        """The model's raw output; -inf (the least likely) for a product seen for less than
        the label's minimum history. Its own normal is not known yet, so training had no
        label for such rows and the model's output on them is a guess outside its range:
        at the start of a log every product is new and its first events look like a rise.
        """
        return self.margins(features)[0]

    def margins(self, features: pl.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The 24 h margin (`margin`) and the heads-up one (None without that horizon), from
        one feature matrix (over both boosters' inputs, when they differ); both -inf for a
        product too new to judge."""
        x, x_ahead = self._matrices(features)
        if not len(x):
            return np.empty(0), None if self.heads_up is None else np.empty(0)
        if (compiled := self.compiled) is not None:
            margin = np.asarray(
                compiled.predict(x.astype(np.float64), n_jobs=self.num_threads), float
            )
        else:
            margin = np.asarray(
                self.booster.predict(x, raw_score=True, num_threads=self.num_threads), float
            )
        ahead = None
        if self.heads_up is not None:
            ahead = np.asarray(
                self.heads_up.booster.predict(
                    x_ahead, raw_score=True, num_threads=self.num_threads
                ),
                float,
            )
        if self.min_history_h and "hours_since_first_seen" in features.columns:
            young = features["hours_since_first_seen"].to_numpy() < self.min_history_h
            margin[young] = -np.inf
            if ahead is not None:
                ahead[young] = -np.inf
        return margin, ahead

    def _matrices(self, features: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The 24 h model's input rows and the heads-up model's (the same array when their
        inputs are the same)."""
        own = self.heads_up.columns if self.heads_up is not None else None
        if own is None or own == self.columns:
            x = matrix(features, self.columns)
            return x, x
        union = list(dict.fromkeys([*self.columns, *own]))
        x_all = matrix(features, union)
        at = {c: i for i, c in enumerate(union)}
        # Fancy indexing copies into C order, as `predict` reads it.
        return x_all[:, [at[c] for c in self.columns]], x_all[:, [at[c] for c in own]]

    def probability(self, features: pl.DataFrame) -> np.ndarray:
        return by_source(
            self.margin(features), self._kinds(features), self.calibration, self.by_source
        )

    def _kinds(self, features: pl.DataFrame) -> np.ndarray | None:
        """Each row's kind of source, when some kind has its own calibration."""
        if self.by_source or (self.heads_up is not None and self.heads_up.by_source):
            return source_kinds(features)
        return None

    @property
    def fallback_version(self) -> str:
        """The `model_version` of the rows its ratio fallback scores: a baseline's (its
        strength is no chance), naming this version after `@`."""
        return f"{RatioFallback.version}@{self.version}"

    def score(self, features: pl.DataFrame, explain: bool = True) -> pl.DataFrame:
        """Probability, score and version per row; reasons for the likely alerts."""
        margin, ahead = self.margins(features)
        kinds = self._kinds(features)
        prob = by_source(margin, kinds, self.calibration, self.by_source)
        prob_72h = (
            None
            if ahead is None or self.heads_up is None
            else by_source(ahead, kinds, self.heads_up.calibration, self.heads_up.by_source)
        )
        score = 1.0 / (1.0 + np.exp(-margin))
        version = np.full(len(prob), self.version, dtype=object)
        own = np.ones(len(prob), bool)  # rows the model scores itself
        if self.fallback is not None and len(prob):
            own = ~self.fallback.rows(features)
            if not own.all():
                theirs = self.fallback.score(features.filter(pl.Series(~own)))
                prob[~own] = theirs["probability"].to_numpy()
                if prob_72h is None:
                    prob_72h = np.full(len(prob), np.nan)
                prob_72h[~own] = theirs["probability_72h"].to_numpy()
                score[~own] = theirs["score"].to_numpy()
                version[~own] = self.fallback_version
        scored = features.select(
            pl.col(c) if c in features else pl.lit(None, SCORE_SCHEMA[c]).alias(c)
            for c in PASSTHROUGH
        ).with_columns(
            probability=pl.Series(prob, dtype=pl.Float64),
            probability_72h=pl.Series(prob_72h, dtype=pl.Float64).fill_nan(None)
            if prob_72h is not None
            else pl.lit(None, pl.Float64),
            score=pl.Series(score, dtype=pl.Float64),
            model_version=pl.Series(version, dtype=pl.String),
            reasons=pl.lit([], dtype=REASONS),
        )
        hot = np.flatnonzero(own & (prob >= self.explain_threshold) & explain)
        if hot.size:
            why = self.explain(features[hot])
            scored = (
                scored.with_row_index("_row")
                .join(
                    pl.DataFrame({"_row": pl.Series(hot, dtype=pl.UInt32), "_why": why}),
                    on="_row",
                    how="left",
                )
                .with_columns(reasons=pl.coalesce("_why", "reasons"))
            )
        return scored.select(SCORE_SCHEMA.keys())

    def explain(self, rows: pl.DataFrame) -> pl.Series:
        """Each row's top contributions (LightGBM `pred_contrib`) in words."""
        rows = add_derived(rows)  # once: for `matrix` and for the phrases' figures
        contrib = self.booster.predict(
            matrix(rows, self.columns), pred_contrib=True, num_threads=self.num_threads
        )
        why = [
            reasons(self.columns, c[:-1].tolist(), values)
            for c, values in zip(contrib, rows.iter_rows(named=True), strict=True)
        ]
        return pl.Series("_why", why, dtype=REASONS)
