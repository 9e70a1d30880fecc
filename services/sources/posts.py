"""What a post's counts count for: catalogue products found in its text, and its terms. Pure.

A snapshot row is one item (a video, a post) with its text. With a catalogue, the item's
delta events go to every catalogue product the matcher finds in that text (product_id,
category and name from the catalogue); an item it finds nothing in keeps
`source:item_id`, so nothing is lost; a row that already names its product_id (an export
with a product column) keeps it and is not matched.

Each term of the item's text (shared/text/terms.py, after the day's noise rule) also gets
the item's deltas as product `term:<words-joined-by-dashes>` with the term as its name:
a term seen in posts with 10,000 new views in an hour gets 10,000 views that hour, the
same counters and features a product gets. The noise rule's day is the WIB (UTC+7)
calendar day of the observation, over the rows at hand (one import, one poll), and so is
the support rule's: a term needs `min_term_posts` distinct posts (source, item and text)
of that day, or it stays out of the events.

`context` tells what a batch's terms are about (co-occurring words, links to the posts
that had new counts), for POST /v1/terms/context.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from shared.catalogue import Catalogue
from shared.text.matcher import Matcher
from shared.text.terms import (
    CONTEXT_SCHEMA,
    MIN_SUPPORT,
    drop_common,
    post_terms,
    term_context,
    term_product_id,
)

TARGET_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "product_id": pl.String(),
    "category": pl.String(),
    "product_name": pl.String(),
    "derived": pl.Boolean(),  # from the text: the event id must name the product too
}
_WIB_MS = 7 * 3_600_000
_DAY_MS = 86_400_000


@dataclass
class PostText:
    """A source's text settings: the matcher of one catalogue version, and whether terms count."""

    matcher: Matcher
    terms: bool = True
    min_term_posts: int = MIN_SUPPORT
    catalogue_frame: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        products = self.matcher.catalogue.products
        self.catalogue_frame = pl.DataFrame(
            {
                "product_id": [p.product_id for p in products],
                "category": [p.category or None for p in products],
                "product_name": [p.name for p in products],
            },
            schema={"product_id": pl.String, "category": pl.String, "product_name": pl.String},
        )

    @classmethod
    def of(
        cls, catalogue: Catalogue, terms: bool = True, min_term_posts: int = MIN_SUPPORT
    ) -> PostText:
        return cls(Matcher(catalogue), terms, min_term_posts)

    def current(self) -> PostText:
        """A fixed catalogue is its own current version (the connectors ask every poll)."""
        return self


def targets(rows: pl.DataFrame, text: PostText) -> pl.DataFrame:
    """`TARGET_SCHEMA` rows for conformed snapshot `rows` with a `row` column: one per
    product each row's counts go to (catalogue products, else its own id) and per term."""
    return post_targets(rows, text)[0]


def post_targets(rows: pl.DataFrame, text: PostText) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`targets`, and the (row, term) pairs its terms came from (`rows`' own `row`)."""
    rows = rows.with_columns(pl.col("row").cast(pl.UInt32))
    own = rows.select("row", "product_id", "category", "product_name", derived=pl.lit(False))
    named = pl.col("product_id") != pl.concat_str("source", pl.lit(":"), "item_id")
    posts = rows.filter(~named & pl.col("text").is_not_null())
    found = text.matcher.match(posts["text"])
    matched = (
        found.join(
            posts.select(pl.col("row").alias("source_row")).with_row_index("pos"),
            left_on="row",
            right_on="pos",
        )
        .select(pl.col("source_row").alias("row"), "product_id")
        .join(text.catalogue_frame, on="product_id", maintain_order="left")
        .with_columns(derived=pl.lit(True))
    )
    parts = [own.join(matched.select("row").unique(), on="row", how="anti"), matched]
    kept = pl.DataFrame(schema={"row": pl.UInt32, "term": pl.String})
    if text.terms:
        with_text = rows.filter(pl.col("text").is_not_null())
        day = ((with_text["observed_ms"] + _WIB_MS) // _DAY_MS).alias("day")
        post = with_text.select(pl.struct("source", "item_id", "text")).to_series()
        terms = drop_common(
            post_terms(with_text["text"], text.matcher.normaliser),
            day,
            posts=post,
            min_support=text.min_term_posts,
        )
        kept = terms.select(row=with_text["row"].gather(terms["row"]), term="term")
        parts.append(
            terms.with_columns(source_row=with_text["row"].gather(terms["row"])).select(
                pl.col("source_row").alias("row"),
                term_product_id(pl.col("term")).alias("product_id"),
                category=pl.lit(None, pl.String),
                product_name="term",
                derived=pl.lit(True),
            )
        )
    found = pl.concat(
        [p.select(pl.col(n).cast(t) for n, t in TARGET_SCHEMA.items()) for p in parts]
    ).sort("row", maintain_order=True)
    return found, kept


# Where a reader can open an item, by source; others only when the item id is a link.
_LINKS = {
    "youtube": "https://www.youtube.com/watch?v=",
    "tiktok": "https://www.tiktok.com/embed/v2/",
}


def item_links() -> pl.Expr:
    """Each snapshot row's item as a link a person can open, or null."""
    by_source = pl.col("source").replace_strict(_LINKS, default=None, return_dtype=pl.String)
    return (
        pl.when(pl.col("item_id").str.contains(r"^https?://"))
        .then(pl.col("item_id"))
        .otherwise(by_source + pl.col("item_id"))
    )


def context(rows: pl.DataFrame, terms: pl.DataFrame) -> pl.DataFrame:
    """`CONTEXT_SCHEMA` of `terms` (row, term: `post_targets`' second part, possibly only
    the rows that had new counts) over snapshot `rows` with a `row` column."""
    if terms.height == 0:
        return pl.DataFrame(schema=CONTEXT_SCHEMA)
    ordered = rows.select("row", link=item_links()).with_row_index("pos")
    local = terms.join(ordered.select("row", "pos"), on="row", maintain_order="left").select(
        row=pl.col("pos").cast(pl.UInt32), term="term"
    )
    return term_context(local, ordered["link"])
