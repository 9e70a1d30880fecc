"""Each normalisation step on its own, then all of them on a real-looking post."""

from __future__ import annotations

import polars as pl
import pytest

from shared.text.lexicon import lexicon
from shared.text.normalise import Normaliser, collapse_repeats, split_hashtag


def norm(text: str, vocabulary: tuple[str, ...] = ()) -> str:
    return Normaliser(vocabulary).normalise(pl.Series([text])).item()


def test_case_and_accents() -> None:
    assert norm("KOPI Café Crème") == "kopi cafe creme"


def test_emoji_and_symbols_are_dropped() -> None:
    assert norm("enak😍🔥 ~pol~ *banget*") == "enak pol banget"


def test_links_and_mentions_are_dropped() -> None:
    assert norm("cek @toko.budi https://s.id/abc www.toko.id sekarang") == "cek sekarang"


@pytest.mark.parametrize(
    ("written", "normal"),
    [("bangeeet", "banget"), ("mantaaaap", "mantap"), ("enaaak", "enak"), ("maaf", "maaf")],
)
def test_repeated_letters(written: str, normal: str) -> None:
    assert collapse_repeats(written) == normal


def test_reduplication_with_a_digit_or_a_hyphen() -> None:
    assert norm("baju2 anak") == "baju baju anak"
    assert norm("kue-kue lebaran") == "kue kue lebaran"
    assert norm("300ml 2") == "300ml 2"  # a number is not a reduplication


def test_slang_and_abbreviations_from_the_dictionary() -> None:
    assert norm("yg murmer bgt") == "yang murah meriah banget"
    assert norm("kripik sambel") == "keripik sambal"
    # Repeats are collapsed before the dictionary is read.
    assert norm("bgttt") == "banget"


def test_every_slang_entry_reads_back() -> None:
    slang = lexicon().slang
    assert len(slang) > 100
    assert all(normal and all(w == w.lower() for w in normal) for normal in slang.values())


def test_hashtags_split_into_vocabulary_words() -> None:
    assert norm("#TasAnyaman", ("tas", "anyaman")) == "tas anyaman"
    assert norm("#kopisusugulaaren", ("kopi", "susu", "gula", "aren")) == "kopi susu gula aren"
    # A tag the vocabulary cannot spell stays whole.
    assert norm("#dalgonaxyz", ("dalgona",)) == "dalgonaxyz"
    assert split_hashtag("tasanyaman", frozenset({"tas", "anyaman", "tasa", "nyaman"})) in {
        ("tas", "anyaman"),
        ("tasa", "nyaman"),
    }


def test_generic_hashtags_are_dropped() -> None:
    assert norm("keripik #fyp #racuntiktok #Viral") == "keripik"


def test_segments_break_at_punctuation_and_hashtags() -> None:
    tokens = Normaliser(("tas", "anyaman")).tokens(pl.Series(["enak, murah #tasanyaman lagi"]))
    segs = tokens.group_by("seg", maintain_order=True).agg(pl.col("word").str.join(" "))
    assert segs["word"].to_list() == ["enak", "murah", "tas anyaman", "lagi"]


def test_a_whole_post_and_rows_without_text() -> None:
    posts = pl.Series(
        [
            "Tas anyaman pandan ini bagus bangeeet 😍 yg murmer, baju2 jg ada #tasanyaman #fyp",
            None,
            "",
        ]
    )
    got = Normaliser(("tas", "anyaman", "pandan")).normalise(posts).to_list()
    assert got == [
        "tas anyaman pandan ini bagus banget yang murah meriah baju baju juga ada tas anyaman",
        "",
        "",
    ]
