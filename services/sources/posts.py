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
calendar day of the observation, over the rows at hand (one import, one poll).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from shared.catalogue import Catalogue
from shared.text.matcher import Matcher
from shared.text.terms import drop_common, post_terms, term_product_id

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
    def of(cls, catalogue: Catalogue, terms: bool = True) -> PostText:
        return cls(Matcher(catalogue), terms)


def targets(rows: pl.DataFrame, text: PostText) -> pl.DataFrame:
    """`TARGET_SCHEMA` rows for conformed snapshot `rows` with a `row` column: one per
    product each row's counts go to (catalogue products, else its own id) and per term."""
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
    if text.terms:
        with_text = rows.filter(pl.col("text").is_not_null())
        day = ((with_text["observed_ms"] + _WIB_MS) // _DAY_MS).alias("day")
        terms = drop_common(post_terms(with_text["text"], text.matcher.normaliser), day)
        parts.append(
            terms.with_columns(source_row=with_text["row"].gather(terms["row"])).select(
                pl.col("source_row").alias("row"),
                term_product_id(pl.col("term")).alias("product_id"),
                category=pl.lit(None, pl.String),
                product_name="term",
                derived=pl.lit(True),
            )
        )
    return pl.concat(
        [p.select(pl.col(n).cast(t) for n, t in TARGET_SCHEMA.items()) for p in parts]
    ).sort("row", maintain_order=True)
