"""The catalogue: the products a cooperative or office watches, and how posts name them.

A post never carries a `product_id`; the matcher (shared/text) finds the catalogue's
products in its text by their name, aliases, keywords and hashtags. The catalogue is a
value: a tuple of products and a version that grows with every change, so a connector
that holds version 7 knows it must reload when the API reports 8.

CSV format (`pantau catalogue import|export`): one product per row with the columns of
`CSV_COLUMNS`; the list-valued columns hold their items separated by `|`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

CSV_COLUMNS = ("product_id", "name", "category", "aliases", "keywords", "hashtags")
LIST_SEPARATOR = "|"
_PRODUCT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


class CatalogueError(ValueError):
    """A catalogue row that cannot be used; the message names the row and the field."""


@dataclass(frozen=True)
class CatalogueProduct:
    """One watched product. Aliases are other full names; keywords are words that name it
    only together (all of them must appear); hashtags are written without `#`."""

    product_id: str
    name: str
    category: str = ""
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _PRODUCT_ID.match(self.product_id):
            raise CatalogueError(
                f"product_id {self.product_id!r}: 1-128 letters, digits or . _ : -"
            )
        if self.product_id.startswith("term:"):
            raise CatalogueError(f"product_id {self.product_id!r}: 'term:' names emerging terms")
        if not self.name.strip():
            raise CatalogueError(f"product {self.product_id}: name is empty")


@dataclass(frozen=True)
class Catalogue:
    """The products at one version; `version` 0 is the empty catalogue."""

    products: tuple[CatalogueProduct, ...] = ()
    version: int = 0
    by_id: dict[str, CatalogueProduct] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, CatalogueProduct] = {}
        for product in self.products:
            if product.product_id in by_id:
                raise CatalogueError(f"product_id {product.product_id!r} appears twice")
            by_id[product.product_id] = product
        object.__setattr__(self, "by_id", by_id)


def _split(cell: str | None) -> tuple[str, ...]:
    items = (item.strip() for item in (cell or "").split(LIST_SEPARATOR))
    return tuple(item for item in items if item)


def _hashtags(cell: str | None) -> tuple[str, ...]:
    return tuple(tag.lstrip("#").lower() for tag in _split(cell) if tag.lstrip("#"))


def parse_catalogue_csv(text: str, version: int = 0) -> Catalogue:
    """Read the CSV format; a bad row raises `CatalogueError` naming its line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"product_id", "name"} - set(reader.fieldnames or ())
    if missing:
        raise CatalogueError(f"header lacks {', '.join(sorted(missing))}")
    products = []
    for line, row in enumerate(reader, start=2):
        try:
            products.append(
                CatalogueProduct(
                    product_id=(row.get("product_id") or "").strip(),
                    name=(row.get("name") or "").strip(),
                    category=(row.get("category") or "").strip(),
                    aliases=_split(row.get("aliases")),
                    keywords=_split(row.get("keywords")),
                    hashtags=_hashtags(row.get("hashtags")),
                )
            )
        except CatalogueError as exc:
            raise CatalogueError(f"line {line}: {exc}") from None
    return Catalogue(tuple(products), version)


def read_catalogue_csv(path: Path, version: int = 0) -> Catalogue:
    return parse_catalogue_csv(path.read_text(encoding="utf-8"), version)


def catalogue_csv(products: Iterable[CatalogueProduct]) -> str:
    """The CSV format of `products`, which `parse_catalogue_csv` reads back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in products:
        writer.writerow(
            [
                p.product_id,
                p.name,
                p.category,
                LIST_SEPARATOR.join(p.aliases),
                LIST_SEPARATOR.join(p.keywords),
                LIST_SEPARATOR.join(p.hashtags),
            ]
        )
    return out.getvalue()
