"""Which partition a product lives on: Kafka's default partitioner (murmur2 of the key).

Replay and demo use it to give each product the same partition, and therefore the same
per-partition watermark, that the live pipeline gives it.
"""

from __future__ import annotations

from functools import lru_cache

from kafka.partitioner.default import murmur2


@lru_cache(maxsize=1_000_000)
def partition_for(product_id: str, partitions: int) -> int:
    hashed: int = murmur2(product_id.encode())
    return (hashed & 0x7FFFFFFF) % partitions
