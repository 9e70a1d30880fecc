"""PNG figures of an evaluation: the precision/lead-time trade-off and a few timelines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from shared.columns import column_max

from .matching import EARLY_WINDOW_MS, HOUR_MS, viral_episodes
from .truth import VIRAL

TIMELINE_KINDS = (VIRAL, VIRAL, "bot_burst", "exogenous_spike", "category_surge")
TIMELINE_COLUMNS = ("product_id", "tick_ms", "events_1h")  # all `timelines` reads


def precision_vs_lead(report: dict[str, Any], path: Path) -> Path:
    """Each method's threshold sweep on the evaluation run; the tuned setting is ringed."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in report["methods"].values():
        pts = [p for p in m["evaluation_sweep"] if p["lead_h_median"] is not None]
        pts.sort(key=lambda p: p["value"])
        (line,) = ax.plot(
            [p["lead_h_median"] for p in pts],
            [p["precision"] or 0 for p in pts],
            marker=".",
            label=m["label"],
        )
        o = m["overall"]
        if o["lead_h_median"] is not None:
            ax.plot(
                o["lead_h_median"],
                o["precision"] or 0,
                "o",
                ms=11,
                mfc="none",
                color=line.get_color(),
            )
    ax.set_xlabel("median lead time before the peak (h)")
    ax.set_ylabel("precision (early alert episodes / all)")
    ax.set_title(
        f"{report['scenario']} seed {report['evaluation_seed']}: threshold sweep "
        f"(ringed: setting tuned on seed {report['tuning_seed']})",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pick_products(truth: dict[str, Any], alerts: dict[str, pl.DataFrame]) -> list[str]:
    """Viral products (alerted ones first) and one of each loud decoy kind, if present."""
    alerted = {pid for a in alerts.values() for pid in a["product_id"].to_list()}
    by_kind: dict[str, list[str]] = {}
    for pid, p in sorted(truth["products"].items(), key=lambda kv: (kv[0] not in alerted, kv[0])):
        by_kind.setdefault(p["kind"], []).append(pid)
    picked: list[str] = []
    for kind in TIMELINE_KINDS:
        options = [pid for pid in by_kind.get(kind, []) if pid not in picked]
        if options:
            picked.append(options[0])
    return picked


def timelines(
    features: pl.DataFrame, truth: dict[str, Any], alerts: dict[str, pl.DataFrame], path: Path
) -> Path:
    """Hourly events of a few products, their truth windows and every method's alerts."""
    products = pick_products(truth, alerts)
    virals = viral_episodes(truth)
    start_ms = truth["start_ms"]
    fig, axes = plt.subplots(
        len(products), 1, figsize=(9, 1.9 * len(products) + 0.6), sharex=True, squeeze=False
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, pid in zip(axes[:, 0], products, strict=True):
        rows = features.filter(
            (pl.col("product_id") == pid) & (pl.col("tick_ms") % HOUR_MS == 0)
        ).sort("tick_ms")
        hours = (rows["tick_ms"] - start_ms) / HOUR_MS
        ax.plot(hours, rows["events_1h"], color="0.35", lw=0.8)
        for ep in virals.filter(pl.col("product_id") == pid).iter_rows(named=True):
            ax.axvspan(
                (ep["onset_ms"] - EARLY_WINDOW_MS - start_ms) / HOUR_MS,
                (ep["peak_ms"] - start_ms) / HOUR_MS,
                color="tab:green",
                alpha=0.15,
            )
            ax.axvline((ep["peak_ms"] - start_ms) / HOUR_MS, color="tab:green", lw=1)
        top = max(column_max(rows["events_1h"], float) or 1.0, 1.0)
        for i, (name, a) in enumerate(alerts.items()):
            ticks = a.filter(pl.col("product_id") == pid)["tick_ms"]
            ax.scatter(
                (ticks - start_ms) / HOUR_MS,
                [top * (1.05 + 0.08 * i)] * len(ticks),
                marker="v",
                s=28,
                color=colours[i % len(colours)],
                label=name if ax is axes[0, 0] else None,
            )
        p = truth["products"][pid]
        ax.set_title(f"{pid} · {p['kind']} · {p.get('product_name', '')}", fontsize=8, loc="left")
        ax.set_ylabel("events/h", fontsize=8)
    axes[-1, 0].set_xlabel("hours since the start (green: early window, line: peak)")
    fig.legend(loc="upper right", fontsize=7, ncols=4)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
