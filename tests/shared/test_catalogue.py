"""The catalogue's CSV format reads back what it writes and names the bad line."""

from __future__ import annotations

import pytest

from shared.catalogue import (
    Catalogue,
    CatalogueError,
    CatalogueProduct,
    catalogue_csv,
    parse_catalogue_csv,
)

SAMBAL = CatalogueProduct(
    product_id="sambal-bawang-jar",
    name="Sambal bawang jar",
    category="makanan",
    aliases=("sambel bawang botol",),
    keywords=("sambal", "bawang", "jar"),
    hashtags=("sambalbawang",),
)


def test_csv_round_trip() -> None:
    plain = CatalogueProduct(product_id="tas-pandan", name="Tas anyaman pandan")
    text = catalogue_csv([SAMBAL, plain])
    assert parse_catalogue_csv(text).products == (SAMBAL, plain)


def test_hashtags_lose_their_hash_and_case() -> None:
    text = "product_id,name,hashtags\nx1,Kopi,#KopiSusu| #kopi \n"
    assert parse_catalogue_csv(text).products[0].hashtags == ("kopisusu", "kopi")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("product_id,name\n,Kopi\n", "line 2"),
        ("product_id,name\nterm:kopi,Kopi\n", "term:"),
        ("product_id,name\nk1,\n", "name is empty"),
        ("name\nKopi\n", "header lacks product_id"),
        ("product_id,name\nk1,Kopi\nk1,Teh\n", "appears twice"),
    ],
)
def test_bad_rows_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue_csv(text)


def test_lookup_by_id() -> None:
    assert Catalogue((SAMBAL,), version=3).by_id["sambal-bawang-jar"] is SAMBAL
