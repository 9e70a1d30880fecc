"""Which catalogue products a post mentions, with a score. Pure; columnar.

Each product is named by signatures: its name, each alias, each hashtag and its keywords
taken together, each as the set of its normal words (stop words left out). A post
mentions a product when every word of one of its signatures appears in the post, near
each other, so "sambal" alone never matches "Sambal Bawang Jar" (signature {sambal,
bawang, jar}) and only names, aliases or keywords the catalogue lists can match.

Near: the words of a signature of n words stand within n + `max_gap` consecutive
positions, in any order ("sambal bawang pedas dalam jar"). A token is one position (a
hashtag's words share theirs: "#sambalbawang"), and a punctuation mark or a hashtag's
edge costs one more, so "Wayang orang di Taman Mini" is not "Wayang Kulit Mini" (its
keywords {wayang, mini} are four words apart) and "Rak buku penuh, piring kotor" is not
"Rak Piring".

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
from shared.text.normalise import BOUNDARY, Normaliser

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32(),
    "product_id": pl.String(),
    "score": pl.Float32(),
}
THRESHOLD = 0.85
FUZZY_CUTOFF = 0.8
MAX_GAP = 2  # positions a signature's words may leave between them (module docstring)
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
        max_gap: int = MAX_GAP,
    ) -> None:
        self.catalogue, self.threshold, self.fuzzy_cutoff = catalogue, threshold, fuzzy_cutoff
        self.max_gap = max_gap
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
        # `pos` orders a post's words (one per token: a hashtag's words share theirs); it
        # runs across posts, which is harmless since only positions of one post are compared.
        boundary = pl.col("token") == BOUNDARY
        tokens = (
            self.normaliser.raw_tokens(texts)
            .with_columns(crossed=boundary.cum_sum())
            .filter(~boundary)
            .with_row_index("pos")
            .select("row", "token", pl.col("pos") + pl.col("crossed"))
        )
        hits = tokens.join(self._token_map(tokens["token"]), on="token").drop("token")
        found = (
            hits.group_by("row", "canon")
            .agg(pl.max("similarity"), pl.min("pos").alias("first"))
            .join(self.signatures, left_on="canon", right_on="word")
            .group_by("row", "sig")
            .agg(
                pl.len().alias("present"),
                pl.mean("similarity").alias("score"),
                (pl.max("first") - pl.min("first")).alias("spread"),  # of first occurrences
            )
            .join(self.signature_info, on="sig")
            .filter((pl.col("present") == pl.col("size")) & (pl.col("score") >= self.threshold))
        )
        found = self._near(found, hits)
        if found.height == 0:
            return empty_matches()
        return (
            _drop_subsumed(found)
            .group_by("row", "product_id")
            .agg(pl.max("score"))
            .sort("row", "product_id")
            .select(pl.col(n).cast(t) for n, t in MATCH_SCHEMA.items())
        )

    def _near(self, found: pl.DataFrame, hits: pl.DataFrame) -> pl.DataFrame:
        """The `found` signatures whose words stand within `size + max_gap` consecutive
        positions of the post. When the words' first occurrences fit, that decides (most
        matches); for the others each occurrence of one of their words anchors a window,
        and a window holding every word of the signature keeps it."""
        width = pl.col("size") + self.max_gap
        fits = pl.col("spread") < width
        several = found.filter(~fits).select("row", "sig", "size")
        decided = found.filter(fits)
        if several.height == 0:
            return decided
        occurrences = several.join(self.signatures.select("sig", "word"), on="sig").join(
            hits.select("row", pl.col("canon").alias("word"), "pos"), on=["row", "word"]
        )
        near = (
            occurrences.join(
                occurrences.select("row", "sig", pl.col("pos").alias("start")), on=["row", "sig"]
            )
            .filter((pl.col("pos") >= pl.col("start")) & (pl.col("pos") < pl.col("start") + width))
            .group_by("row", "sig", "start", "size")
            .agg(pl.col("word").n_unique().alias("within"))
            .filter(pl.col("within") == pl.col("size"))
            .select("row", "sig")
            .unique()
        )
        return pl.concat([decided, found.join(near, on=["row", "sig"], how="semi")])


def _drop_subsumed(found: pl.DataFrame) -> pl.DataFrame:
    """Matched signatures whose words are not a strict subset of another product's match
    in the same post (matches per post are few, so the self-join is small; it is made only
    over the posts that matched two products or more)."""
    several = (
        found.select("row", "product_id")
        .unique()
        .group_by("row")
        .len()
        .filter(pl.col("len") > 1)
        .select("row")
    )
    if several.height == 0:
        return found
    candidates = found.join(several, on="row", how="semi").select(
        "row", "sig", "product_id", "words"
    )
    pairs = candidates.join(
        candidates.select("row", pl.col("product_id").alias("other"), pl.col("words").alias("ow")),
        on="row",
    ).filter(
        (pl.col("product_id") != pl.col("other"))
        & (pl.col("words").list.len() < pl.col("ow").list.len())
        & (pl.col("words").list.set_difference("ow").list.len() == 0)
    )
    return found.join(pairs.select("row", "sig").unique(), on=["row", "sig"], how="anti")
