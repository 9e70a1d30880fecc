"""The latest score keeps the latest known name and category when newer rows lack them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from services.api.store import LatestScore, save_scores

TICK_MS = 1_772_384_400_000
STEP_MS = 1_800_000


def test_a_row_without_a_name_keeps_the_known_one(
    sessions: sessionmaker[Session], make_scores: Callable[..., Any]
) -> None:
    with sessions.begin() as session:
        save_scores(session, make_scores({"a": 0.4, "b": 0.4}, TICK_MS))
    nameless = make_scores(
        {"a": 0.7, "b": 0.7}, TICK_MS + STEP_MS, category=None, product_name=None
    ).with_columns(pl.col("category", "product_name").cast(pl.String))
    renamed = make_scores({"b": 0.6}, TICK_MS + 2 * STEP_MS, product_name="Produk b baru")
    with sessions.begin() as session:
        save_scores(session, nameless)
        save_scores(session, renamed)
    with sessions() as session:
        a, b = session.get(LatestScore, "a"), session.get(LatestScore, "b")
        assert a is not None and b is not None
        assert (a.product_name, a.category, a.probability) == ("Produk a", "makanan", 0.7)
        assert (b.product_name, b.probability) == ("Produk b baru", 0.6)
