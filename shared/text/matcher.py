"""Which catalogue products a post mentions, with a score. Pure; columnar.

Each product is named by signatures: its name, each alias, each hashtag and its keywords
taken together, each as the set of its normal words (stop words left out). A post
mentions a product when every word of one of its signatures appears in the post, so
"sambal" alone never matches "Sambal Bawang Jar" (signature {sambal, bawang, jar}) and
only names, aliases or keywords the catalogue lists can match.

Typos are forgiven word by word: a post word that is not in the catalogue's vocabulary
takes its closest vocabulary word by RapidFuzz's normalised Indel similarity when that
is at least `fuzzy_cutoff` (anyamn → anyaman 0.92, pisng → pisang 0.91). A signature's
score is the mean similarity of its words, so one typo in a three-word name passes
where the same typo in a one-word name does not; a match needs `threshold`.

When two products match a post and one's matched words are a strict subset of the
other's ("keripik pisang" inside "keripik pisang coklat"), only the longer one is kept.

Per event the work is Polars joins and group-bys; RapidFuzz runs once per distinct
unknown word and its answer is cached for the matcher's life (one catalogue version).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from shared.catalogue import Catalogue
from shared.text.normalise import Normaliser

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "product_id": pl.String(),
    "score": pl.Float32(),
}
THRESHOLD = 0.85
FUZZY_CUTOFF = 0.8
MIN_FUZZY_CHARS = 4  # shorter words differ by one letter too easily (tas/tes, jar/jam)
# Left out of names: words that join a name's parts but are not said in posts. Other stop
# words stay, since for terms they are noise but in a name they name ("Lampu Tidur Bulan").
FUNCTION_WORDS = (
    "dan",
    "di",
    "ke",
    "dari",
    "untuk",
    "dengan",
    "yang",
    "atau",
    "and",
    "for",
    "of",
    "with",
    "the",
)
_CACHE_MAX = 500_000


def empty_matches() -> pl.DataFrame:
    return pl.DataFrame(schema=MATCH_SCHEMA)


class Matcher:
    """Built once per catalogue version; `match` is then called on batches of posts."""

    def __init__(
        self,
        catalogue: Catalogue,
        threshold: float = THRESHOLD,
        fuzzy_cutoff: float = FUZZY_CUTOFF,
    ) -> None:
        self.catalogue, self.threshold, self.fuzzy_cutoff = catalogue, threshold, fuzzy_cutoff
        plain = Normaliser()
        phrases: list[tuple[str, str]] = []
        for p in catalogue.products:
            phrases += [(p.product_id, p.name)] + [(p.product_id, a) for a in p.aliases]
            if p.keywords:
                phrases.append((p.product_id, " ".join(p.keywords)))
        # Hashtags are split with the words of names, aliases and keywords.
        named = plain.tokens(pl.Series([text for _, text in phrases], dtype=pl.String))
        self.normaliser = Normaliser(named["word"].unique().to_list())
        phrases += [(p.product_id, f"#{tag}") for p in catalogue.products for tag in p.hashtags]
        self.signatures = self._signatures(phrases)
        self.signature_info = self.signatures.group_by("sig").agg(
            pl.first("product_id"), pl.first("size"), pl.col("word").sort().alias("words")
        )
        self.vocabulary: list[str] = self.signatures["word"].unique().sort().to_list()
        self._known: dict[str, tuple[str, float] | None] = {w: (w, 1.0) for w in self.vocabulary}

    def _signatures(self, phrases: list[tuple[str, str]]) -> pl.DataFrame:
        """(sig, product_id, word, size): one row per distinct word of each signature."""
        tokens = self.normaliser.tokens(pl.Series([t for _, t in phrases], dtype=pl.String))
        words = (
            tokens.with_columns(
                product_id=pl.Series([pid for pid, _ in phrases]).gather(tokens["row"])
            )
            .with_columns(stop=pl.col("word").is_in(FUNCTION_WORDS))
            # A name made only of function words keeps them; otherwise they are left out.
            .filter(~pl.col("stop") | pl.col("stop").all().over("row"))
            .group_by("row", maintain_order=True)
            .agg(pl.first("product_id"), pl.col("word").unique().sort())
        )
        return (
            words.unique(["product_id", "word"], maintain_order=True)
            .with_row_index("sig")
            .with_columns(size=pl.col("word").list.len().cast(pl.UInt32))
            .explode("word")
            .select("sig", "product_id", "word", "size")
        )

    def _closest(self, words: list[str]) -> None:
        """Remember the closest vocabulary word (or none) of each word not seen before."""
        if len(self._known) > _CACHE_MAX:
            self._known = {w: (w, 1.0) for w in self.vocabulary}
        new = [w for w in words if w not in self._known]
        long_new = [w for w in new if len(w) >= MIN_FUZZY_CHARS]
        for w in new:
            self._known[w] = None
        candidates = [v for v in self.vocabulary if len(v) >= MIN_FUZZY_CHARS]
        if not long_new or not candidates:
            return
        cutoff = self.fuzzy_cutoff * 100
        scores = process.cdist(
            long_new, candidates, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8
        )
        best = scores.argmax(axis=1)
        for w, j, s in zip(long_new, best, scores[np.arange(len(long_new)), best], strict=True):
            if s >= cutoff:
                self._known[w] = (candidates[j], float(s) / 100)

    def _token_map(self, tokens: pl.Series) -> pl.DataFrame:
        """(token, canon, similarity) for the batch's tokens whose words name vocabulary
        words; a token that expands ("#tasanyaman") has a row per word."""
        distinct = tokens.unique().to_list()
        words = self.normaliser.words_of(distinct)
        self._closest(list({w for ws in words for w in ws}))
        known = self._known
        hits = [
            (t, k) for t, ws in zip(distinct, words, strict=True) for w in ws if (k := known.get(w))
        ]
        return pl.DataFrame(
            {
                "token": [t for t, _ in hits],
                "canon": [k[0] for _, k in hits],
                "similarity": [k[1] for _, k in hits],
            },
            schema={"token": pl.String, "canon": pl.String, "similarity": pl.Float32},
        )

    def match(self, texts: pl.Series) -> pl.DataFrame:
        """Every (row, product_id, score) with score ≥ threshold; `row` is the text's position."""
        if texts.len() == 0 or self.signatures.height == 0:
            return empty_matches()
        tokens = self.normaliser.raw_tokens(texts)
        found = (
            tokens.join(self._token_map(tokens["token"]), on="token")
            .group_by("row", "canon")
            .agg(pl.max("similarity"))
            .join(self.signatures, left_on="canon", right_on="word")
            .group_by("row", "sig")
            .agg(pl.len().alias("present"), pl.mean("similarity").alias("score"))
            .join(self.signature_info, on="sig")
            .filter((pl.col("present") == pl.col("size")) & (pl.col("score") >= self.threshold))
        )
        if found.height == 0:
            return empty_matches()
        return (
            _drop_subsumed(found)
            .group_by("row", "product_id")
            .agg(pl.max("score"))
            .sort("row", "product_id")
            .select(pl.col(n).cast(t) for n, t in MATCH_SCHEMA.items())
        )


def _drop_subsumed(found: pl.DataFrame) -> pl.DataFrame:
    """Matched signatures whose words are not a strict subset of another product's match
    in the same post (matches per post are few, so the self-join is small)."""
    pairs = (
        found.select("row", "sig", "product_id", "words")
        .join(
            found.select("row", pl.col("product_id").alias("other"), pl.col("words").alias("ow")),
            on="row",
        )
        .filter(
            (pl.col("product_id") != pl.col("other"))
            & (pl.col("words").list.len() < pl.col("ow").list.len())
            & (pl.col("words").list.set_difference("ow").list.len() == 0)
        )
    )
    return found.join(pairs.select("row", "sig").unique(), on=["row", "sig"], how="anti")
