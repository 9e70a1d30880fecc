"""The yardstick for `bench.ingest`: windows and features per event in plain Python.

Not the product. `pantau ingest` runs the columnar core (`services.ingest.processor`); this
is what the same work costs written the obvious way (json.loads, dicts, per-event loops),
so the benchmark can say how far the core is from it. Only the benchmark uses it.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict

from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from shared.features import PEER_OF
from shared.schema import ACTIONS, PLATFORMS


class Naive:
    """The same windows and features per event in plain Python: the yardstick."""

    def __init__(self, config: WindowConfig) -> None:
        self.config = config
        self.seen: set[str] = set()
        self.max_ts: int | None = None
        self.watermark: int | None = None
        self.next_tick: int | None = None
        self.counts: dict[str, dict[tuple[int, str], int]] = defaultdict(lambda: defaultdict(int))
        self.spread: dict[str, list[tuple[int, str, str, str | None, str | None, int]]] = (
            defaultdict(list)
        )
        self.first_seen: dict[str, int] = {}
        self.category: dict[str, str | None] = {}
        self.rows = 0

    def submit(self, line: bytes) -> list[dict]:
        try:
            ev = json.loads(line)
            pid, ts, action, platform = ev["product_id"], ev["ts"], ev["action"], ev["platform"]
            event_id = ev["event_id"]
        except (ValueError, KeyError, TypeError):
            return []
        if not isinstance(ts, int) or action not in ACTIONS or platform not in PLATFORMS:
            return []
        if self.watermark is not None and ts < self.watermark:
            return []
        fired = []
        if event_id not in self.seen:
            self.seen.add(event_id)
            tick = self.config.tick_ms
            self.counts[pid][(ts - ts % tick, action)] += ev.get("count", 1)
            self.spread[pid].append(
                (ts, ev.get("creator_id"), ev.get("region"), platform, None, ev.get("count", 1))
            )
            self.first_seen[pid] = min(self.first_seen.get(pid, ts), ts)
            self.category[pid] = ev.get("category") or self.category.get(pid)
        self.max_ts = ts if self.max_ts is None else max(self.max_ts, ts)
        wm = self.max_ts - self.config.allowed_lateness_ms
        self.watermark = wm if self.watermark is None else max(self.watermark, wm)
        if self.next_tick is None:
            self.next_tick = (self.watermark // self.config.tick_ms + 1) * self.config.tick_ms
        while self.next_tick <= self.watermark:
            fired.extend(self.fire(self.next_tick))
            self.next_tick += self.config.tick_ms
        return fired

    def fire(self, tick: int) -> list[dict]:
        rows = []
        starts = {
            "5m": tick - 5 * MINUTE_MS,
            "1h": tick - HOUR_MS,
            "6h": -(-(tick - 6 * HOUR_MS) // HOUR_MS) * HOUR_MS,
            "24h": -(-(tick - DAY_MS) // HOUR_MS) * HOUR_MS,
            "7d": -(-(tick - 7 * DAY_MS) // DAY_MS) * DAY_MS,
        }
        for pid, buckets in self.counts.items():
            row: dict = {"product_id": pid, "tick_ms": tick}
            for w, since in starts.items():
                for a in ACTIONS:
                    row[f"{a}_{w}"] = 0
                for (bucket, a), n in buckets.items():
                    if since <= bucket < tick:
                        row[f"{a}_{w}"] += n
                row[f"events_{w}"] = sum(row[f"{a}_{w}"] for a in ACTIONS)
            if row["events_24h"] == 0:
                continue
            day = [e for e in self.spread[pid] if starts["24h"] <= e[0] < tick]
            recent = [e for e in day if e[0] >= starts["6h"]]
            creators = {e[1] for e in day if e[1]}
            creators_6h = {e[1] for e in recent if e[1]}
            old = {e[1] for e in day if e[1] and e[0] < starts["6h"]}
            regions: dict[str, int] = defaultdict(int)
            regions_6h: dict[str, int] = defaultdict(int)
            for e in day:
                if e[2]:
                    regions[e[2]] += e[5]
            for e in recent:
                if e[2]:
                    regions_6h[e[2]] += e[5]
            total = sum(regions.values())
            shares = [n / total for n in regions.values()]
            row |= {
                "creators_24h": len(creators),
                "creators_6h": len(creators_6h),
                "new_creator_share_6h": len(creators_6h - old) / len(creators_6h)
                if creators_6h
                else 0.0,
                "regions_24h": len(regions),
                "region_entropy_24h": -sum(p * math.log2(p) for p in shares),
                "top_regions": sorted(regions, key=lambda r: (-regions_6h[r], -regions[r], r))[:5],
                "platforms": sorted({e[3] for e in day}),
                "hours_since_first_seen": (tick - self.first_seen[pid]) / HOUR_MS,
            }
            row["platforms_24h"] = len(row["platforms"])
            g1 = (row["events_1h"] + 1) / ((row["events_24h"] - row["events_1h"]) / 23 + 1)
            g6 = (row["events_6h"] + 1) / ((row["events_24h"] - row["events_6h"]) / 3 + 1)
            views = max(row["view_24h"], 1)
            row |= {
                "growth_1h_vs_24h": g1,
                "growth_6h_vs_24h": g6,
                "growth_24h_vs_7d": (row["events_24h"] + 1)
                / ((row["events_7d"] - row["events_24h"]) / 6 + 1),
                "acceleration": math.log(g1) - math.log(g6),
                "share_rate_24h": row["share_24h"] / views,
                "conversion_rate_24h": row["purchase_24h"] / views,
            }
            rows.append(row)
        by_category: dict[str | None, list[dict]] = defaultdict(list)
        for row in rows:
            by_category[self.category.get(row["product_id"])].append(row)
        for peers in by_category.values():
            for name, own in PEER_OF.items():
                median = statistics.median(r[own] for r in peers)
                for r in peers:
                    r[name] = r[own] / median
        # Forget what no window can reach any more.
        for pid in list(self.spread):
            self.spread[pid] = [e for e in self.spread[pid] if e[0] >= tick - DAY_MS - HOUR_MS]
        return rows
