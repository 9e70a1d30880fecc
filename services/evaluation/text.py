"""Text end to end on a simulated run with post text (`pantau simulate --text`).

Two measures, both from the run's events, its catalogue.csv and its truth.json:

- matching: every distinct (product, post text) of the run is matched against the
  catalogue; the truth is the product that posted it, none for the emerging product
  (which no catalogue lists). Precision and recall as in shared/text/quality.py.
- emerging-term lead time: every event counts for the terms of its text (its `count`
  for counters, else 1), after the daily noise rule over the day's distinct posts. At
  each hour, terms with at least `min_count` in the last 24 h are ranked by growth,
  (last 24 h + 1) / (24 h before + 1); the emerging product's term surfaces at the first
  hour it ranks in the top `top`. Lead time is its truth peak minus that hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from services.sources.counters import EVENT_FIELDS
from services.sources.posts import PostText, targets
from services.sources.snapshots import stable_ids
from shared.catalogue import Catalogue
from shared.schema import Lines, decode_lines
from shared.text.matcher import Matcher
from shared.text.quality import MatchQuality, match_quality
from shared.text.terms import drop_common, post_terms

HOUR_MS = 3_600_000
_WIB_MS = 7 * HOUR_MS
_TEXT = r'"text":"((?:[^"\\]|\\.)*)"'


def read_posts(path: Path) -> pl.DataFrame:
    """The valid events of an NDJSON file that carry text: (event_id, ts_ms, platform,
    product_id, action, count, creator_id, region, text)."""
    data = path.read_bytes()
    lines, _ = Lines.of([data])
    events = decode_lines(lines).events
    raw = pl.Series(data.split(b"\n"), dtype=pl.Binary).cast(pl.String)
    text = raw.gather(events["line_no"]).str.extract(_TEXT, 1)
    return (
        events.select(
            "event_id",
            "ts_ms",
            "platform",
            "product_id",
            "action",
            pl.col("count").fill_null(1).cast(pl.Int64).alias("count"),
            "creator_id",
            "region",
        )
        .with_columns(text=text.str.replace_all(r"\\(.)", "$1"))
        .drop_nulls("text")
    )


def matching(posts: pl.DataFrame, catalogue: Catalogue) -> MatchQuality:
    """Precision and recall over the run's distinct (product, text) posts."""
    distinct = posts.select("product_id", "text").unique(maintain_order=True)
    truth = (
        distinct.with_row_index("row")
        .filter(pl.col("product_id").is_in(list(catalogue.by_id)))
        .select("row", "product_id")
    )
    return match_quality(Matcher(catalogue).match(distinct["text"]), truth)


@dataclass(frozen=True)
class TermLead:
    term: str
    surfaced_ms: int | None
    peak_ms: int
    lead_h: float | None
    rank_at_peak: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "surfaced_ms": self.surfaced_ms,
            "peak_ms": self.peak_ms,
            "lead_h": self.lead_h,
            "rank_at_peak": self.rank_at_peak,
        }


def term_lead(
    posts: pl.DataFrame,
    matcher: Matcher,
    term: str,
    peak_ms: int,
    top: int = 10,
    min_count: int = 50,
) -> TermLead:
    """When `term` first ranks in the top `top` growing terms, and its lead before `peak_ms`."""
    hour = (pl.col("ts_ms") // HOUR_MS).alias("hour")
    day = ((pl.col("ts_ms") + _WIB_MS) // (24 * HOUR_MS)).alias("day")
    texts = posts.select("text").unique(maintain_order=True).with_row_index("text_row")
    daily = posts.select(day, "text").unique(maintain_order=True).join(texts, on="text")
    found = post_terms(daily["text"], matcher.normaliser)
    kept = drop_common(found, daily["day"])
    terms = kept.with_columns(
        text_row=daily["text_row"].gather(kept["row"]), day=daily["day"].gather(kept["row"])
    ).select("day", "text_row", "term")
    counts = (
        posts.with_columns(hour, day)
        .join(texts, on="text")
        .group_by("hour", "day", "text_row")
        .agg(pl.sum("count"))
        .join(terms, on=["day", "text_row"])
        .group_by("term", "hour")
        .agg(pl.sum("count"))
    )
    names = counts["term"].unique().sort()
    if term not in names.to_list():
        return TermLead(term, None, peak_ms, None, None)
    span = posts.select(pl.col("ts_ms").min().alias("lo"), pl.col("ts_ms").max().alias("hi"))
    first_hour = int(span["lo"].item()) // HOUR_MS
    hours = int(span["hi"].item()) // HOUR_MS - first_hour + 1
    grid = np.zeros((len(names), hours + 1))
    index = counts.join(names.to_frame("term").with_row_index("i"), on="term")
    np.add.at(
        grid,
        (index["i"].to_numpy(), index["hour"].to_numpy() - first_hour + 1),
        index["count"].to_numpy(),
    )
    cum = grid.cumsum(axis=1)[:, 1:]
    lag = np.concatenate([np.zeros((len(names), 24)), cum[:, :-24]], axis=1)
    lag2 = np.concatenate([np.zeros((len(names), 48)), cum[:, :-48]], axis=1)
    last, before = cum - lag, lag - lag2
    growth = np.where(last >= min_count, (last + 1) / (before + 1), 0.0)
    me = names.to_list().index(term)
    rank = (growth > growth[me]).sum(axis=0) + 1  # 1 is the fastest grower
    eligible = growth[me] > 0
    hits = np.flatnonzero(eligible & (rank <= top))
    peak_col = int(peak_ms // HOUR_MS) - first_hour
    rank_at_peak = int(rank[peak_col]) if 0 <= peak_col < hours and eligible[peak_col] else None
    if len(hits) == 0:
        return TermLead(term, None, peak_ms, None, rank_at_peak)
    surfaced_ms = (first_hour + int(hits[0]) + 1) * HOUR_MS  # the end of that hour
    return TermLead(term, surfaced_ms, peak_ms, (peak_ms - surfaced_ms) / HOUR_MS, rank_at_peak)


def text_events(posts: pl.DataFrame, text: PostText) -> pl.DataFrame:
    """The run's events as a connector with a catalogue would send them: each event counts
    for the catalogue products its text names (else `sim:<simulated product>`, as an
    unmatched video keeps its own id) and for its terms (services/sources/posts.py).

    Targets are found once per distinct (product, text, WIB day), the posts of that day
    for the noise rule, and joined back to the events."""
    day = ((pl.col("ts_ms") + _WIB_MS) // (24 * HOUR_MS)).alias("day")
    posts = posts.with_columns(day)
    distinct = (
        posts.select(pl.col("product_id").alias("item_id"), "text", "day")
        .unique(maintain_order=True)
        .with_row_index("row")
    )
    rows = distinct.select(
        "row",
        pl.lit("sim").alias("source"),
        "item_id",
        (pl.lit("sim:") + pl.col("item_id")).alias("product_id"),
        pl.lit(None, pl.String).alias("category"),
        pl.lit(None, pl.String).alias("product_name"),
        "text",
        (pl.col("day") * 24 * HOUR_MS - _WIB_MS).alias("observed_ms"),
    )
    found = targets(rows, text).join(
        distinct.select(pl.col("row").cast(pl.UInt32), "item_id", "text", "day"), on="row"
    )
    joined = posts.rename({"product_id": "item_id"}).join(
        found.drop("row"), on=["item_id", "text", "day"], maintain_order="left"
    )
    return joined.select(
        stable_ids(joined.select("event_id", "product_id")).alias("event_id"),
        pl.col("ts_ms").alias("ts"),
        "platform",
        "product_id",
        "action",
        "count",
        "creator_id",
        "region",
        "category",
        "product_name",
    ).select(pl.col(n).cast(t) for n, t in EVENT_FIELDS.items())


def term_volume(posts: pl.DataFrame, catalogue: Catalogue, min_term_posts: int) -> dict[str, int]:
    """What terms cost ingest at a support of `min_term_posts` posts a day: the events a
    connector would send (`text_events`) and the distinct term products among them."""
    events = text_events(posts, PostText.of(catalogue, min_term_posts=min_term_posts))
    terms = events.filter(pl.col("product_id").str.starts_with("term:"))
    return {
        "min_term_posts": min_term_posts,
        "events": events.height,
        "term_events": terms.height,
        "term_products": terms["product_id"].n_unique(),
    }


def model_lead(run: Path, catalogue: Catalogue, truth: dict[str, Any]) -> dict[str, Any]:
    """The live cores on the run as a connector with `catalogue` would feed them: the
    events from text (`text_events`) replayed (`pantau replay`, its default scorer), and
    the first tick at which the emerging term's score is rising as `/v1/emerging` and
    the seller page's "Baru muncul" count it, against its truth peak. Terms never alert
    (shared/alerts.py), so that listing is how a seller first sees one."""
    from services.api.i18n import RISING_PROBABILITY  # the listing's rising rule
    from services.replay import replay_file  # the pipeline: only this measure needs it

    events = text_events(read_posts(run / "events.ndjson"), PostText.of(catalogue))
    path = run / "text-events.ndjson"
    events.write_ndjson(path)
    emerging = truth["emerging"]
    term_id = emerging["term_product_id"]
    listed: list[int] = []

    def watch(scores: pl.DataFrame) -> None:
        rising = scores.filter(
            (pl.col("product_id") == term_id) & (pl.col("probability") >= RISING_PROBABILITY)
        )
        if rising.height and not listed:
            listed.append(int(rising["tick_ms"].cast(pl.Int64).to_list()[0]))

    replayed = replay_file(path, run / "text-alerts.ndjson", progress=False, watch=watch)
    alerts = pl.read_ndjson(replayed.alerts_out).select("product_id", "tick_ms")
    peak_ms = int(truth["products"][emerging["product_id"]]["episodes"][0]["peak_ms"])
    first = min(listed) if listed else None
    is_term = pl.col("product_id").str.starts_with("term:")
    return {
        "events": events.height,
        "term_products": events.filter(is_term)["product_id"].n_unique(),
        "alerts": alerts.height,
        "term_alerts": alerts.filter(is_term).height,
        "emerging_first_listed_ms": first,
        "emerging_lead_h": None if first is None else (peak_ms - first) / HOUR_MS,
    }


def evaluate_text(run: Path, catalogue: Catalogue, truth: dict[str, Any]) -> dict[str, Any]:
    """Both measures for a simulated run directory (events.ndjson with text)."""
    posts = read_posts(run / "events.ndjson")
    quality = matching(posts, catalogue)
    emerging = truth["emerging"]
    episodes = truth["products"][emerging["product_id"]]["episodes"]
    lead = term_lead(posts, Matcher(catalogue), emerging["term"], int(episodes[0]["peak_ms"]))
    return {
        "events_with_text": posts.height,
        "matching": {
            "precision": round(quality.precision, 4),
            "recall": round(quality.recall, 4),
            "true_positives": quality.true_positives,
            "false_positives": quality.false_positives,
            "false_negatives": quality.false_negatives,
        },
        "emerging": {**emerging, **lead.as_dict()},
    }
