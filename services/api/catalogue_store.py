"""The catalogue as the API keeps it: one row per product and a version that every change
raises in the same transaction, so a reader holding version N knows it is current while
the store still says N.

Functions take a session and do not commit: the caller's transaction is the unit, so a
change and its version bump land together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.api.db import Base, UTCDateTime, utcnow
from shared.catalogue import Catalogue, CatalogueProduct

VERSION_ROW_ID = 1


class CatalogueProductRecord(Base):
    __tablename__ = "catalogue_products"

    product_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(256), default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogueVersion(Base):
    """One row (`id` = 1): the catalogue's version; no row reads as version 0."""

    __tablename__ = "catalogue_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


def product_of(row: CatalogueProductRecord) -> CatalogueProduct:
    return CatalogueProduct(
        product_id=row.product_id,
        name=row.name,
        category=row.category,
        aliases=tuple(row.aliases),
        keywords=tuple(row.keywords),
        hashtags=tuple(row.hashtags),
    )


def _fields(product: CatalogueProduct) -> dict[str, Any]:
    return {
        "name": product.name,
        "category": product.category,
        "aliases": list(product.aliases),
        "keywords": list(product.keywords),
        "hashtags": list(product.hashtags),
    }


def catalogue_version(session: Session) -> int:
    return session.scalar(select(CatalogueVersion.version)) or 0


def load_catalogue(session: Session) -> Catalogue:
    """Every product (by id) and the version they are at.

    The version is read first: a change committed between the two reads then shows as
    newer products under an older version, which only costs the reader one more reload,
    never the reverse (old products under a new version, which it would keep)."""
    version = catalogue_version(session)
    rows = session.scalars(
        select(CatalogueProductRecord).order_by(CatalogueProductRecord.product_id)
    )
    return Catalogue(tuple(product_of(r) for r in rows), version)


def bump_version(session: Session) -> int:
    """Raise the version by one (in the caller's transaction) and return it. An upsert on
    one row: concurrent writers on PostgreSQL queue on its lock, so versions never repeat."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(CatalogueVersion).values(id=VERSION_ROW_ID, version=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=["id"], set_={"version": CatalogueVersion.version + 1}
    ).returning(CatalogueVersion.version)
    return int(session.execute(upsert).scalar_one())


@dataclass(frozen=True)
class Change:
    """What a write did; `version` is the catalogue's version after it."""

    version: int
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)


def apply_products(
    session: Session, products: tuple[CatalogueProduct, ...], replace: bool = False
) -> Change:
    """Create or replace `products`; with `replace`, delete every other product too. The
    version rises once if anything changed, not at all otherwise (a repeated import does
    not make every connector reload)."""
    query = select(CatalogueProductRecord)
    if not replace:
        query = query.where(CatalogueProductRecord.product_id.in_([p.product_id for p in products]))
    current = {row.product_id: row for row in session.scalars(query)}
    created = updated = unchanged = 0
    now = utcnow()
    for product in products:
        row = current.get(product.product_id)
        if row is None:
            session.add(
                CatalogueProductRecord(
                    product_id=product.product_id, updated_at=now, **_fields(product)
                )
            )
            created += 1
        elif product_of(row) == product:
            unchanged += 1
        else:
            for name, value in _fields(product).items():
                setattr(row, name, value)
            row.updated_at = now
            updated += 1
    gone = set(current) - {p.product_id for p in products} if replace else set()
    if gone:
        session.execute(
            delete(CatalogueProductRecord).where(CatalogueProductRecord.product_id.in_(gone))
        )
    change = Change(0, created, updated, len(gone), unchanged)
    version = bump_version(session) if change.changed else catalogue_version(session)
    return Change(version, created, updated, len(gone), unchanged)


def delete_product(session: Session, product_id: str) -> int | None:
    """Delete one product; the new version, or None when there was no such product."""
    result = session.execute(
        delete(CatalogueProductRecord).where(CatalogueProductRecord.product_id == product_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return bump_version(session)
