"""Durable partition state: window state and the offset it reflects, in one file.

A checkpoint is an uncompressed NumPy .npz archive: the state's named arrays (see
`PartitionProcessor.to_arrays`; no object arrays, read with `allow_pickle=False`) plus a
`header` member, UTF-8 JSON: format version, topic, partition, next offset, the
WindowConfig the state was built under, and the event-time scalars.

Written to a temporary file, fsynced, then renamed over the old one, so a crash at any
instant leaves either the previous or the new checkpoint, never a torn one. The temporary
name is unique per write: a worker that lost its partition in a rebalance but has not yet
noticed may still be saving it while the new owner does. The Kafka offset is committed
only after this returns.

`load` never raises on a bad checkpoint. Anything it cannot use (unreadable, corrupt, an
unknown version, another partition, other window settings, a pickle of the formats
before 6) is logged with the reason and reported as no checkpoint, so the partition is
rebuilt by replaying the topic from the start of its retention. Pickles are never
loaded: unpickling a file runs whatever code it names, and the state they held lacks
what later formats keep (the events no tick has counted yet, the price rings), so
resuming one would publish different features than a replay.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from services.ingest.config import WindowConfig
from services.ingest.processor import PartitionProcessor
from shared.logs import log_event

log = logging.getLogger(__name__)

# 1-5: a pickled (version, Checkpoint); 5 kept the spread rows waiting for a tick batch by
# batch. 6: named arrays and a JSON header in an .npz archive. 7: events no tick has
# counted yet, and the hour's category medians (rows only for products with new events,
# and every active product at the hour); later also the catalog's price rings, which an
# archive written before them lacks (they start empty). 8: the history of each product's
# published rows (the history columns), which no older archive holds: those are rebuilt.
FORMAT_VERSION = 8
HEADER = "header"
_NPZ_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"


@dataclass(frozen=True)
class Checkpoint:
    processor: PartitionProcessor
    next_offset: int


class Unusable(Exception):
    """Why a checkpoint file cannot be resumed from."""


def file_path(directory: Path, topic: str, partition: int) -> Path:
    """Where the checkpoint of one partition of `topic` lives."""
    return directory / f"{topic}-{partition}.ckpt"


def save(directory: Path, topic: str, checkpoint: Checkpoint) -> None:
    processor = checkpoint.processor
    header = {
        "format": FORMAT_VERSION,
        "topic": topic,
        "partition": processor.partition,
        "next_offset": checkpoint.next_offset,
        "config": dataclasses.asdict(processor.config),
        "clock": processor.clock,
    }
    arrays = processor.to_arrays()
    arrays[HEADER] = np.frombuffer(orjson.dumps(header), dtype=np.uint8)
    directory.mkdir(parents=True, exist_ok=True)
    path = file_path(directory, topic, processor.partition)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, allow_pickle=False, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load(directory: Path, topic: str, partition: int, config: WindowConfig) -> Checkpoint | None:
    """The partition's checkpoint, or None: start afresh from the beginning of the topic.

    None also when the file cannot be used; the reason is logged as a warning.
    """
    path = file_path(directory, topic, partition)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            return _read(f, topic, partition, config)
    # Whatever is wrong with the file, replaying the topic rebuilds the state: a failed
    # read must not escape into the partition-assignment callback.
    except Exception as error:
        reason = str(error) if isinstance(error, Unusable) else f"unreadable: {error!r}"
        log_event(
            log,
            "checkpoint %s not used (%s): partition %s is rebuilt from the start of the topic",
            path,
            reason,
            partition,
            level=logging.WARNING,
            partition=partition,
            path=str(path),
            reason=reason,
        )
        return None


def next_offset(directory: Path, topic: str, partition: int) -> int | None:
    """The next offset in the partition's checkpoint, read from its header alone; None
    if there is no checkpoint of the current format (a pickle has no separate header)."""
    path = file_path(directory, topic, partition)
    if not path.exists():
        return None
    with open(path, "rb") as f:
        if f.read(len(_NPZ_MAGIC)) != _NPZ_MAGIC:
            return None
        f.seek(0)
        with np.load(f, allow_pickle=False) as archive:
            return int(orjson.loads(archive[HEADER].tobytes())["next_offset"])


def _read(f: IO[bytes], topic: str, partition: int, config: WindowConfig) -> Checkpoint:
    magic = f.read(len(_NPZ_MAGIC))
    f.seek(0)
    if magic == _NPZ_MAGIC:
        return _read_arrays(f, topic, partition, config)
    if magic.startswith(_PICKLE_MAGIC):
        raise Unusable("a pickle of the formats before 6, which is never loaded")
    raise Unusable(f"not a checkpoint file (starts with {magic!r})")


def _read_arrays(f: IO[bytes], topic: str, partition: int, config: WindowConfig) -> Checkpoint:
    with np.load(f, allow_pickle=False) as archive:
        header: dict[str, Any] = orjson.loads(archive[HEADER].tobytes())
        if header.get("format") != FORMAT_VERSION:
            raise Unusable(f"format {header.get('format')}, this version reads {FORMAT_VERSION}")
        if (header.get("topic"), header.get("partition")) != (topic, partition):
            raise Unusable(f"holds {header.get('topic')}-{header.get('partition')}")
        _check_config(WindowConfig(**header["config"]), config)
        arrays = {name: archive[name] for name in archive.files if name != HEADER}
    processor = PartitionProcessor.from_arrays(partition, config, arrays, **header["clock"])
    return Checkpoint(processor, int(header["next_offset"]))


def _check_config(saved: WindowConfig, running: WindowConfig) -> None:
    """Refuse state built under other window settings. The future margin only decides which
    events reach the state, as the clock does, so a new margin applies to saved state."""
    if dataclasses.replace(saved, future_margin_ms=running.future_margin_ms) != running:
        raise Unusable(f"built under other window settings: {saved}, running {running}")
