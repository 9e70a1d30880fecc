"""Counter baselines on disk: one Parquet file, replaced atomically, and the term
support beside it (`<name>-terms<suffix>`).

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


def support_path(path: Path) -> Path:
    """Where the term support saved with the baselines at `path` lives (beside them)."""
    path = Path(path)
    return path.with_name(f"{path.stem}-terms{path.suffix}")


def save(baselines: CounterBaselines, path: Path) -> None:
    """The term support first, then the counters: a crash between the two leaves support
    that already holds the batch's posts, which counting them again does not change."""
    _write(baselines.term_support, support_path(path))
    _write(baselines.frame, Path(path))


def _write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            frame.write_parquet(fh)
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
    """The saved baselines, or empty ones when nothing was saved yet (no term support
    saved: none, as before it was kept)."""
    path = Path(path)
    if not path.exists():
        return CounterBaselines.empty()
    support = support_path(path)
    return CounterBaselines.from_frame(
        pl.read_parquet(path), pl.read_parquet(support) if support.exists() else None
    )
