"""Turning a POST /v1/events body into Kafka messages. Pure; no I/O.

Validation is `shared.schema.decode_lines`, the same call ingest makes, so the API
never accepts an event that ingest would reject. Accepted lines travel unchanged
(as the client sent them), grouped per product: key `product_id`, value the NDJSON of
that product's events, split so no message passes the broker's size limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import polars as pl

from shared.schema import DecodedBatch, Lines, decode_lines


class BodyError(ValueError):
    """The body is not events at all (422), as opposed to events that fail validation."""


@dataclass(frozen=True)
class EventBatch:
    decoded: DecodedBatch
    messages: list[tuple[bytes, bytes]]  # (key, value) to produce

    @property
    def accepted(self) -> int:
        return self.decoded.events.height

    @property
    def rejected(self) -> int:
        return self.decoded.rejected.height


def body_lines(body: bytes) -> list[bytes]:
    """NDJSON lines, or one line per element when the body is a JSON array."""
    stripped = body.strip()
    if not stripped:
        raise BodyError("empty body: send NDJSON (one event per line) or a JSON array of events")
    if stripped[:1] == b"[":
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise BodyError(f"body starts like a JSON array but is not valid JSON: {exc}") from exc
        if not items:
            raise BodyError("empty JSON array: no events")
        return [orjson.dumps(item) for item in items]
    lines, _ = Lines.of([stripped])
    return [line.rstrip(b"\r") for line in lines]


def prepare(lines: list[bytes], max_message_bytes: int) -> EventBatch:
    """Validate `lines` and group the accepted ones into messages keyed by product."""
    decoded = decode_lines(lines)
    if decoded.events.height == 0:
        if (decoded.rejected["reason"] == "malformed_json").all():
            raise BodyError("no line is a JSON object: send NDJSON or a JSON array of events")
        return EventBatch(decoded, [])
    line_no = decoded.events["line_no"].to_numpy()
    frame = pl.DataFrame(
        {
            "product_id": decoded.events["product_id"],
            "line": pl.Series([lines[i] for i in line_no], dtype=pl.Binary).cast(pl.String),
        }
    )
    # Lines are at most 16 KiB (schema.MAX_LINE_BYTES), so chunks stay under the limit.
    budget = max(max_message_bytes - 64 * 1024, 64 * 1024)
    grouped = (
        frame.with_columns(size=pl.col("line").str.len_bytes() + 1)
        .with_columns(chunk=(pl.col("size").cum_sum().over("product_id") - 1) // budget)
        .group_by("product_id", "chunk", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    messages = [
        (pid.encode(), value.encode())
        for pid, value in zip(grouped["product_id"], grouped["line"], strict=True)
    ]
    return EventBatch(decoded, messages)
