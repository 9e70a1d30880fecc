"""Durable partition state: window state and the offset it reflects, in one file.

Written to a temporary file, fsynced, then renamed over the old one, so a crash at any
instant leaves either the previous or the new checkpoint, never a torn one. The temporary
name is unique per write: a worker that lost its partition in a rebalance but has not yet
noticed may still be saving it while the new owner does. The Kafka offset is committed
only after this returns.
"""

from __future__ import annotations

import os
import pickle
import uuid
from dataclasses import dataclass
from pathlib import Path

from services.ingest.processor import PartitionProcessor

# 2: spread state summed per closed hour (version 1 kept per-minute rows).
# 3: per-slot spread features in narrower integers, and the rows new to the current hour.
# 4: dedup ids in sorted arrays instead of Python sets.
# 5: spread rows waiting for a tick kept batch by batch.
# 6: events no tick has counted yet, and the hour's category medians (rows only for
#    products with new events, and every active product at the hour).
FORMAT_VERSION = 6


@dataclass(frozen=True)
class Checkpoint:
    processor: PartitionProcessor
    next_offset: int


def _path(directory: Path, topic: str, partition: int) -> Path:
    return directory / f"{topic}-{partition}.ckpt"


def save(directory: Path, topic: str, checkpoint: Checkpoint) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = _path(directory, topic, checkpoint.processor.partition)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump((FORMAT_VERSION, checkpoint), f, protocol=pickle.HIGHEST_PROTOCOL)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(directory: Path, topic: str, partition: int) -> Checkpoint | None:
    path = _path(directory, topic, partition)
    if not path.exists():
        return None
    with open(path, "rb") as f:
        version, checkpoint = pickle.load(f)
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {version}, expected {FORMAT_VERSION}")
    return checkpoint
