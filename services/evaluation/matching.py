"""Alerts against the truth: alert episodes, early catches, lead times, false alerts. Pure.

Definitions (the issue's, stated once here):

* Alerts on one product less than 24 h apart form one **alert episode** (chained: each
  alert within 24 h of the previous one extends the episode). It starts at its first alert.
* A **viral episode** is a truth episode of a product of kind `organic_viral`. It is
  **caught early** when an alert episode of that product starts in
  [onset - 24 h, peak]; its **lead time** is peak - the earliest such start.
* An alert episode is **early** when it catches a viral episode that way, **late** when it
  starts after the peak but before the end of a viral episode, and **false** otherwise.
  Precision counts only early episodes: an alert after the peak is of no use to a seller.
  `precision_not_false` counts late ones too (the share of alerts that are not false):
  the precision some labelled histories quote (e.g. the YouTube dataset's README).
* **Recall** is caught-early viral episodes / all viral episodes.
* **False alerts per 1,000 product-days** divide false alert episodes by the days each
  product of the group was watched (the truth's span, less any `ignore_before` time).
* Per decoy kind, precision is taken on viral products plus that kind only: how well a
  method tells viral products from, say, bot bursts. The kinds are the simulator's
  decoys, or a labelled history's own (`decoy_kinds`, e.g. `steady`).
* Alerts on a product before its `ignore_before` time are dropped before anything else.

The truth is in `truth.normal_form`. The live alert engine never fires twice within its
24 h cool-down, so its alert episodes are single alerts, and "starts in the window" is
the same test as "overlaps the window".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from .truth import VIRAL

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
EPISODE_GAP_MS = DAY_MS
EARLY_WINDOW_MS = DAY_MS
DECOY_KINDS = ("exogenous_spike", "bot_burst", "category_surge", "slow_grower", "background")
DEFINITIONS = {
    "alert_episode": "alerts on one product less than 24 h apart (chained)",
    "caught_early": "an alert episode starts in [onset - 24 h, peak] of an organic_viral episode",
    "lead_h": "peak - start of the earliest such alert episode, hours",
    "precision": "early alert episodes / all alert episodes (late ones count against)",
    "precision_not_false": "alert episodes that are not false (early or late) / all",
    "recall": "viral episodes caught early / viral episodes",
    "false_per_1000_product_days": "false alert episodes * 1000 / (products * days)",
    "precision_vs_viral": "precision on organic_viral products plus that decoy kind only",
}


def alert_episodes(alerts: pl.DataFrame, gap_ms: int = EPISODE_GAP_MS) -> pl.DataFrame:
    """(product_id, start_ms, end_ms, alerts) from alert rows with product_id and tick_ms."""
    return (
        alerts.select("product_id", "tick_ms")
        .sort("product_id", "tick_ms")
        .with_columns(new=(pl.col("tick_ms").diff().over("product_id").fill_null(gap_ms) >= gap_ms))
        .with_columns(episode=pl.col("new").cum_sum().over("product_id"))
        .group_by("product_id", "episode", maintain_order=True)
        .agg(
            start_ms=pl.col("tick_ms").first(),
            end_ms=pl.col("tick_ms").last(),
            alerts=pl.len().cast(pl.Int64),
        )
        .drop("episode")
    )


def truth_products(truth: dict[str, Any]) -> pl.DataFrame:
    """(product_id, kind, watched_from_ms) for every product of the truth."""
    products = truth["products"]
    start = truth["start_ms"]
    return pl.DataFrame(
        {
            "product_id": list(products),
            "kind": [p["kind"] for p in products.values()],
            "watched_from_ms": [
                max(start, p.get("ignore_before_ms") or start) for p in products.values()
            ],
        },
        schema={"product_id": pl.String, "kind": pl.String, "watched_from_ms": pl.Int64},
    )


def watched_alerts(alerts: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """The alerts at or after their product's `ignore_before` (products the truth lacks stay)."""
    return (
        alerts.join(products.select("product_id", "watched_from_ms"), on="product_id", how="left")
        .filter(
            pl.col("watched_from_ms").is_null() | (pl.col("tick_ms") >= pl.col("watched_from_ms"))
        )
        .drop("watched_from_ms")
    )


def viral_episodes(truth: dict[str, Any]) -> pl.DataFrame:
    """(product_id, viral_id, onset_ms, peak_ms, end_ms) of every organic viral episode."""
    rows = [
        (pid, f"{pid}#{i}", ep["onset_ms"], ep["peak_ms"], ep["end_ms"])
        for pid, p in truth["products"].items()
        if p["kind"] == VIRAL
        for i, ep in enumerate(p["episodes"])
    ]
    names = ["product_id", "viral_id", "onset_ms", "peak_ms", "end_ms"]
    schema = dict(zip(names, [pl.String, pl.String, pl.Int64, pl.Int64, pl.Int64], strict=True))
    return pl.DataFrame(rows, schema=schema, orient="row")


def classify_episodes(episodes: pl.DataFrame, virals: pl.DataFrame) -> pl.DataFrame:
    """Each alert episode with `outcome` (early, late, false) and the viral episode it hits."""
    # Both frames have an `end_ms`: the viral episode's is renamed, so "late" is judged on
    # when the viral episode ended, not on when the alert episode did.
    viral = virals.rename({"end_ms": "viral_end_ms"})
    pairs = episodes.with_row_index("ep").join(viral, on="product_id", how="inner")
    early_ok = (pl.col("start_ms") >= pl.col("onset_ms") - EARLY_WINDOW_MS) & (
        pl.col("start_ms") <= pl.col("peak_ms")
    )
    late_ok = (pl.col("start_ms") > pl.col("peak_ms")) & (
        pl.col("start_ms") <= pl.col("viral_end_ms")
    )
    hits = (
        pairs.with_columns(rank=pl.when(early_ok).then(0).when(late_ok).then(1).otherwise(None))
        .drop_nulls("rank")
        .sort("ep", "rank", "peak_ms")
        .group_by("ep", maintain_order=True)
        .first()
        .select("ep", "viral_id", "peak_ms", "rank")
    )
    outcome = (
        pl.when(pl.col("rank") == 0)
        .then(pl.lit("early"))
        .when(pl.col("rank") == 1)
        .then(pl.lit("late"))
        .otherwise(pl.lit("false"))
    )
    return (
        episodes.with_row_index("ep")
        .join(hits, on="ep", how="left")
        .with_columns(outcome=outcome)
        .drop("ep", "rank")
    )


def lead_times(classified: pl.DataFrame, virals: pl.DataFrame) -> pl.DataFrame:
    """Every viral episode with `lead_h` (null when not caught early): peak - first early start."""
    first = (
        classified.filter(pl.col("outcome") == "early")
        .group_by("viral_id")
        .agg(first_start_ms=pl.col("start_ms").min())
    )
    return virals.join(first, on="viral_id", how="left").with_columns(
        lead_h=(pl.col("peak_ms") - pl.col("first_start_ms")) / HOUR_MS
    )


@dataclass(frozen=True)
class Metrics:
    alert_episodes: int
    early: int
    late: int
    false: int
    precision: float | None  # early / alert episodes; None when there are no alerts
    precision_not_false: float | None  # (early + late) / alert episodes
    viral_episodes: int
    caught_early: int
    recall: float | None  # caught early / viral episodes
    lead_h_median: float | None
    lead_h_p25: float | None
    product_days: float
    false_per_1000_product_days: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(num: int, den: float) -> float | None:
    return num / den if den else None


def metrics(classified: pl.DataFrame, leads: pl.DataFrame, product_days: float) -> Metrics:
    """The figures of one group of alert episodes and viral episodes."""
    counts = dict.fromkeys(("early", "late", "false"), 0)
    counts.update(dict(classified.group_by("outcome").len().iter_rows()))
    n = classified.height
    caught = leads["lead_h"].drop_nulls().to_numpy()
    pct = (lambda q: float(np.percentile(caught, q))) if caught.size else (lambda q: None)
    return Metrics(
        alert_episodes=n,
        early=counts["early"],
        late=counts["late"],
        false=counts["false"],
        precision=_ratio(counts["early"], n),
        precision_not_false=_ratio(counts["early"] + counts["late"], n),
        viral_episodes=leads.height,
        caught_early=int(caught.size),
        recall=_ratio(int(caught.size), leads.height),
        lead_h_median=pct(50),
        lead_h_p25=pct(25),
        product_days=product_days,
        false_per_1000_product_days=_ratio(1000 * counts["false"], product_days),
    )


def score_alerts(alerts: pl.DataFrame, truth: dict[str, Any]) -> dict[str, Any]:
    """The metrics and one entry per decoy kind, from alert rows and a truth (normal form)."""
    kinds = truth_products(truth).with_columns(
        days=(truth["end_ms"] - pl.col("watched_from_ms")).clip(lower_bound=0) / DAY_MS
    )
    virals = viral_episodes(truth)
    episodes = alert_episodes(watched_alerts(alerts, kinds))
    classified = classify_episodes(episodes, virals).join(
        kinds.select("product_id", "kind"), on="product_id", how="left"
    )
    leads = lead_times(classified, virals)
    overall = metrics(classified, leads, float(kinds["days"].sum()))
    per_kind = {}
    for kind in truth.get("decoy_kinds", DECOY_KINDS):
        of_kind = kinds.filter(pl.col("kind") == kind)
        days = float(of_kind["days"].sum())
        group = classified.filter(pl.col("kind").is_in([kind, VIRAL]))
        m = metrics(group, leads, days)
        false_here = group.filter((pl.col("outcome") == "false") & (pl.col("kind") == kind)).height
        per_kind[kind] = {
            "products": of_kind.height,
            "alert_episodes": group.filter(pl.col("kind") == kind).height,
            "precision_vs_viral": m.precision,
            "false_per_1000_product_days": _ratio(1000 * false_here, days),
        }
    return {"overall": overall.as_dict(), "per_decoy_kind": per_kind}


def pooled(runs: list[tuple[pl.DataFrame, dict[str, Any]]]) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Several runs' alerts and truths as one run's: a month holds about ten rises, so one
    month's median lead moves by a day with a single rise; forty give a steadier figure.
    Each run's product ids take its index as a prefix (the same product in two runs counts
    twice). The runs must span the same time, over which product-days are counted."""
    spans = {(t["start_ms"], t["end_ms"]) for _, t in runs}
    if len(spans) != 1:
        raise ValueError(f"runs to pool must span the same time, not {sorted(spans)}")
    alerts = [
        a.with_columns(product_id=pl.lit(f"{i}:") + pl.col("product_id"))
        for i, (a, _) in enumerate(runs)
    ]
    products = {
        f"{i}:{pid}": p for i, (_, t) in enumerate(runs) for pid, p in t["products"].items()
    }
    truth = {**runs[0][1], "products": products}
    return pl.concat(alerts, how="diagonal_relaxed"), truth
