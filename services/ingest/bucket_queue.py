"""Rows waiting for a tick, kept sorted by bucket so a tick takes its rows by one cut.

Folded events wait until a tick passes their bucket: the spread rows until a tick moves
them into their hour, the count slots until a tick counts them. A batch crossing many
ticks would otherwise re-sort everything still waiting at each of them. Here a batch's
rows are merged in once (stably, so rows of one bucket stay in arrival order: the order
a stable sort of all batches' rows gives), and each tick cuts a prefix.
"""

from __future__ import annotations

import numpy as np


class BucketQueue:
    """Columns of rows (`bucket_ms` first) in ascending bucket order, stable in arrival.

    Arrays are replaced, never written in place, so a shallow copy is an independent fork.
    """

    def __init__(self, bucket_ms: np.ndarray, *columns: np.ndarray) -> None:
        self.bucket_ms = np.asarray(bucket_ms, dtype=np.int64)
        self.columns: tuple[np.ndarray, ...] = columns
        if any(len(c) != len(self.bucket_ms) for c in columns):
            raise ValueError("waiting rows of different lengths")
        if len(self.bucket_ms) > 1 and (np.diff(self.bucket_ms) < 0).any():
            order = np.argsort(self.bucket_ms, kind="stable")
            self.bucket_ms = self.bucket_ms[order]
            self.columns = tuple(c[order] for c in columns)

    def __len__(self) -> int:
        return len(self.bucket_ms)

    def add(self, bucket_ms: np.ndarray, *columns: np.ndarray) -> None:
        """Queue rows after those already waiting in the same buckets."""
        if len(bucket_ms) == 0:
            return
        bucket = np.concatenate([self.bucket_ms, bucket_ms])
        # Two sorted runs (or an unsorted tail) merged by the stable sort in linear time.
        order = np.argsort(bucket, kind="stable")
        self.bucket_ms = bucket[order]
        self.columns = tuple(
            np.concatenate([old, new])[order]
            for old, new in zip(self.columns, columns, strict=True)
        )

    def take_before(self, until_ms: int) -> tuple[np.ndarray, ...]:
        """Remove and return (bucket_ms, *columns) of the rows with buckets before `until_ms`."""
        cut = int(np.searchsorted(self.bucket_ms, until_ms, side="left"))
        taken = (self.bucket_ms[:cut], *(c[:cut] for c in self.columns))
        self.bucket_ms = self.bucket_ms[cut:]
        self.columns = tuple(c[cut:] for c in self.columns)
        return taken

    def between(self, since_ms: int, until_ms: int) -> tuple[np.ndarray, ...]:
        """(bucket_ms, *columns) of the rows with buckets in [since_ms, until_ms), kept."""
        lo, hi = np.searchsorted(self.bucket_ms, [since_ms, until_ms], side="left").tolist()
        return (self.bucket_ms[lo:hi], *(c[lo:hi] for c in self.columns))

    @property
    def nbytes(self) -> int:
        return int(self.bucket_ms.nbytes + sum(c.nbytes for c in self.columns))
