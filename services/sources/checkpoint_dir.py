"""A connector's durable state as one atomic generation: baselines, poller state, and the
events of the last poll until the broker has them.

Each save writes a new generation directory and then swaps the `CURRENT` pointer with an
atomic rename, so a reader sees one whole generation or the one before, never a mix.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl

CURRENT = "CURRENT"


def saved_int(value: object) -> int:
    """An integer of the saved JSON state, as `int()` reads it (a number or numeric text)."""
    if not isinstance(value, int | float | str):
        raise TypeError(f"saved state: expected a number, got {type(value).__name__}")
    return int(value)


def saved_dict(value: object) -> dict[str, object]:
    """An object of the saved JSON state (a copy)."""
    if not isinstance(value, dict):
        raise TypeError(f"saved state: expected an object, got {type(value).__name__}")
    return dict(value)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(
    root: Path,
    meta: dict[str, object],
    pending: pl.DataFrame | None,
    write_baselines: Callable[[Path], None],
) -> None:
    """Write `meta` (JSON), `pending` events (Arrow IPC) and the baselines (via
    `write_baselines(path)`) as the new current generation."""
    root.mkdir(parents=True, exist_ok=True)
    previous = current_generation(root)
    number = 0 if previous is None else int(previous.name.split("-")[1]) + 1
    gen = root / f"gen-{number:012d}"
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir()
    (gen / "state.json").write_bytes(orjson.dumps(meta))
    if pending is not None and pending.height:
        pending.write_ipc(gen / "pending.arrow")
    write_baselines(gen / "baselines")
    for path in gen.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())
    _fsync_dir(gen)
    tmp = root / f"{CURRENT}.tmp"
    tmp.write_text(gen.name)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, root / CURRENT)
    _fsync_dir(root)
    for old in root.glob("gen-*"):
        if old != gen:
            shutil.rmtree(old, ignore_errors=True)


def current_generation(root: Path) -> Path | None:
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    gen = root / pointer.read_text().strip()
    return gen if gen.is_dir() else None


def load(root: Path) -> tuple[dict[str, object], pl.DataFrame | None, Path] | None:
    """(meta, pending events or None, baselines path) of the current generation, or None."""
    gen = current_generation(root)
    if gen is None:
        return None
    meta = orjson.loads((gen / "state.json").read_bytes())
    pending_path = gen / "pending.arrow"
    pending = pl.read_ipc(io.BytesIO(pending_path.read_bytes())) if pending_path.exists() else None
    return meta, pending, gen / "baselines"
