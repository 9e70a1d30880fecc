"""Expected calibration error by hand, and isotonic calibration lowering it."""

from __future__ import annotations

import numpy as np
import pytest

from services.model.calibration import Isotonic, expected_calibration_error


def test_ece_by_hand() -> None:
    # Two bins of 10 bins: 0.05 (4 rows, 1 positive) and 0.95 (1 row, positive).
    prob = np.array([0.05, 0.05, 0.05, 0.05, 0.95])
    label = np.array([1, 0, 0, 0, 1.0])
    expected = (4 * abs(0.25 - 0.05) + 1 * abs(1.0 - 0.95)) / 5
    assert expected_calibration_error(prob, label, bins=10) == pytest.approx(expected)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0


def test_isotonic_fixes_a_distorted_score() -> None:
    rng = np.random.default_rng(1)
    true_p = rng.uniform(0, 1, 40_000)
    label = (rng.uniform(0, 1, true_p.size) < true_p).astype(float)
    margin = 3 * np.log(true_p / (1 - true_p)) + 2  # monotone but badly calibrated
    raw = 1 / (1 + np.exp(-margin))
    fit, check = slice(0, 20_000), slice(20_000, None)
    iso = Isotonic.fit(margin[fit], label[fit])
    assert expected_calibration_error(raw[check], label[check]) > 0.1
    assert expected_calibration_error(iso(margin[check]), label[check]) < 0.03
    again = Isotonic.from_dict(iso.as_dict())
    assert np.array_equal(again(margin), iso(margin))


def test_probability_rises_with_the_margin_inside_a_pooled_block() -> None:
    # Alternating labels pool the middle into one isotonic block at rate 0.5; plain steps
    # would give every margin in it the same probability and erase the model's ranking.
    margin = np.arange(100.0)
    iso = Isotonic.fit(margin, (np.arange(100) % 2).astype(float))
    p = iso(np.array([20.0, 40.0, 60.0, 80.0]))
    assert np.all(np.diff(p) > 0)
    assert iso(np.array([49.5]))[0] == pytest.approx(0.5)
    assert np.all(np.diff(iso(np.linspace(-10, 110, 500))) >= 0)
