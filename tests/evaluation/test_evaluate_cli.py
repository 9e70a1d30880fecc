"""`pantau simulate` then `pantau evaluate` on `small`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.evaluation.matching import DECOY_KINDS

PANTAU = [sys.executable, "-m", "services.cli"]


def _pantau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PANTAU, *args], capture_output=True, text=True, timeout=600)


def test_same_seed_for_tuning_and_evaluation_is_refused(tmp_path: Path) -> None:
    done = _pantau(
        "evaluate",
        "--scenario",
        "small",
        "--seed",
        "3",
        "--tune-seed",
        "3",
        "--work",
        str(tmp_path),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert done.returncode == 2
    assert "must differ" in done.stderr
    assert not (tmp_path / "r.json").exists()


@pytest.mark.slow
def test_simulate_then_evaluate_small(tmp_path: Path) -> None:
    sim = _pantau(
        "simulate", "--scenario", "small", "--seed", "21", "--out", str(tmp_path / "small-21")
    )
    assert sim.returncode == 0, sim.stderr
    report_path = tmp_path / "out" / "small.json"
    done = _pantau(
        "evaluate",
        "--scenario",
        "small",
        "--seed",
        "21",
        "--tune-seed",
        "22",
        "--work",
        str(tmp_path),
        "--partitions",
        "1",
        "--json",
        str(report_path),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())

    # Held out: tuned on another seed's run, evaluated on the simulated one (reused).
    assert report["evaluation_seed"] == 21 and report["tuning_seed"] == 22
    assert report["replay"]["evaluation"]["seed"] == 21
    assert (tmp_path / "small-22" / "truth.json").exists()
    assert set(report["methods"]) == {"growth_ratio", "rolling_z", "logistic"}
    for name, method in report["methods"].items():
        assert method["tuned_on_seed"] == 22, name
        o = method["overall"]
        assert o["early"] + o["late"] + o["false"] == o["alert_episodes"]
        assert o["viral_episodes"] >= 2
        assert 0 <= o["caught_early"] <= o["viral_episodes"]
        if o["alert_episodes"]:
            assert o["precision"] == pytest.approx(o["early"] / o["alert_episodes"])
        if o["lead_h_median"] is not None:
            assert o["lead_h_p25"] <= o["lead_h_median"]
            assert 0 <= o["lead_h_median"] <= 24 * 6
        assert set(method["per_decoy_kind"]) == set(DECOY_KINDS)
        assert len(method["tuning_sweep"]) == len(method["evaluation_sweep"]) > 3
    # The baselines differ from each other: the tuning picked real operating points.
    assert len({m["overall"]["alert_episodes"] for m in report["methods"].values()}) > 1

    markdown = report_path.with_suffix(".md").read_text()
    assert "| growth ratio 6h/24h |" in markdown and "never share a seed" in markdown
    for png in ("small-precision-lead.png", "small-timelines.png"):
        data = (report_path.parent / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
