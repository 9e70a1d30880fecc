"""Feature rows appended to Parquet, partitioned by UTC day, for training.

A replay after a crash may write the same (product, tick) rows again; readers drop
such repeats, so writes never need coordination with checkpoints. Each file is written
under a temporary name and renamed, so a worker killed mid-write leaves no torn file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import polars as pl

from services.ingest.config import DAY_MS


def append(directory: Path, rows: pl.DataFrame) -> None:
    if rows.height == 0:
        return
    rows = rows.with_columns(day=(pl.col("tick_ms") // DAY_MS))
    for (day,), part in rows.partition_by("day", as_dict=True).items():
        date = pl.select(pl.lit(day * DAY_MS).cast(pl.Datetime("ms")).dt.date()).item()
        folder = directory / f"day={date.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        tmp = folder / f".{name}.tmp"
        part.drop("day").write_parquet(tmp)
        os.replace(tmp, folder / f"{name}.parquet")


def read(directory: Path) -> pl.DataFrame:
    """All logged feature rows, each (product, tick) once."""
    files = sorted(directory.glob("day=*/*.parquet"))
    if not files:
        raise FileNotFoundError(f"no feature log under {directory}")
    return (
        pl.concat([pl.read_parquet(f) for f in files], how="vertical_relaxed")
        .unique(["product_id", "tick_ms"], keep="first")
        .sort("tick_ms", "product_id")
    )
