"""Calibration: isotonic regression from model margins to probabilities, and its check.

Centred isotonic regression (Oron & Flournoy, 2017): each block of the isotonic fit
(margins pooled to one rate) becomes one point, its mean margin and its rate, and
probabilities are interpolated between those points. Plain isotonic steps are flat, so
a wide block maps rows of very different margins to one probability; an alert threshold
then sits either below a whole block or above it, and a retrained model moves it across
whole blocks. Between centres the probability rises with the margin, so the ranking the
model learned survives calibration. Stored as the points and applied with `np.interp`,
so scoring needs no scikit-learn object and costs one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Isotonic:
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def fit(cls, margin: np.ndarray, label: np.ndarray) -> Isotonic:
        # Training only: the scorer applies the points and runs without scikit-learn.
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(margin, label)
        rate, block = np.unique(iso.predict(margin), return_inverse=True)
        centre = np.bincount(block, weights=margin) / np.bincount(block)
        return cls(centre, rate)

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        rates: np.ndarray = np.interp(margin, self.x, self.y)
        return rates

    def as_dict(self) -> dict[str, list[float]]:
        return {"x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Isotonic:
        return cls(np.asarray(d["x"], float), np.asarray(d["y"], float))


def calibrations(stored: dict[str, dict[str, list[float]]] | None) -> dict[str, Isotonic]:
    """Each kind of source's own calibration from its stored form (a version's
    `calibration_by_source`; None or empty: no kind has one)."""
    return {kind: Isotonic.from_dict(c) for kind, c in (stored or {}).items()}


def by_source(
    margin: np.ndarray,
    kinds: np.ndarray | None,
    overall: Isotonic,
    own: dict[str, Isotonic],
) -> np.ndarray:
    """Probabilities with each kind of source's own calibration where it has one (`own`,
    keyed by `services.model.sources.SOURCE_KINDS`; `kinds`: each row's), else `overall`.
    One booster ranks every source, but how often a margin comes true differs by source: a
    daily counter's rise looks steep at margins where a per-action stream's is ordinary."""
    prob = overall(margin)
    if kinds is None:
        return prob
    for kind, calibration in own.items():
        rows = kinds == kind
        if rows.any():
            prob[rows] = calibration(margin[rows])
    return prob


def expected_calibration_error(prob: np.ndarray, label: np.ndarray, bins: int = 15) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by rows."""
    if prob.size == 0:
        raise ValueError("no rows to measure calibration on")
    idx = np.minimum((prob * bins).astype(int), bins - 1)
    count = np.bincount(idx, minlength=bins)
    gap = np.abs(
        np.bincount(idx, weights=label, minlength=bins)
        - np.bincount(idx, weights=prob, minlength=bins)
    )
    return float(gap.sum() / count.sum())
