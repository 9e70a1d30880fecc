"""The documented truth format in the normal form, and what `ignore_before` does to scoring."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from services.evaluation.matching import DAY_MS, HOUR_MS, score_alerts
from services.evaluation.truth import VIRAL, TruthError, normal_form, read_truth

DATA = Path(__file__).parents[1] / "data" / "evaluate"
START_S = 1_767_225_600  # 2026-01-01T00:00:00Z


def test_the_documented_format_reads_as_the_normal_form() -> None:
    truth = read_truth(DATA / "truth.json")
    assert truth["start_ms"] == START_S * 1000
    assert truth["end_ms"] == (START_S + 30 * 86_400) * 1000
    p = truth["products"]
    assert p["flat-a"] == {"kind": "steady", "episodes": [], "ignore_before_ms": None}
    assert p["viral-a"]["kind"] == VIRAL
    onset_s = START_S + 19 * 86_400 + 12 * 3600
    assert p["viral-a"]["episodes"] == [
        {"onset_ms": onset_s * 1000, "peak_ms": (onset_s + 2 * 86_400) * 1000,
         "end_ms": (onset_s + 6 * 86_400) * 1000},
    ]  # fmt: skip
    # RFC 3339 text, with Z or an offset, reads as the same epoch times as seconds would.
    b = p["viral-b"]
    assert b["ignore_before_ms"] == (START_S + 9 * 86_400) * 1000
    assert b["episodes"][0]["onset_ms"] == (START_S + 14 * 86_400 + 12 * 3600) * 1000
    assert b["episodes"][0]["end_ms"] == (START_S + 20 * 86_400 + 12 * 3600) * 1000


def test_the_shape_of_a_real_labelled_history_is_read_as_it_is() -> None:
    """The YouTube dataset's truth.json shape: kind, category, ignore_before, onset/peak/end."""
    raw = {
        "start": 1767225600,
        "end": 1780142400,
        "products": {
            "yt-a": {"kind": "viral", "category": "NA", "ignore_before": 1769644800,
                     "onset": 1773446400, "peak": 1773662400, "end": 1774224000},
            "yt-b": {"kind": "steady", "category": "Sports", "ignore_before": 1770854400},
        },
    }  # fmt: skip
    truth = normal_form(raw)
    a, b = truth["products"]["yt-a"], truth["products"]["yt-b"]
    assert a["kind"] == VIRAL and a["category"] == "NA"
    assert a["episodes"] == [
        {"onset_ms": 1773446400000, "peak_ms": 1773662400000, "end_ms": 1774224000000}
    ]
    assert b == {"kind": "steady", "category": "Sports", "episodes": [],
                 "ignore_before_ms": 1770854400000}  # fmt: skip


def test_several_episodes_and_a_missing_end() -> None:
    raw = {"start": 0, "end": 100_000, "products": {"p": {"episodes": [
        {"onset": 1000, "peak": 2000}, {"onset": 50_000, "peak": 60_000, "end": 70_000},
    ]}}}  # fmt: skip
    p = normal_form(raw)["products"]["p"]
    assert p["kind"] == VIRAL  # an onset and a peak make a viral product, kind or not
    assert [e["end_ms"] for e in p["episodes"]] == [2_000_000, 70_000_000]  # end: the peak


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"products": {}}, '"start"'),
        ({"start": 0, "end": 1}, '"products"'),
        ({"start": 0, "end": 1, "products": {"p": {"peak": 5}}}, "onset and a peak"),
        ({"start": 0, "end": 9, "products": {"p": {"onset": 5, "peak": 3}}}, "onset <= peak"),
        ({"start": 0, "end": 9, "products": {"p": {"onset": "yesterday", "peak": 3}}}, "not a"),
        ({"start": "2026-01-01T00:00:00", "end": 9, "products": {}}, "no time zone"),
    ],
)
def test_a_malformed_truth_is_refused_with_the_reason(raw: dict, message: str) -> None:
    with pytest.raises(TruthError, match=message):
        normal_form(raw)


def test_a_truth_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    path.write_text("onset,peak\n")
    with pytest.raises(TruthError, match="not JSON"):
        read_truth(path)


def test_the_simulators_truth_passes_through() -> None:
    sim = {
        "start_ms": 0,
        "end_ms": DAY_MS,
        "products": {"p": {"kind": "bot_burst", "episodes": []}},
    }
    assert normal_form(json.loads(json.dumps(sim))) == sim


def _alerts(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"product_id": pl.String, "tick_ms": pl.Int64}, orient="row")


def test_alerts_before_ignore_before_are_dropped_and_its_days_not_watched() -> None:
    truth = normal_form(
        {
            "start": 0,
            "end": 10 * 86_400,
            "products": {
                "v": {"onset": 5 * 86_400, "peak": 7 * 86_400, "end": 8 * 86_400},
                "new": {"kind": "steady", "ignore_before": 4 * 86_400},
            },
        }
    )
    alerts = _alerts([("new", 1 * HOUR_MS), ("v", 6 * DAY_MS), ("new", 5 * DAY_MS)])
    o = score_alerts(alerts, truth)["overall"]
    # The upload's own burst at hour 1 is ignored; the alert on day 5 is a false one.
    assert (o["alert_episodes"], o["early"], o["false"]) == (3 - 1, 1, 1)
    assert o["product_days"] == pytest.approx(10 + 6)
    assert o["false_per_1000_product_days"] == pytest.approx(1000 / 16)
    per_kind = score_alerts(alerts, truth)["per_decoy_kind"]
    assert list(per_kind) == ["steady"]  # the truth's own kinds, not the simulator's
    assert per_kind["steady"]["false_per_1000_product_days"] == pytest.approx(1000 / 6)
