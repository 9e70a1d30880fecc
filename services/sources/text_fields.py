"""Platform text (titles, descriptions) made fit for the event's text fields."""

from __future__ import annotations

import polars as pl


def clean_text(col: pl.Expr, max_chars: int) -> pl.Expr:
    """No control characters, no leading `{` or `[` (event validation refuses both), at
    most `max_chars` characters; empty becomes null."""
    return (
        col.str.replace_all(r"[\x00-\x1f\x7f]+", " ")
        .str.strip_chars()
        .str.strip_chars_start("{[")
        .str.slice(0, max_chars)
        .replace("", None)
    )
