"""Emerging terms: the 1–3-word phrases and hashtags of posts, as pseudo-products. Pure.

A term is a run of one to `max_words` consecutive normal words inside one segment (a
phrase between punctuation, or one hashtag's words), with stop words breaking runs and
never part of a term; generic hashtags (#fyp, #viral) are gone already, and their words
count as stop words ("lagi viral"). A post counts
each of its terms once.

Noise rule: a term found in more than `max_share` of a day's posts says nothing about
any product ("enak", "murah" on a food day), so it is dropped for that day, once the day
has at least `min_posts` posts (below that, every term of a single post would be in all
of them).

Support rule: a term needs at least `min_support` distinct posts of a day before it
counts. Most terms are one-off (a shop's name, a word of one caption); as products they
would each hold ingest state for days and multiply events, for nothing that can trend.

Terms travel as products `term:<term>` so ingest's windows, features and the model
score them like catalogue products.
"""

from __future__ import annotations

import polars as pl

from shared.emerging import TERM_PREFIX
from shared.text.normalise import Normaliser

MAX_WORDS = 3
MAX_SHARE = 0.5
MIN_POSTS = 20
MIN_SUPPORT = 3  # posts a day a term needs (TextSettings.term_min_posts)
MIN_CHARS = 3  # a single word shorter than this is never a term
_TERM = r"^[a-z0-9 ]{1,100}$"
TERMS_SCHEMA: dict[str, pl.DataType] = {"row": pl.UInt32(), "term": pl.String()}


def post_terms(
    texts: pl.Series, normaliser: Normaliser, max_words: int = MAX_WORDS
) -> pl.DataFrame:
    """(row, term) for each distinct term of each text; `row` is the text's position."""
    # A generic tag says nothing written as a word either ("lagi viral", "produk umkm").
    stop = list(normaliser.lexicon.stop_words | normaliser.lexicon.generic_hashtags)
    tokens = normaliser.tokens(texts)
    if tokens.height == 0:
        return pl.DataFrame(schema=TERMS_SCHEMA)
    is_stop = pl.col("word").is_in(stop) | pl.col("word").str.contains(r"^\d+$")
    # A run id that changes at every stop word, segment boundary and post.
    starts = (
        pl.col("stop")
        | (pl.col("seg") != pl.col("seg").shift(1))
        | (pl.col("row") != pl.col("row").shift(1))
    ).fill_null(True)
    runs = (
        tokens.with_columns(stop=is_stop).with_columns(run=starts.cum_sum()).filter(~pl.col("stop"))
    )
    grams = []
    for n in range(1, max_words + 1):
        parts = [pl.col("word").shift(-k).over("run") for k in range(n)]
        grams.append(
            runs.select("row", pl.concat_str(parts, separator=" ").alias("term")).drop_nulls("term")
        )
    terms = pl.concat(grams).filter(
        (pl.col("term").str.contains(" ") | (pl.col("term").str.len_chars() >= MIN_CHARS))
        # A term must fit an event's product_id (ASCII, at most 128 with its prefix).
        & pl.col("term").str.contains(_TERM)
    )
    return terms.unique(maintain_order=True).select(
        pl.col(n).cast(t) for n, t in TERMS_SCHEMA.items()
    )


def drop_common(
    terms: pl.DataFrame,
    days: pl.Series,
    max_share: float = MAX_SHARE,
    min_posts: int = MIN_POSTS,
    posts: pl.Series | None = None,
    min_support: int = 1,
) -> pl.DataFrame:
    """`terms` (row, term, ...) without the terms in more than `max_share` of their day's
    posts or in fewer than `min_support` of them; `days[row]` is the day of post `row`
    (any value that names a day), `posts[row]` which post it is (default: each row its
    own; several rows of one post, e.g. hourly snapshots of a video, count once)."""
    if terms.height == 0:
        return terms
    post = pl.int_range(pl.len(), dtype=pl.UInt32) if posts is None else pl.lit(posts)
    frame = (
        pl.DataFrame({"day": days})
        .with_row_index("row")
        .with_columns(post=post)
        .with_columns(pl.col("row").cast(pl.UInt32), posts=pl.col("post").n_unique().over("day"))
    )
    return (
        terms.join(frame, on="row", how="left", maintain_order="left")
        .with_columns(support=pl.col("post").n_unique().over("day", "term"))
        .filter(
            ((pl.col("posts") < min_posts) | (pl.col("support") <= max_share * pl.col("posts")))
            & (pl.col("support") >= min_support)
        )
        .select(terms.columns)
    )


CONTEXT_SCHEMA: dict[str, pl.DataType] = {
    "term": pl.String(),
    "words": pl.List(pl.String()),
    "counts": pl.List(pl.UInt32()),
    "examples": pl.List(pl.String()),
}


def term_context(
    terms: pl.DataFrame, links: pl.Series, top_words: int = 20, max_examples: int = 5
) -> pl.DataFrame:
    """`CONTEXT_SCHEMA`: for each term of `terms` (row, term), the one-word terms of the
    same posts (not its own words) with the number of posts they share, most shared
    first (ties by word), at most `top_words`; and up to `max_examples` distinct links
    of its posts (`links[row]`, null: none), in row order. What a reader needs to tell
    what a new phrase is about; the words are terms too, so noise is gone already."""
    if terms.height == 0:
        return pl.DataFrame(schema=CONTEXT_SCHEMA)
    singles = terms.filter(~pl.col("term").str.contains(" ", literal=True)).select(
        "row", word="term"
    )
    words = (
        terms.select("row", "term")
        .join(singles, on="row")
        .filter(~pl.col("term").str.split(" ").list.contains(pl.col("word")))
        .group_by("term", "word")
        .agg(count=pl.col("row").n_unique().cast(pl.UInt32))
        .sort(["term", "count", "word"], descending=[False, True, False])
        .filter(pl.int_range(pl.len()).over("term") < top_words)
        .group_by("term", maintain_order=True)
        .agg(words="word", counts="count")
    )
    examples = (
        terms.select("row", "term")
        .with_columns(link=links.gather(terms["row"]))
        .drop_nulls("link")
        .unique(["term", "link"], maintain_order=True)
        .filter(pl.int_range(pl.len()).over("term") < max_examples)
        .group_by("term", maintain_order=True)
        .agg(examples="link")
    )
    return (
        terms.select("term")
        .unique(maintain_order=True)
        .join(words, on="term", how="left", maintain_order="left")
        .join(examples, on="term", how="left", maintain_order="left")
        .with_columns(
            pl.col("words").fill_null([]),
            pl.col("counts").fill_null(pl.lit([], pl.List(pl.UInt32))),
            pl.col("examples").fill_null([]),
        )
        .select(pl.col(n).cast(t) for n, t in CONTEXT_SCHEMA.items())
    )


def term_product_id(term: pl.Expr) -> pl.Expr:
    """`term:` and the term's words joined by `-` (ids hold no spaces; normal words hold
    no `-`, so the id reads back as the term)."""
    return pl.lit(TERM_PREFIX) + term.str.replace_all(" ", "-", literal=True)
