"""Render an hour of events as NDJSON lines, with the defects real feeds have.

Lines are built column-wise in Polars (no per-event Python). What a connector sends is
fixed per product and platform (marketplaces always name the listing and its price,
social apps often do not). On top come the deliberate defects: events arriving 15-60
minutes late, producer retries repeating an event_id, a share of RFC 3339 timestamps in
the viewer's local offset (WIB/WITA/WIT) or UTC, and malformed lines (broken JSON, wrong
types, missing or unknown fields) that a validator must reject.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import orjson
import polars as pl

from shared.schema import ACTIONS, PLATFORMS

from .catalogue import scramble
from .categories import CATEGORIES
from .plan import HOUR_MS, Plan
from .platforms import CATEGORY_SHARE, ID_PREFIX, NAME_SHARE, PRICE_SHARE
from .posts import VARIANTS, PostTexts
from .regions import REGION_CODES, UTC_OFFSET_H
from .sampling import HourEvents

_MAX_PER_HOUR = 1 << 24  # event ids are unique while an hour stays below this
_LATE_MS = (15 * 60_000, 60 * 60_000)
_DUPLICATE_GAP = 40  # a retry lands within this many lines of the original
_REQUIRED = ("event_id", "ts", "platform", "product_id", "action")


@dataclass(frozen=True)
class HourStats:
    lines: int
    malformed: int
    duplicates: int
    late: int
    rfc3339: int
    counters: int


def _field(name: str, value: pl.Expr, quoted: bool = True) -> pl.Expr:
    q = '"' if quoted else ""
    return pl.concat_str([pl.lit(f',"{name}":{q}'), value, pl.lit(q)])


def corrupt(line: str, mode: int, pick: float) -> str:
    """One malformed variant of a valid line; `mode` picks the defect, `pick` a detail."""
    if mode == 0:  # cut off mid-write
        return line[: max(1, int(len(line) * (0.2 + 0.6 * pick)))]
    if mode == 1:
        return ("[]", "null", '"ok"', "{{}", "", "\ufeff")[int(pick * 6)]
    event = orjson.loads(line)
    if mode == 2:  # a required field missing
        event.pop(_REQUIRED[int(pick * len(_REQUIRED))], None)
    elif mode == 3:
        event["ts"] = ("kemarin", "2025-13-45T25:61:00Z", True, 1.7e9, None)[int(pick * 5)]
    elif mode == 4:
        event["count"] = (0, -3, "banyak", 2.5)[int(pick * 4)]
    elif mode == 5:
        if pick < 0.5:
            event["action"] = ("follow", "klik", "VIEW")[int(pick * 6)]
        else:
            event["platform"] = ("friendster", "tiktok_shop", "")[int((pick - 0.5) * 6)]
    elif mode == 6:
        event["product_id"] = ({"id": event["product_id"]}, [event["product_id"]], True)[
            int(pick * 3)
        ]
    else:
        event["region"] = ("Jawa Tengah", "ID-XX9", "id-jt")[int(pick * 3)]
    return orjson.dumps(event).decode()


def _counter_line() -> pl.Expr:
    """An NDJSON line of a counter-core event; absent optional fields are left out."""
    col = pl.col
    return pl.concat_str(
        [
            pl.lit('{"event_id":"'),
            col("event_id"),
            pl.lit('","ts":'),
            col("ts").cast(pl.String),
            pl.lit(',"platform":"'),
            col("platform"),
            pl.lit('","product_id":"'),
            col("product_id"),
            pl.lit('","action":"'),
            col("action"),
            pl.lit('"'),
            _field("count", col("count").cast(pl.String), quoted=False),
            *(
                pl.when(col(name).is_not_null()).then(_field(name, col(name)))
                for name in ("creator_id", "region", "category", "product_name")
            ),
            pl.lit("}"),
        ],
        ignore_nulls=True,
    ).alias("line")


class Renderer:
    """Formats sampled events; string tables are built once per plan. With `texts`, each
    event also carries a `text` field: one of its product's posts (services/simulator/posts.py)."""

    def __init__(self, plan: Plan, texts: PostTexts | None = None) -> None:
        self.plan = plan
        self.posts = None if texts is None else pl.Series(texts.json_posts, dtype=pl.String)
        cat = plan.catalogue
        self.product_id = pl.Series(cat.product_id.tolist(), dtype=pl.String)
        names = cat.name.tolist()
        if texts is not None and texts.emerging >= 0:  # listed under its new name
            names[texts.emerging] = texts.emerging_name
        self.name = pl.Series(names, dtype=pl.String)
        self.category = pl.Series(
            [CATEGORIES[c].key for c in cat.category.tolist()], dtype=pl.String
        )
        self.price = pl.Series(cat.price_idr)
        self.creator = pl.Series(plan.creators.ids.tolist(), dtype=pl.String)
        self.region = pl.Series(REGION_CODES, dtype=pl.String)
        self.platform = pl.Series(PLATFORMS, dtype=pl.String)
        self.prefix = pl.Series(ID_PREFIX, dtype=pl.String)
        self.action = pl.Series(ACTIONS, dtype=pl.String)
        # Which optional attributes each connector sends, fixed per product and platform.
        rng = np.random.default_rng([plan.seed, 0xF1E1D])
        shape = (len(cat), len(PLATFORMS))
        self.has_category = rng.random(shape) < CATEGORY_SHARE
        self.has_name = rng.random(shape) < NAME_SHARE
        self.has_price = rng.random(shape) < PRICE_SHARE

    def render(
        self, h: int, ev: HourEvents, polled: pl.DataFrame | None = None
    ) -> tuple[list[bytes], HourStats]:
        """The hour's lines; `polled` (the counter core's events of the hour's polls,
        `services.sources.counters.EVENT_FIELDS`) come last, as a connector sends them:
        on time, once, well formed."""
        lines, stats = self._render(h, ev)
        if polled is None or not polled.height:
            return lines, stats
        extra = polled.select(_counter_line()).to_series().cast(pl.Binary).to_list()
        stats = dataclasses.replace(
            stats, lines=stats.lines + len(extra), counters=stats.counters + len(extra)
        )
        return lines + extra, stats

    def _render(self, h: int, ev: HourEvents) -> tuple[list[bytes], HourStats]:
        cfg, n = self.plan.cfg, len(ev)
        if n >= _MAX_PER_HOUR:
            raise ValueError(f"hour {h} has {n} events; event ids need fewer than 2**24")
        rng = np.random.default_rng([self.plan.seed, 0xA0, h])
        counter = ev.count > 0
        delay = rng.integers(_LATE_MS[0], _LATE_MS[1] + 1, n)
        late = (rng.random(n) < cfg.late_rate) & ~counter
        late &= ev.ts - delay >= self.plan.start_ms  # nothing from before the run began
        ts = np.where(late, ev.ts - delay, ev.ts)
        rfc = rng.random(n) < cfg.rfc3339_rate
        offset_h = np.where(ev.region >= 0, UTC_OFFSET_H[np.maximum(ev.region, 0)], 7)
        offset_h[rng.random(n) < 0.25] = 0
        ids = scramble(h * _MAX_PER_HOUR + np.arange(n, dtype=np.uint64), self.plan.salt, bits=56)
        pp = (ev.product, ev.platform)
        df = pl.DataFrame(
            {
                "id": ids,
                "prefix": self.prefix.gather(ev.platform),
                "ts": ts,
                "rfc": rfc,
                "offset": offset_h,
                "platform": self.platform.gather(ev.platform),
                "product": self.product_id.gather(ev.product),
                "action": self.action.gather(ev.action),
                "count": ev.count,
                "counter": counter,
                "creator": self.creator.gather(np.maximum(ev.creator, 0)),
                "has_creator": ev.creator >= 0,
                "region": self.region.gather(np.maximum(ev.region, 0)),
                "has_region": ev.region >= 0,
                "category": self.category.gather(ev.product),
                "has_category": self.has_category[pp] | counter,
                "name": self.name.gather(ev.product),
                "has_name": self.has_name[pp] | counter,
                "price": self.price.gather(ev.product),
                "has_price": self.has_price[pp] & ~counter,
            }
        )
        if self.posts is not None:
            # Its own random stream: the events and their other fields stay as without text.
            pick = np.random.default_rng([self.plan.seed, 0x7E47, h]).integers(0, VARIANTS, n)
            df = df.with_columns(
                text=self.posts.gather(ev.product.astype(np.int64) * VARIANTS + pick)
            )
        lines = df.select(self._line(self.plan.hour_ms(h), self.posts is not None)).to_series()
        bad = np.flatnonzero(rng.random(n) < cfg.malformed_rate)
        if len(bad):
            modes, picks = rng.integers(0, 8, len(bad)), rng.random(len(bad))
            broken = [
                corrupt(s, int(m), float(p))
                for s, m, p in zip(lines.gather(bad).to_list(), modes, picks, strict=True)
            ]
            lines = lines.scatter(bad, broken)
        dup = rng.random(n) < cfg.duplicate_rate
        dup[bad] = False
        dup_idx = np.flatnonzero(dup)
        if len(dup_idx):
            keys = np.concatenate(
                [
                    np.arange(n, dtype=float),
                    dup_idx + rng.integers(1, _DUPLICATE_GAP, len(dup_idx)) + 0.5,
                ]
            )
            source = np.concatenate([np.arange(n), dup_idx])
            lines = lines.gather(source[np.argsort(keys, kind="stable")])
        stats = HourStats(
            len(lines), len(bad), len(dup_idx), int(late.sum()), int(rfc.sum()), int(counter.sum())
        )
        return lines.cast(pl.Binary).to_list(), stats

    @staticmethod
    def _line(hour_ms: int, text: bool = False) -> pl.Expr:
        col = pl.col
        local = pl.from_epoch(col("ts") + col("offset") * HOUR_MS, time_unit="ms")
        suffix = (
            pl.when(col("offset") == 0)
            .then(pl.lit("Z"))
            .otherwise(pl.concat_str([pl.lit("+0"), col("offset"), pl.lit(":00")]))
        )
        ts = (
            pl.when(col("rfc"))
            .then(
                pl.concat_str(
                    [pl.lit('"'), local.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f"), suffix, pl.lit('"')]
                )
            )
            .otherwise(col("ts").cast(pl.String))
        )
        event_id = (
            pl.when(col("counter"))
            .then(pl.concat_str([pl.lit("cnt-"), col("product"), pl.lit(f"-{hour_ms}")]))
            .otherwise(pl.concat_str([col("prefix"), pl.lit("-"), col("id")]))
        )
        optional: list[pl.Expr] = [
            pl.when(col("counter")).then(_field("count", col("count"), quoted=False)),
            pl.when(col("has_creator")).then(_field("creator_id", col("creator"))),
            pl.when(col("has_region")).then(_field("region", col("region"))),
            pl.when(col("has_category")).then(_field("category", col("category"))),
            pl.when(col("has_name")).then(_field("product_name", col("name"))),
            pl.when(col("has_price")).then(_field("price_idr", col("price"), quoted=False)),
        ]
        if text:  # already JSON strings, quotes included
            optional.append(_field("text", col("text"), quoted=False))
        return pl.concat_str(
            [
                pl.lit('{"event_id":"'),
                event_id,
                pl.lit('","ts":'),
                ts,
                pl.lit(',"platform":"'),
                col("platform"),
                pl.lit('","product_id":"'),
                col("product"),
                pl.lit('","action":"'),
                col("action"),
                pl.lit('"'),
                *optional,
                pl.lit("}"),
            ],
            ignore_nulls=True,
        ).alias("line")
