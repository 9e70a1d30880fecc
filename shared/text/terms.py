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


# The earliest posts of each (day, term), at most `min_support` of them: all that decides
# when the term became supported that day, kept across batches (TermSupport).
SUPPORT_SCHEMA: dict[str, pl.DataType] = {
    "day": pl.Int64(),
    "term": pl.String(),
    "post": pl.String(),
    "first_ms": pl.Int64(),
}


def empty_support() -> pl.DataFrame:
    return pl.DataFrame(schema=SUPPORT_SCHEMA)


def supported(
    terms: pl.DataFrame,
    posts: pl.DataFrame,
    seen: pl.DataFrame,
    min_support: int,
    keep_days: int = 2,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`terms` (row, term, ...) whose term had at least `min_support` distinct posts of its
    day by the time of its row, and the `seen` state to pass to the next batch.

    `posts[row]` gives each row's `day`, `post` (an id of the post) and `observed_ms`;
    `seen` (`SUPPORT_SCHEMA`) holds what earlier batches saw. A term is supported from the
    time its `min_support`-th post of the day was first seen, so rows taken in time order
    count the same however they are cut into batches (polls, imports), and a restart from
    the saved state changes nothing. The state keeps, per (day, term), only the earliest
    `min_support` posts, and only the newest `keep_days` days."""
    if terms.height == 0 or min_support <= 1:
        return terms, seen
    located = terms.join(
        posts.select(pl.col("row").cast(pl.UInt32), "day", "post", "observed_ms"),
        on="row",
        how="left",
        maintain_order="left",
    )
    earliest = (
        pl.concat(
            [
                seen.select(list(SUPPORT_SCHEMA)),
                located.select("day", "term", "post", first_ms="observed_ms"),
            ],
            how="vertical_relaxed",
        )
        .group_by("day", "term", "post")
        .agg(pl.min("first_ms"))
        .sort("day", "term", "first_ms", "post")
        .filter(pl.int_range(pl.len()).over("day", "term") < min_support)
    )
    newest_day = earliest["day"].max()
    state = earliest.filter(pl.col("day") > pl.lit(newest_day) - keep_days).select(
        pl.col(n).cast(t) for n, t in SUPPORT_SCHEMA.items()
    )
    since = (
        earliest.group_by("day", "term")
        .agg(pl.len().alias("posts"), pl.max("first_ms").alias("since_ms"))
        .filter(pl.col("posts") >= min_support)
        .select("day", "term", "since_ms")
    )
    kept = located.join(since, on=["day", "term"], maintain_order="left").filter(
        pl.col("observed_ms") >= pl.col("since_ms")
    )
    return kept.select(terms.columns), state


POST_WORDS = pl.Struct({"id": pl.String(), "seen_ms": pl.Int64(), "words": pl.List(pl.String())})
CONTEXT_SCHEMA: dict[str, pl.DataType] = {
    "term": pl.String(),
    "words": pl.List(pl.String()),
    "counts": pl.List(pl.UInt32()),
    "examples": pl.List(pl.String()),
    "posts": pl.List(POST_WORDS),
}


def term_context(
    terms: pl.DataFrame,
    links: pl.Series,
    top_words: int = 20,
    max_examples: int = 5,
    posts: pl.DataFrame | None = None,
    max_posts: int = 100,
) -> pl.DataFrame:
    """`CONTEXT_SCHEMA`: for each term of `terms` (row, term), the one-word terms of the
    same posts (not its own words) with the number of posts they share, most shared
    first (ties by word), at most `top_words`; up to `max_examples` distinct links
    of its posts (`links[row]`, null: none), in row order; and with `posts` (`id`,
    `seen_ms` of each row) those words post by post, each post once (its latest row),
    the newest `max_posts`, so that a reader counting them over time counts a post once.
    What a reader needs to tell what a new phrase is about; the words are terms too, so
    noise is gone already."""
    if terms.height == 0:
        return pl.DataFrame(schema=CONTEXT_SCHEMA)
    singles = terms.filter(~pl.col("term").str.contains(" ", literal=True)).select(
        "row", word="term"
    )
    pairs = (
        terms.select("row", "term")
        .join(singles, on="row")
        .filter(~pl.col("term").str.split(" ").list.contains(pl.col("word")))
    )
    words = (
        pairs.group_by("term", "word")
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
    by_post = _post_words(pairs, posts, max_posts)
    return (
        terms.select("term")
        .unique(maintain_order=True)
        .join(words, on="term", how="left", maintain_order="left")
        .join(examples, on="term", how="left", maintain_order="left")
        .join(by_post, on="term", how="left", maintain_order="left")
        .with_columns(
            pl.col("words").fill_null([]),
            pl.col("counts").fill_null(pl.lit([], pl.List(pl.UInt32))),
            pl.col("examples").fill_null([]),
            pl.col("posts").fill_null(pl.lit([], pl.List(POST_WORDS))),
        )
        .select(pl.col(n).cast(t) for n, t in CONTEXT_SCHEMA.items())
    )


def _post_words(pairs: pl.DataFrame, posts: pl.DataFrame | None, max_posts: int) -> pl.DataFrame:
    """(term, posts): each term's posts with their words (`pairs`: row, term, word)."""
    if posts is None or pairs.height == 0:
        return pl.DataFrame(schema={"term": pl.String, "posts": pl.List(POST_WORDS)})
    located = pairs.with_columns(
        id=posts["id"].gather(pairs["row"]), seen_ms=posts["seen_ms"].gather(pairs["row"])
    )
    latest = located.group_by("term", "id").agg(pl.max("seen_ms"))
    return (
        located.join(latest, on=["term", "id", "seen_ms"])
        .group_by("term", "id", "seen_ms")
        .agg(pl.col("word").unique().sort().alias("words"))
        .sort(["term", "seen_ms", "id"], descending=[False, True, False])
        .filter(pl.int_range(pl.len()).over("term") < max_posts)
        .group_by("term", maintain_order=True)
        .agg(posts=pl.struct("id", "seen_ms", "words"))
    )


def term_product_id(term: pl.Expr) -> pl.Expr:
    """`term:` and the term's words joined by `-` (ids hold no spaces; normal words hold
    no `-`, so the id reads back as the term)."""
    return pl.lit(TERM_PREFIX) + term.str.replace_all(" ", "-", literal=True)
