"""Indonesian social text as words: what the matcher and the term counter both read. Pure.

Posts are written as people talk: "tas anyaman ini bagus bangeeet 😍 murmer yg baju2
#tasanyaman #fyp". Normalising them takes two levels:

- text level, columnar over the whole Series (Polars string expressions): lower case,
  accents stripped (NFKD, combining marks dropped), links and @mentions dropped, digit
  reduplication expanded (baju2 → baju baju), punctuation and hashtags made segment
  boundaries (a phrase never spans a full stop or two hashtags), emoji and other
  symbols dropped, then split into tokens;
- token level, once per distinct token (a batch of a million posts has a few thousand):
  repeated letters collapsed (bangeeet → banget), slang and abbreviations replaced from
  the dictionary (yg → yang, murmer → murah meriah), generic hashtags dropped (#fyp) and
  other hashtags split into words the vocabulary knows (#tasanyaman → tas anyaman).

The token map is cached, so per-event work stays in Polars.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from shared.text.lexicon import Lexicon, lexicon

BOUNDARY = "|"  # a token that ends a segment
TOKENS_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "seg": pl.UInt32(),
    "word": pl.String(),
}
_REPEATS = re.compile(r"(.)\1{2,}")
_MIN_PIECE = 2  # a hashtag is not split into single letters
_CACHE_MAX = 500_000  # distinct tokens remembered; past this the cache starts over


def _text_level(texts: pl.Expr) -> pl.Expr:
    return (
        texts.fill_null("")
        .str.to_lowercase()
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}+", "")
        .str.replace_all(r"https?://\S+|www\.\S+|@[\w.]+", " ")
        .str.replace_all(r"\b(\p{L}{2,})2\b", "$1 $1")
        .str.replace_all(r"#([\w]+)", " | #$1 | ")
        .str.replace_all(r"[.,!?;:()\[\]{}\"\n\r/]+", " | ")
        .str.replace_all(r"[^\p{L}\p{N}#|]+", " ")
    )


def collapse_repeats(word: str) -> str:
    """Three or more of the same letter as one: bangeeet → banget, mantaaap → mantap."""
    return _REPEATS.sub(r"\1", word)


def split_hashtag(tag: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    """`tag` as the fewest vocabulary words that spell it exactly, or itself when none do.

    Dynamic programming over prefix ends: best[i] is the shortest split of tag[:i].
    """
    n = len(tag)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(_MIN_PIECE, n + 1):
        for start in range(0, end - _MIN_PIECE + 1):
            head = best[start]
            piece = tag[start:end]
            if head is not None and piece in vocabulary:
                candidate = (*head, piece)
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    found = best[n]
    return found if found else (tag,)


class Normaliser:
    """Turns posts into words; `vocabulary` (e.g. the catalogue's words) splits hashtags."""

    def __init__(self, vocabulary: Iterable[str] = (), words: Lexicon | None = None) -> None:
        self.lexicon = words or lexicon()
        slang_words = {w for normal in self.lexicon.slang.values() for w in normal}
        self.vocabulary = frozenset(vocabulary) | slang_words | self.lexicon.stop_words
        self._cache: dict[str, tuple[str, ...]] = {}

    def word(self, token: str) -> tuple[str, ...]:
        """One plain token (no `#`) as its normal words: repeats collapsed, slang replaced."""
        collapsed = collapse_repeats(token)
        for form in (token, collapsed):
            if form in self.lexicon.slang:
                return self.lexicon.slang[form]
        return (collapsed,) if collapsed else ()

    def token_words(self, token: str) -> tuple[str, ...]:
        """A token as normal words; a hashtag's words are followed by a boundary."""
        if token == BOUNDARY:
            return (BOUNDARY,)
        if not token.startswith("#"):
            return self.word(token)
        tag = collapse_repeats(token.lstrip("#"))
        if not tag or tag in self.lexicon.generic_hashtags:
            return (BOUNDARY,)
        words: list[str] = []
        for part in tag.split("_"):
            for piece in split_hashtag(part, self.vocabulary) if part else ():
                words.extend(self.word(piece))
        return (*words, BOUNDARY)

    def words_of(self, distinct: list[str]) -> list[tuple[str, ...]]:
        """The normal words of each distinct token, from the cache where known."""
        if len(self._cache) > _CACHE_MAX:
            self._cache.clear()
        cache = self._cache
        out = []
        for token in distinct:
            words = cache.get(token)
            if words is None:
                words = cache[token] = self.token_words(token)
            out.append(words)
        return out

    def raw_tokens(self, texts: pl.Series) -> pl.DataFrame:
        """(row, token) in order: the text level of normalisation, before the token map."""
        frame = pl.DataFrame({"text": texts.cast(pl.String)})
        return (
            frame.select(
                pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
                _text_level(pl.col("text")).str.split(" ").alias("token"),
            )
            .explode("token")
            .filter(pl.col("token") != "")
        )

    def tokens(self, texts: pl.Series) -> pl.DataFrame:
        """Words of each text in order, as (row, seg, word): `row` is the text's position,
        `seg` numbers the text's segments (between punctuation, around each hashtag)."""
        if texts.len() == 0:
            return pl.DataFrame(schema=TOKENS_SCHEMA)
        raw = self.raw_tokens(texts)
        distinct = raw["token"].unique().to_list()
        pairs = [
            (t, w)
            for t, words in zip(distinct, self.words_of(distinct), strict=True)
            for w in words
        ]
        token_map = pl.DataFrame(
            {"token": [t for t, _ in pairs], "word": [w for _, w in pairs]},
            schema={"token": pl.String, "word": pl.String},
        )
        mapped = raw.join(token_map, on="token", maintain_order="left")
        boundary = pl.col("word") == BOUNDARY
        return (
            mapped.with_columns(seg=boundary.cum_sum().over("row").cast(pl.UInt32))
            .filter(~boundary)
            .select(list(TOKENS_SCHEMA))
        )

    def normalise(self, texts: pl.Series) -> pl.Series:
        """Each text as its normal words joined by spaces (what `tokens` gives, for reading)."""
        words = self.tokens(texts).group_by("row").agg(pl.col("word").str.join(" "))
        return (
            pl.DataFrame({"row": pl.int_range(texts.len(), dtype=pl.UInt32, eager=True)})
            .join(words, on="row", how="left", maintain_order="left")
            .select(pl.col("word").fill_null(""))
            .to_series()
            .alias(texts.name)
        )
