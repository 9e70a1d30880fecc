"""The stream as a whole: determinism, order, wire format, noise and truth.json."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime

import pytest
from simulated_run import HOUR_MS, SEED, Run, validate

from services.simulator import SCENARIOS, iter_event_lines, truth_of
from services.simulator.catalogue import KINDS
from services.simulator.regions import REGION_CODES


def _digest(scenario: str, seed: int) -> str:
    h = hashlib.sha256()
    for _, lines in iter_event_lines(scenario, seed):
        for line in lines:
            h.update(line + b"\n")
    return h.hexdigest()


def test_same_seed_same_bytes_in_file_and_stream(small_run: Run) -> None:
    file_digest = hashlib.sha256(small_run.summary.events_path.read_bytes()).hexdigest()
    assert _digest("small", SEED) == file_digest
    assert truth_of("small", SEED) == small_run.truth


def test_different_seeds_differ(small_run: Run) -> None:
    other_hour = next(iter_event_lines("small", SEED + 1))[1]
    assert other_hour[:50] != small_run.lines[:50]
    other = truth_of("small", SEED + 1)
    assert set(other["products"]) != set(small_run.truth["products"])


def test_hours_come_in_order_and_hold_their_own_events() -> None:
    previous = None
    for hour_ms, lines in iter_event_lines("small", SEED):
        assert previous is None or hour_ms == previous + HOUR_MS
        previous = hour_ms
        assert lines, "every simulated hour has traffic"
    assert previous is not None


def test_time_order_except_deliberate_late_events(small_run: Run) -> None:
    seen: set[str] = set()
    running_max = 0
    late_lags = []
    for e in small_run.events:
        if e["event_id"] in seen:
            continue
        seen.add(e["event_id"])
        if e["ts_ms"] >= running_max:
            running_max = e["ts_ms"]
        else:
            late_lags.append(running_max - e["ts_ms"])
    assert late_lags, "some events arrive late on purpose"
    assert min(late_lags) >= 10 * 60_000
    assert max(late_lags) <= 60 * 60_000
    assert len(late_lags) <= small_run.summary.late


def test_lines_follow_the_wire_format(small_run: Run) -> None:
    assert small_run.rejected == small_run.summary.malformed > 0
    assert len(small_run.lines) == small_run.summary.lines
    assert len(small_run.events) == small_run.summary.events
    regions = {e["region"] for e in small_run.events if "region" in e}
    assert regions <= set(REGION_CODES)
    assert len(regions) > 30
    assert len(set(REGION_CODES)) == len(REGION_CODES) == 38
    assert {e["platform"] for e in small_run.events} >= {"tiktok", "shopee", "instagram"}
    assert set(Counter(e["action"] for e in small_run.events)) == {
        "view",
        "like",
        "comment",
        "share",
        "save",
        "search",
        "add_to_cart",
        "purchase",
    }
    names = {e["product_name"] for e in small_run.events if "product_name" in e}
    assert all(isinstance(n, str) and n[0].isupper() for n in names)
    assert any(isinstance(e.get("price_idr"), int) for e in small_run.events)


def test_timestamps_mix_epoch_ms_and_rfc3339_with_offset(small_run: Run) -> None:
    raw = [e["ts"] for e in small_run.events]
    strings = [t for t in raw if isinstance(t, str)]
    assert 0.01 < len(strings) / len(raw) < 0.1
    offsets = {datetime.fromisoformat(t).utcoffset().total_seconds() / 3600 for t in strings}
    assert offsets <= {0.0, 7.0, 8.0, 9.0}
    assert {0.0, 7.0} <= offsets
    assert all(isinstance(t, int) for t in raw if not isinstance(t, str))


def test_duplicates_repeat_the_same_line(small_run: Run) -> None:
    ids = Counter(e["event_id"] for e in small_run.events)
    repeated = {i for i, n in ids.items() if n > 1}
    assert sum(ids[i] - 1 for i in repeated) == small_run.summary.duplicates > 0
    lines_by_id: dict[str, set[bytes]] = {}
    for line in small_run.lines:
        event = validate(line)
        if event is not None and event["event_id"] in repeated:
            lines_by_id.setdefault(event["event_id"], set()).add(line)
    assert len(lines_by_id) == len(repeated)
    assert all(len(v) == 1 for v in lines_by_id.values())


def test_noise_rates_roughly_as_configured(small_run: Run) -> None:
    cfg, s = SCENARIOS["small"], small_run.summary
    assert s.malformed / s.lines == pytest.approx(cfg.malformed_rate, rel=0.5)
    assert s.duplicates / s.lines == pytest.approx(cfg.duplicate_rate, rel=0.3)
    assert s.late / s.lines == pytest.approx(cfg.late_rate, rel=0.3)


def test_coarse_products_arrive_as_hourly_view_counters(small_run: Run) -> None:
    coarse = [pid for pid, t in small_run.truth["products"].items() if t["coarse"]]
    assert coarse
    for pid in coarse:
        events = small_run.by_product.get(pid, [])
        assert events
        assert all(
            e["action"] == "view" and "creator_id" not in e and "region" not in e for e in events
        )
        hours = Counter(small_run.hour_of(e["ts_ms"]) for e in events)
        assert max(hours.values()) == 1
        assert len({e["platform"] for e in events}) == 1
    others = [e for e in small_run.events if e["product_id"] not in coarse]
    assert all("count" not in e or e["count"] == 1 for e in others[:5000])
    assert sum(e["count"] for pid in coarse for e in small_run.by_product[pid]) > len(coarse)


def test_some_products_miss_some_platforms(small_run: Run) -> None:
    platforms = {pid: {e["platform"] for e in ev} for pid, ev in small_run.by_product.items()}
    assert any(len(p) <= 3 for p in platforms.values())
    assert any(len(p) >= 5 for p in platforms.values())


def test_truth_structure(small_run: Run) -> None:
    t = small_run.truth
    assert t["scenario"] == "small" and t["seed"] == SEED
    assert t["end_ms"] - t["start_ms"] == SCENARIOS["small"].days * 24 * HOUR_MS
    assert len(t["products"]) == SCENARIOS["small"].n_products
    assert set(small_run.by_product) <= set(t["products"])
    kinds = Counter(p["kind"] for p in t["products"].values())
    assert set(kinds) == set(KINDS)
    for p in t["products"].values():
        assert isinstance(p["category"], str)
        if p["kind"] == "background":
            assert p["episodes"] == []
            continue
        assert p["episodes"]
        for ep in p["episodes"]:
            assert set(ep) == {"onset_ms", "peak_ms", "end_ms"}
            assert t["start_ms"] <= ep["onset_ms"] <= ep["peak_ms"] <= ep["end_ms"] < t["end_ms"]
    sales = [c for c in t["calendar"] if c["kind"] == "sales_day"]
    assert [c["name"] for c in sales] == ["11.11"]


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(ValueError, match="small"):
        truth_of("huge", 1)
