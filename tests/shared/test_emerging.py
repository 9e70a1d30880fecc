"""The emerging-term rules: when a term already names a catalogue product, how a term's
context stays bounded, and what product a promoted term becomes."""

from __future__ import annotations

import pytest

from shared.catalogue import Catalogue, CatalogueError, CatalogueProduct
from shared.emerging import (
    MAX_EXAMPLES,
    MAX_POSTS,
    MAX_WORDS,
    context_words,
    matching_product,
    merge_context,
    merge_posts,
    promoted_product,
)

KOPI = CatalogueProduct(
    "kopi-aren",
    "Kopi Susu Gula Aren",
    "minuman",
    aliases=("es kopi aren",),
    keywords=("kopsus", "aren"),
    hashtags=("kopiaren",),
)
CATALOGUE = Catalogue((KOPI,), 3)


@pytest.mark.parametrize(
    ("term", "named"),
    [
        ("kopi susu gula aren", True),  # the name's words
        ("Gula-Aren_Kopi susu", True),  # in any order, any case, - and _ as spaces
        ("es kopi aren", True),  # an alias
        ("aren kopsus", True),  # the keyword set
        ("#kopiaren", True),  # a hashtag
        ("kopi aren", True),  # run together, a hashtag
        ("#KopiAren", True),
        ("kopi susu", False),  # part of a name is a new phrase
        ("kopi susu gula aren literan", False),  # more than a name
        ("kopi pandan", False),
        ("#", False),
    ],
)
def test_a_term_names_a_product_by_its_words_or_hashtag(term: str, named: bool) -> None:
    assert (matching_product(term, CATALOGUE) is KOPI) is named


def test_context_keeps_the_top_words_and_the_last_examples() -> None:
    counts, examples = merge_context({}, [], {f"w{i:02d}": i + 1 for i in range(30)}, ["a", "b"])
    assert len(counts) == MAX_WORDS
    assert next(iter(counts)) == "w29" and "w00" not in counts
    counts, examples = merge_context(
        counts, examples, {"w10": 100, "zero": 0}, ["c", "d", "e", "a", "f"]
    )
    assert next(iter(counts)) == "w10" and counts["w10"] == 111
    assert "zero" not in counts
    assert examples == ["c", "d", "e", "a", "f"][-MAX_EXAMPLES:]
    tied, _ = merge_context({}, [], {"b": 1, "a": 1}, [])
    assert list(tied) == ["a", "b"]  # ties by word: the cut never depends on arrival order


def test_a_promoted_term_becomes_a_product_the_term_then_names() -> None:
    product = promoted_product("#KopiPandan")
    assert (product.product_id, product.name, product.hashtags) == (
        "kopipandan",
        "Kopipandan",
        ("kopipandan",),
    )
    phrase = promoted_product("kopi-pandan", category="minuman")
    assert (phrase.product_id, phrase.name, phrase.hashtags) == ("kopi-pandan", "Kopi pandan", ())
    assert matching_product("kopi-pandan", Catalogue((phrase,))) is phrase
    named = promoted_product("kopi-pandan", product_id="kp-1", name="Kopi Pandan Botol")
    assert (named.product_id, named.name) == ("kp-1", "Kopi Pandan Botol")
    with pytest.raises(CatalogueError):
        promoted_product("kopi", product_id="term:kopi")


def test_a_post_counts_once_for_its_words_and_only_for_the_last_seven_days() -> None:
    day_ms = 86_400_000
    posts = merge_posts({}, {"tt:1": (0, ("gula", "aren")), "tt:2": (0, ("gula",))})
    # The same two posts polled again an hour later, and a new one: counted once each.
    posts = merge_posts(posts, {"tt:1": (3_600_000, ("gula", "aren")), "tt:3": (day_ms, ("es",))})
    assert context_words({}, posts) == {"gula": 2, "aren": 1, "es": 1}
    assert posts["tt:1"][0] == 3_600_000  # its latest sighting
    later = merge_posts(posts, {"tt:4": (8 * day_ms - 1, ("es",))})
    assert set(later) == {"tt:3", "tt:4"}  # older than 7 days before the newest: gone
    assert context_words({"gula": 5}, later) == {"gula": 5, "es": 2}  # counts sent bare add
    many = merge_posts({}, {f"p{i:03d}": (i, ("w",)) for i in range(MAX_POSTS + 10)})
    assert len(many) == MAX_POSTS and "p000" not in many and f"p{MAX_POSTS + 9:03d}" in many
