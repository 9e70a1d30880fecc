"""`pantau evaluate --events --truth` on a small hand-made daily-counter history.

tests/data/evaluate: six videos' daily views over 30 days (three flat, two with a viral
rise, one new upload whose own burst is to be ignored), and their truth in the
documented format. Figures worked out by hand from the counts (see each assertion).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.evaluation.evaluate import load_model
from services.evaluation.history import evaluate_history

DATA = Path(__file__).parents[1] / "data" / "evaluate"
PANTAU = [sys.executable, "-m", "services.cli"]


def _pantau(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PANTAU, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("history")
    done = _pantau(
        "evaluate",
        "--events", str(DATA / "events.ndjson"),
        "--truth", str(DATA / "truth.json"),
        "--partitions", "1",
        "--work", str(out / "work"),
        "--json", str(out / "report.json"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| growth ratio 24h/week" in (out / "report.md").read_text()
    return json.loads((out / "report.json").read_text())


def _point(report: dict, method: str, value: float) -> dict:
    [point] = [p for p in report["points"] if p["method"] == method and p["value"] == value]
    return point["overall"]


def test_the_report_counts_the_truths_products_and_watched_days(report: dict) -> None:
    assert report["products"] == 6 and report["viral_episodes"] == 2
    # 30 days each, less the ignored days: flat-b 14, viral-b 9, the upload 26.
    assert report["product_days"] == pytest.approx(6 * 30 - 14 - 9 - 26)
    assert report["replay"]["events"] == 165
    assert report["replay"]["feature_rows"] > 0
    assert "text" not in report  # no post text, no catalogue beside the events


def test_day_over_week_growth_catches_both_rises_ahead_of_the_peak(report: dict) -> None:
    # viral-a: 1,000 a day, then 1,500, 4,000 (day 19: 3.7x the week), 12,000 (day 20: 11x),
    # peak 30,000 on day 21. viral-b: 1,500 a day, then 2,500, 7,000 (4.2x, day 15),
    # 20,000 (7.7x, day 16), peak on day 17. Alerts come at the first tick after noon.
    at_3x, at_5x = _point(report, "growth_day", 3.0), _point(report, "growth_day", 5.0)
    for point, lead_h in ((at_3x, 48), (at_5x, 24)):
        assert (point["alert_episodes"], point["early"], point["false"]) == (2, 2, 0)
        assert point["recall"] == 1.0
        assert point["lead_h_median"] == pytest.approx(lead_h, abs=0.2)


def test_the_six_hour_ratio_is_fooled_by_daily_counters(report: dict) -> None:
    """Each day's one counter event makes the last 6 h look like the whole day: false
    alerts on every kind of product, as often as the week's confident cool-down allows."""
    six = _point(report, "growth_6h", 4.0)
    assert six["false"] >= 10 and six["precision"] < 0.2


def test_a_gzipped_events_file_gives_the_same_report(tmp_path: Path) -> None:
    plain = DATA / "events.ndjson"
    packed = tmp_path / "events.ndjson.gz"
    with open(plain, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = evaluate_history(plain, DATA / "truth.json", tmp_path / "a", partitions=1)
    b = evaluate_history(packed, DATA / "truth.json", tmp_path / "b", partitions=1)
    assert a["points"] and [p["overall"] for p in a["points"]] == [
        p["overall"] for p in b["points"]
    ]
    assert a["replay"]["events"] == b["replay"]["events"] == 165


def test_events_without_truth_are_refused(tmp_path: Path) -> None:
    done = _pantau("evaluate", "--events", str(DATA / "events.ndjson"), "--work", str(tmp_path))
    assert done.returncode == 2 and "--truth" in done.stderr


def test_a_malformed_truth_is_refused_with_its_reason(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"start": 0, "end": 9, "products": {"p": {"peak": 3}}}))
    done = _pantau(
        "evaluate", "--events", str(DATA / "events.ndjson"), "--truth", str(truth),
        "--work", str(tmp_path), "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert done.returncode == 2 and "onset and a peak" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_min_events_holds_the_models_ratio_to_the_baselines_floor(tmp_path: Path) -> None:
    """Every row here is a daily counter, which the shipped default scores by its ratio
    fallback (5x confident). At the deployment's floor (200 a day) it catches both rises,
    as the 5x baseline does without a floor; at 15,000 a day viral-a's 5x day (12,000)
    no longer counts for either, and the model's alerts are the baseline's."""
    default = Path(__file__).parents[2] / "services" / "model" / "default"
    work = tmp_path / "work"
    for floor, caught in ((None, 2), (15_000.0, 1)):
        model = load_model(default, None, floor)
        report = evaluate_history(
            DATA / "events.ndjson", DATA / "truth.json", work, model, floor or 0.0, 1
        )
        [own] = [p["overall"] for p in report["points"] if p["method"] == "model"]
        at_5x = _point(report, "growth_day", 5.0)
        assert own["caught_early"] == at_5x["caught_early"] == caught
        assert own["lead_h_median"] == at_5x["lead_h_median"]
    assert "15000 events a day" in model.label


def test_a_negative_min_events_is_refused(tmp_path: Path) -> None:
    done = _pantau(
        "evaluate", "--events", str(DATA / "events.ndjson"), "--truth", str(DATA / "truth.json"),
        "--min-events", "-5", "--work", str(tmp_path), "--json", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert done.returncode == 2 and "min-events" in done.stderr
    assert not (tmp_path / "r.json").exists()
    simulated = _pantau("evaluate", "--min-events", "1000", "--work", str(tmp_path))
    assert simulated.returncode == 2 and "goes with --events" in simulated.stderr
