"""Per-event validation: a bad line is rejected with its reason; the rest of the batch goes on."""

from __future__ import annotations

import orjson
import pytest

from shared.schema import MAX_LINE_BYTES, Lines, decode_lines

GOOD = {
    "event_id": "e1",
    "ts": 1_772_409_600_000,
    "platform": "tiktok",
    "product_id": "p1",
    "action": "view",
}


def line(**changes: object) -> bytes:
    event = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in event.items() if v is not ...})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (b"", "malformed_json"),
        (b" \t\r", "malformed_json"),
        (line(ts=...), "missing_field"),
        (line(product_id=...), "missing_field"),
        (line(ts="yesterday"), "wrong_type"),
        (line(product_id=True), "wrong_type"),
        (line(event_id={"a": 1}), "wrong_type"),
        (line(count="many"), "wrong_type"),
        (line(count=0), "invalid_value"),
        (line(count=9_999_999_999_999_999_999), "invalid_value"),  # beyond Int64
        (line(platform="myspace"), "invalid_value"),
        (line(action="dance"), "invalid_value"),
        (line(region="Java"), "invalid_value"),
        (line(ts=1_772_409_600), "invalid_value"),  # seconds, not milliseconds
        (line(product_name="x" * (MAX_LINE_BYTES + 1)), "oversized"),
    ],
)
def test_bad_event_is_rejected_alone(bad: bytes, reason: str) -> None:
    decoded = decode_lines([line(event_id="before"), bad, line(event_id="after")])
    assert decoded.events["event_id"].to_list() == ["before", "after"]
    assert decoded.rejected.to_dicts() == [
        {"line_no": 1, "reason": reason, "detail": decoded.rejected["detail"][0]}
    ]
    assert decoded.rejected["detail"][0]


def test_timestamps_and_defaults() -> None:
    decoded = decode_lines(
        [
            line(ts="2026-03-02T07:00:00+07:00"),
            line(ts="2026-03-02T00:00:00.250Z", count=5),
            line(product_id="true"),
        ]
    )
    assert decoded.events["ts_ms"].to_list() == [
        1_772_409_600_000,
        1_772_409_600_250,
        1_772_409_600_000,
    ]
    assert decoded.events["count"].to_list() == [1, 5, 1]
    assert decoded.rejected.height == 0


def test_lines_of_values_map_to_their_messages() -> None:
    lines, index = Lines.of([b"a\nb\n", b"c", b"d\ne"])
    assert list(lines) == [b"a", b"b", b"c", b"d", b"e"]
    assert index.tolist() == [0, 0, 1, 2, 2]


def test_values_with_terminators_and_blank_lines_keep_line_numbers() -> None:
    lines, index = Lines.of(
        [
            line(event_id="a") + b"\n",
            b"",
            line(event_id="b") + b"\n\n",
            b"  \n" + line(event_id="c"),
        ]
    )
    decoded = decode_lines(lines)
    assert index.tolist() == [0, 1, 2, 2, 3, 3]
    assert decoded.events.select("line_no", "event_id").rows() == [(0, "a"), (2, "b"), (5, "c")]
    assert decoded.rejected.select("line_no", "detail").rows() == [
        (1, "empty line"),
        (3, "empty line"),
        (4, "empty line"),
    ]


@pytest.mark.parametrize("seed", range(3))
def test_a_batch_decodes_as_its_lines_do_one_by_one(seed: int) -> None:
    """Whatever mix of bad lines a batch holds (blank, malformed, oversized, invalid), each
    line gets the verdict it gets alone: the fast paths change nothing."""
    import random

    rng = random.Random(seed)
    bad = [
        b"{not json",
        b"{{}",
        b"[1, 2]",
        b"",
        b" \t\r",
        b"  ",
        line(product_name="x" * (MAX_LINE_BYTES + 1)),
        line(count=0),
        b" " + line(event_id="padded") + b" ",
    ]
    lines = [rng.choice(bad) if rng.random() < 0.3 else line(event_id=f"e{i}") for i in range(200)]
    batch = decode_lines(lines)
    alone = [decode_lines([one]) for one in lines]
    assert batch.events["event_id"].to_list() == [
        e for d in alone for e in d.events["event_id"].to_list()
    ]
    assert batch.rejected.select("line_no", "reason").rows() == [
        (i, d.rejected["reason"][0]) for i, d in enumerate(alone) if d.rejected.height
    ]
