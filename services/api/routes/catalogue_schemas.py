"""Bodies and the write helper shared by the catalogue and emerging-term routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.catalogue import CatalogueProduct

T = TypeVar("T")
CATALOGUE_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"  # shared.catalogue's; `term:` is refused
# Characters Python's str.strip() removes (and control characters), spelled out so the
# validator and schema-driven clients agree on them; `\s` differs between regex engines.
# No NUL anywhere: PostgreSQL cannot store it in text.
BLANK = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
TEXT = r"^[^\x00]*$"
NAME = rf"^[^\x00]*[^{BLANK}][^\x00]*$"
Item = Annotated[
    str, StringConstraints(pattern=rf"^[^|\x00]*[^|{BLANK}][^|\x00]*$", max_length=256)
]
Hashtag = Annotated[str, StringConstraints(pattern=rf"^#?[^|#{BLANK}]+$", max_length=128)]
Responses = dict[int | str, dict[str, Any]]
NOT_JSON: Responses = {400: {"description": "the body is not valid JSON"}}
CONFLICT: Responses = {409: {"description": "changed at the same time by another request: retry"}}


class ProductFields(BaseModel):
    """A product as PUT sends it; items are trimmed and hashtags lower-cased without `#`,
    as the CSV format reads them."""

    name: str = Field(max_length=256, pattern=NAME, examples=["Kopi Susu Gula Aren Literan"])
    category: str = Field("", max_length=256, pattern=TEXT, examples=["minuman"])
    aliases: list[Item] = Field(
        [], max_length=50, description="other full names", examples=[["es kopi susu aren"]]
    )
    keywords: list[Item] = Field(
        [],
        max_length=50,
        description="words that name it only together: all must appear",
        examples=[["kopi", "aren", "literan"]],
    )
    hashtags: list[Hashtag] = Field([], max_length=50, examples=[["kopiaren", "kopisusu"]])


class Product(ProductFields):
    product_id: str = Field(pattern=CATALOGUE_ID, examples=["kopi-aren-literan"])


class CatalogueBody(BaseModel):
    version: int = Field(ge=0, description="raised by every change", examples=[7])
    products: list[Product]


class Written(BaseModel):
    version: int = Field(ge=0, description="the catalogue's version after the write")
    product: Product | None = None


class ImportResult(BaseModel):
    version: int = Field(ge=0, examples=[8])
    created: int = Field(ge=0, examples=[3])
    updated: int = Field(ge=0, examples=[1])
    deleted: int = Field(ge=0, description="only with mode=replace", examples=[0])
    unchanged: int = Field(ge=0, examples=[20])


def product_body(product: CatalogueProduct) -> Product:
    return Product(
        product_id=product.product_id,
        name=product.name,
        category=product.category,
        aliases=list(product.aliases),
        keywords=list(product.keywords),
        hashtags=list(product.hashtags),
    )


def write(session: Session, change: Callable[[Session], T]) -> T:
    """Run `change(session)` in one transaction of the request's fresh session; a
    concurrent write of the same new product (a primary key already taken) is a 409 to
    retry, not a 500."""
    try:
        with session.begin():
            return change(session)
    except IntegrityError as exc:
        raise HTTPException(409, "the catalogue changed at the same time: retry") from exc
