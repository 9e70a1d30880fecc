"""The scorer contract shared by the baseline and trained models."""

from __future__ import annotations

from typing import Protocol

import polars as pl


class Scorer(Protocol):
    """Turns feature rows into score rows (shared.scores.SCORE_SCHEMA)."""

    version: str

    def score(self, features: pl.DataFrame) -> pl.DataFrame: ...
