"""Emerging terms: 1-3-word runs without stop words, and the daily-share noise rule."""

from __future__ import annotations

import polars as pl

from shared.text.normalise import Normaliser
from shared.text.terms import SUPPORT_SCHEMA, TERMS_SCHEMA, drop_common, post_terms, supported


def terms_of(texts: list[str], vocabulary: tuple[str, ...] = ()) -> list[set[str]]:
    found = post_terms(pl.Series(texts), Normaliser(vocabulary))
    return [set(found.filter(pl.col("row") == i)["term"].to_list()) for i in range(len(texts))]


def test_runs_of_one_to_three_words_broken_by_stop_words_and_punctuation() -> None:
    [terms] = terms_of(["lagi hits bgt kopi gula aren yg creamy, enak pol"])
    assert {"kopi", "gula aren", "kopi gula aren", "creamy", "hits"} <= terms
    assert "aren yang creamy" not in terms and "aren creamy" not in terms
    assert "creamy enak" not in terms  # a comma ends the run
    assert not any(len(t.split()) > 3 for t in terms)
    assert not {"yang", "banget", "lagi"} & terms


def test_hashtags_are_terms_and_generic_ones_are_not() -> None:
    [terms] = terms_of(["#kopigulaaren #fyp #viral #racuntiktok"], ("kopi", "gula", "aren"))
    assert "kopi gula aren" in terms
    assert not {"fyp", "viral", "racuntiktok", "racun tiktok"} & terms


def test_runs_never_join_two_posts() -> None:
    found = post_terms(pl.Series(["kopi dalgona", "gurih renyah"]), Normaliser())
    assert "dalgona gurih" not in found["term"].to_list()
    assert "kopi" in found["term"].to_list()  # the first word of the first post too


def test_generic_tags_written_as_words_are_no_terms() -> None:
    [terms] = terms_of(["Lagi viral kemeja batik, produk umkm #FYP #UMKM"])
    assert {"kemeja batik", "produk"} <= terms
    assert not {"viral", "umkm", "viral kemeja", "produk umkm", "fyp"} & terms


def test_a_post_counts_a_term_once() -> None:
    found = post_terms(pl.Series(["dalgona dalgona dalgona"]), Normaliser())
    assert found.filter(pl.col("term") == "dalgona").height == 1


def test_terms_in_most_posts_of_a_day_are_dropped() -> None:
    texts = [f"gurih kopi dalgona {i}" if i < 5 else f"gurih produk{i}" for i in range(30)]
    terms = post_terms(pl.Series(texts), Normaliser())
    days = pl.Series(["d1"] * 30)
    kept = set(drop_common(terms, days, max_share=0.5, min_posts=20)["term"].to_list())
    assert "gurih" not in kept  # in all 30 posts
    assert "kopi dalgona" in kept  # in 5 of 30
    # A small day keeps everything: one post's terms are in all of that day's posts.
    assert "gurih" in set(drop_common(terms.filter(pl.col("row") < 3), days)["term"].to_list())


def test_the_rule_counts_each_day_on_its_own() -> None:
    texts = ["gurih sekali"] * 25 + [f"kopi {c} gurih" for c in "vwxyz"] + ["lain"] * 20
    days = pl.Series(["d1"] * 25 + ["d2"] * 25)
    kept = drop_common(post_terms(pl.Series(texts), Normaliser()), days, min_posts=20)
    on_d2 = kept.filter(pl.col("row") >= 25)
    assert "gurih" not in kept.filter(pl.col("row") < 25)["term"].to_list()
    assert "gurih" in on_d2["term"].to_list()  # 5 of d2's 25 posts


def test_support_counts_posts_seen_before_and_forgets_old_days() -> None:
    seen = pl.DataFrame(
        {
            "day": [10, 10, 3],
            "term": ["kopi pandan"] * 3,
            "post": ["a", "b", "z"],
            "first_ms": [1, 2, 0],
        },
        schema=SUPPORT_SCHEMA,
    )
    terms = pl.DataFrame({"row": [0, 1], "term": ["kopi pandan", "es kuwut"]}, schema=TERMS_SCHEMA)
    posts = pl.DataFrame({"day": [10, 10], "post": ["a", "c"], "observed_ms": [5, 7]})
    posts = posts.with_row_index("row")
    kept, state = supported(terms.filter(pl.col("row") == 0), posts, seen, min_support=3)
    assert kept.height == 0  # post a again: still two posts of day 10
    kept, state = supported(terms.with_columns(pl.lit("kopi pandan").alias("term")), posts, seen, 3)
    assert kept["row"].to_list() == [1]  # c is the third post, first seen at 7: a at 5 is before
    assert sorted(state["post"].to_list()) == ["a", "b", "c"]  # day 3 forgotten
