"""Counter baselines on disk: one Parquet file, replaced atomically.

A crash while saving leaves the previous file whole (write to a temporary file in the
same directory, fsync, rename), so a restarted importer or poller resumes from the
baselines of its last delivered batch, never from half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl

from services.sources.counters import CounterBaselines


def save(baselines: CounterBaselines, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            baselines.frame.write_parquet(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load(path: Path) -> CounterBaselines:
    """The saved baselines, or empty ones when nothing was saved yet."""
    path = Path(path)
    if not path.exists():
        return CounterBaselines.empty()
    return CounterBaselines.from_frame(pl.read_parquet(path))
