"""Labels from outcomes: did a product's engagement in (t, t + H] reach a viral level?

Computed from feature rows alone (the feature log or a replay), never from a simulator's
truth, so the same code labels real logged streams. For the row of product p at tick t:

* F = events of p in (t, t + H]: the sum of `events_5m` over p's later rows up to t + H
  (a tick's 5-minute bucket ends at the tick; a missing row means no events);
* B = p's trailing daily mean: `events_7d` over the days that window covers (at most
  7 d, at least 1 d, no more than p has been seen);
* the label is 1 when F >= `growth_x` × B, F >= `min_events` and F >= `rise_x` × the
  events of p's last 24 h: a day well above its own normal, big enough to matter, and
  no quieter than the day just gone (still rising or holding: a spike that already
  happened does not count again as it decays);
* and the audience stays real: interactions beyond views (likes, comments, shares, saves,
  carts, purchases) per view in (t, t + H] reach `min_quality` × p's own 7-day rate.
  Views bought from bots or a feed glitch inflate volume, not interactions. Sources that
  report views only (no interactions in 7 d) skip this test.
* and the rise holds: the later half of (t, t + H] carries at least `hold` × the events
  of the earlier half. Word of mouth builds over days; an outside mention or a burst of
  bought views spends itself within hours (Crane & Sornette's exogenous class).
* and the rise lasts: the next horizon, (t + H, t + 2H], carries at least `sustain` × F.
  A seller needs the trend still there when the goods are ready; bought views run for
  hours and an outside mention decays within a day. In sources that report views only,
  this and the test above are what tell those apart from word of mouth.

The heads-up label (`HeadsUpSpec`, 72 h) asks the same question earlier: does the row
above turn 1 at some tick of p in [t, t + `within`] (48 h: the viral day then lies within
t + 72 h)? One definition of "viral", asked days ahead; 0 only when every row of that
stretch is known.

Rows whose horizon (with `sustain`, both horizons) passes the end of the data have no
label (null): the outcome is not known yet. Nor do rows of a product seen for less than
`min_history_ms` (default a day): its own normal is not known yet. A daily mean taken
from a few night hours makes an ordinary morning look like a viral day; on a log's
first day every product is such a case. Pure: Polars in, Polars out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MIN_COVERED_MS = 6 * HOUR_MS  # below this, a daily mean from partial data is too noisy


@dataclass(frozen=True)
class LabelSpec:
    """The viral level; stored in every model's metadata."""

    horizon_ms: int = DAY_MS
    growth_x: float = 4.0
    min_events: float = 200.0
    rise_x: float = 1.0
    min_quality: float = 0.5
    hold: float = 0.5
    sustain: float = 0.5
    min_history_ms: int = DAY_MS

    @property
    def lookahead_ms(self) -> int:
        """How far past its tick a row's label looks: the gap a time split must leave."""
        return 2 * self.horizon_ms if self.sustain else self.horizon_ms

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "definition": __doc__.split("\n\n")[1].strip()}


@dataclass(frozen=True)
class HeadsUpSpec:
    """The heads-up label: the 24 h label (`base`) turns 1 within `within_ms`."""

    base: LabelSpec = LabelSpec()
    within_ms: int = 2 * DAY_MS

    @property
    def horizon_ms(self) -> int:
        """How far ahead the viral day may lie: the name of the tier's horizon."""
        return self.within_ms + self.base.horizon_ms

    @property
    def lookahead_ms(self) -> int:
        return self.within_ms + self.base.lookahead_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "within_ms": self.within_ms,
            "horizon_ms": self.horizon_ms,
            "base": self.base.as_dict(),
            "definition": "the 24 h label turns 1 at some tick of the product in "
            "[t, t + within_ms]",
        }


def trailing_daily_mean(tick: pl.Expr | None = None) -> pl.Expr:
    """Mean events per day over the 7-day window (hour-ceiled to UTC days, as built)."""
    tick = pl.col("tick_ms") if tick is None else tick
    window_start = ((tick - 7 * DAY_MS + DAY_MS - 1) // DAY_MS) * DAY_MS
    seen_ms = pl.col("hours_since_first_seen") * HOUR_MS
    covered = pl.min_horizontal(tick - window_start, seen_ms).clip(lower_bound=MIN_COVERED_MS)
    return pl.col("events_7d") * DAY_MS / covered


INTERACTIONS = ("like", "comment", "share", "save", "add_to_cart", "purchase")


def interactions(window: str) -> pl.Expr:
    return pl.sum_horizontal(f"{a}_{window}" for a in INTERACTIONS)


def future_sums(
    features: pl.DataFrame, horizons_ms: dict[str, int], **amounts: pl.Expr
) -> pl.DataFrame:
    """Per row, each 5-minute amount summed over the product's ticks in (t, t + horizon],
    as `{horizon name}_{amount name}` for every horizon; null when the data ends before
    t + horizon. Rows keep their order. One running sum serves every horizon."""
    end = features["tick_ms"].max()
    names = list(amounts)
    cum = (
        features.select("product_id", "tick_ms", **amounts)
        .with_row_index("row")
        .sort("product_id", "tick_ms")
        .with_columns(pl.col(names).cum_sum().over("product_id"))
    )
    later = cum.select("product_id", "tick_ms", *[pl.col(n).alias(f"{n}_end") for n in names])
    later = later.sort("tick_ms")
    out = cum.select("row")
    for horizon, ms in horizons_ms.items():
        joined = (
            cum.with_columns(target=pl.col("tick_ms") + ms)
            .sort("target")
            .join_asof(
                later,
                left_on="target",
                right_on="tick_ms",
                by="product_id",
                strategy="backward",
                check_sortedness=False,
            )
            .sort("row")
        )
        known = pl.col("target") <= end
        out = out.with_columns(
            joined.select(
                pl.when(known).then(pl.col(f"{n}_end") - pl.col(n)).alias(f"{horizon}_{n}")
                for n in names
            )
        )
    return out.drop("row")


def label(features: pl.DataFrame, spec: LabelSpec | None = None) -> pl.DataFrame:
    """`features` with `future_events`, `daily_mean` and `label` (Int8, null = not known)."""
    spec = spec or LabelSpec()
    horizons = {"future": spec.horizon_ms, "first_half": spec.horizon_ms // 2}
    if spec.sustain:
        horizons["two_horizons"] = 2 * spec.horizon_ms
    ahead = future_sums(
        features,
        horizons,
        events=pl.col("events_5m"),
        views=pl.col("view_5m"),
        interactions=interactions("5m"),
    )
    f = pl.col("future_events")
    later_half = f - pl.col("first_half_events")
    own_rate = interactions("7d") / (pl.col("view_7d") + 1)
    future_rate = pl.col("future_interactions") / (pl.col("future_views") + 1)
    viral = (
        (f >= spec.growth_x * pl.col("daily_mean"))
        & (f >= spec.min_events)
        & (f >= spec.rise_x * pl.col("events_24h"))
        & ((interactions("7d") == 0) | (future_rate >= spec.min_quality * own_rate))
        & (later_half >= spec.hold * pl.col("first_half_events"))
    )
    if spec.sustain:
        viral = viral & (pl.col("two_horizons_events") - f >= spec.sustain * f)
    return (
        features.with_columns(*ahead.get_columns(), daily_mean=trailing_daily_mean())
        .with_columns(
            label=pl.when(pl.col("hours_since_first_seen") * HOUR_MS >= spec.min_history_ms)
            .then(viral.cast(pl.Int8))
            .otherwise(None)
        )
        .select(*features.columns, "future_events", "daily_mean", "label")
    )


def heads_up_label(labelled: pl.DataFrame, spec: HeadsUpSpec | None = None) -> pl.DataFrame:
    """`labelled` (the output of `label` with `spec.base`) with `label_heads_up` (Int8,
    null = not known): 1 when `label` is 1 at some tick of the product in [t, t + within];
    0 when it is 0 there and every label of that stretch is known (the data reach past
    t + within + the base look-ahead); else null."""
    spec = spec or HeadsUpSpec()
    end = labelled["tick_ms"].max()
    ahead = future_sums(labelled, {"within": spec.within_ms}, hits=pl.col("label").fill_null(0))
    known = pl.col("tick_ms") + spec.lookahead_ms <= end
    hit = (pl.col("label") == 1) | (pl.col("within_hits") > 0)
    return (
        labelled.with_columns(*ahead.get_columns())
        .with_columns(
            label_heads_up=pl.when(pl.col("label").is_null())
            .then(None)
            .when(hit.fill_null(False))
            .then(1)
            .when(known)
            .then(0)
            .otherwise(None)
            .cast(pl.Int8)
        )
        .drop("within_hits")
    )
