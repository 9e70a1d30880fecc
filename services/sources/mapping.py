"""Flat records (CSV rows, JSON objects) into snapshot frames, by named columns. Pure.

A spreadsheet names its columns however its tool does (`Views`, `jumlah_like`,
`favorites_count`): `GENERIC_COLUMNS` knows the common names, and a caller's mapping
(`--map views=view`) adds or overrides any. Every value is read as text first, so a
counter written "12,345" or "12.345" (thousands grouped) is the number 12345, and an
unreadable one rejects its row with ingest's reasons instead of turning into nothing.
"""

from __future__ import annotations

import polars as pl

from services.sources.snapshots import COUNTERS, SNAPSHOT_SCHEMA
from shared.regions import PROVINCES
from shared.schema import REJECT_SCHEMA, parse_ts

# Accepted column names (lower-cased, spaces as `_`) for each snapshot field.
GENERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "source": ("source",),
    "item_id": ("item_id", "id", "video_id", "post_id", "listing_id", "url"),
    "observed_at": ("observed_at", "observed_ms", "snapshot_at", "fetched_at", "exported_at"),
    "platform": ("platform",),
    "product_id": ("product_id", "sku"),
    "product_name": ("product_name", "product", "name"),
    "category": ("category", "kategori"),
    "region": ("region", "province_code"),
    "creator_id": ("creator_id",),
    "text": ("text", "title", "description", "caption", "video_description"),
    "view": ("view", "views", "view_count", "views_count", "plays", "play_count"),
    "like": ("like", "likes", "like_count", "likes_count"),
    "comment": ("comment", "comments", "comment_count", "comments_count"),
    "share": ("share", "shares", "share_count", "shares_count"),
    "save": ("save", "saves", "save_count", "favorites", "favorites_count", "bookmarks"),
    "search": ("search", "searches"),
    "add_to_cart": ("add_to_cart", "carts", "add_to_carts"),
    "purchase": ("purchase", "purchases", "orders", "sold", "units_sold"),
}
FIELDS = tuple(GENERIC_COLUMNS)
_GROUPED = r"^\d{1,3}([.,]\d{3})+$"  # 12,345 or 12.345 (thousands, not decimals)


_PROVINCE_CODES = {name.lower(): code for code, name in PROVINCES.items()}


def _region_code(raw: pl.Expr) -> pl.Expr:
    """A province given by name ("Jawa Timur") as its ISO 3166-2:ID code; codes pass."""
    by_name = raw.str.to_lowercase().replace_strict(_PROVINCE_CODES, default=None)
    return pl.coalesce(by_name, raw.str.to_uppercase())


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`SOURCE_COLUMN=FIELD` pairs as a dict; raises ValueError naming a bad pair."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, field = pair.partition("=")
        if not sep or not column or field not in FIELDS:
            raise ValueError(
                f"--map {pair!r}: expected COLUMN=FIELD, FIELD one of {', '.join(FIELDS)}"
            )
        mapping[column] = field
    return mapping


def _normal(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def resolve_columns(columns: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Which input column feeds each field: an explicit mapping first, then known names."""
    chosen = {field: column for column, field in mapping.items() if column in columns}
    by_normal = {_normal(c): c for c in reversed(columns)}
    for field, names in GENERIC_COLUMNS.items():
        if field in chosen:
            continue
        for name in names:
            if name in by_normal and by_normal[name] not in mapping:
                chosen[field] = by_normal[name]
                break
    return chosen


def records_to_snapshots(
    records: pl.DataFrame,
    mapping: dict[str, str],
    defaults: dict[str, str | int | None],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Snapshot rows of `records` (any columns), plus `line_no` (the record's index), and
    the records whose values do not read as (line_no, reason, detail).

    `defaults` fills fields no column feeds (`source`, `platform`, `observed_ms`).
    """
    chosen = resolve_columns(records.columns, mapping)
    text = {f: pl.col(c).cast(pl.String).str.strip_chars() for f, c in chosen.items()}
    exprs: list[pl.Expr] = []
    bad: list[tuple[pl.Expr, str]] = []
    for field, dtype in SNAPSHOT_SCHEMA.items():
        source_field = "observed_at" if field == "observed_ms" else field
        if source_field in text:
            raw = text[source_field].replace("", None)
            if field == "observed_ms":
                value = parse_ts(raw)
                bad.append(
                    (
                        raw.is_not_null() & value.is_null(),
                        "observed_at: expected RFC 3339 or epoch milliseconds",
                    )
                )
            elif field in COUNTERS:
                digits = (
                    pl.when(raw.str.contains(_GROUPED))
                    .then(raw.str.replace_all(r"[.,]", ""))
                    .otherwise(raw)
                )
                value = digits.cast(pl.Int64, strict=False)
                bad.append(
                    (raw.is_not_null() & value.is_null(), f"{field}: expected a whole number")
                )
            elif field == "region":
                value = _region_code(raw)
            else:
                value = raw
        else:
            value = pl.lit(defaults.get(field))
        exprs.append(value.cast(dtype).alias(field))
    line_no = pl.int_range(pl.len(), dtype=pl.Int64).alias("line_no")
    if not bad:
        return records.select(*exprs, line_no), pl.DataFrame(schema=REJECT_SCHEMA)
    reason: pl.Expr = pl.lit(None, pl.String)
    for cond, detail in reversed(bad):
        reason = pl.when(cond).then(pl.lit(detail)).otherwise(reason)
    shaped = records.select(*exprs, line_no, _detail=reason)
    rejected = shaped.filter(pl.col("_detail").is_not_null()).select(
        "line_no", reason=pl.lit("wrong_type"), detail="_detail"
    )
    kept = shaped.filter(pl.col("_detail").is_null())
    return kept.select(*SNAPSHOT_SCHEMA, "line_no"), rejected
