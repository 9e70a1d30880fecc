"""The streaming body scan counts what `body_lines` would count, however the body is cut."""

from __future__ import annotations

from itertools import pairwise

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.api.body_scan import BodyOverLimit, BodyScan
from services.api.event_batches import body_lines

TRICKY = [
    {"event_id": 'a "quoted" [x], {y}', "product_id": "p\\", "action": "view"},
    {"event_id": 'back\\\\slash\\"', "nested": {"list": [1, [2, {"k": "]"}]]}},
    {"event_id": "z", "note": "comma, comma, ,,,"},
    1,
    "text, with [brackets]",
]
BODIES = [
    orjson.dumps(TRICKY),
    b"\n\n" + b"\n".join(orjson.dumps(x) for x in TRICKY) + b"\r\n\n\n",
    b' \n{"a": "unterminated [[[\n{"b": 1}\n\n{"c": "x"}  \n',
    b"[ 1 , 2 ,\n 3 ]  ",
]


def scan(body: bytes, cuts: list[int], max_events: int = 10**6, max_depth: int = 64) -> BodyScan:
    result = BodyScan(max_events, max_depth)
    bounds = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    for start, end in pairwise(bounds):
        result.feed(body[start:end])
    return result


@settings(max_examples=200, deadline=None)
@given(body=st.sampled_from(BODIES), cuts=st.lists(st.integers(0, 10**6), max_size=12))
def test_any_cut_counts_what_body_lines_counts(body: bytes, cuts: list[int]) -> None:
    assert scan(body, cuts).events == len(body_lines(body))


def test_every_single_byte_cut() -> None:
    for body in BODIES:
        assert scan(body, list(range(len(body)))).events == len(body_lines(body))


def test_too_many_events_are_refused_as_the_body_streams() -> None:
    result = BodyScan(max_events=3, max_depth=8)
    result.feed(b"[1,2,3")
    with pytest.raises(BodyOverLimit, match="more than 3 events"):
        result.feed(b",4")
    lines = BodyScan(max_events=2, max_depth=8)
    lines.feed(b'{"a":1}\n{"a":2}\n\n\n')  # trailing blank lines are not events
    with pytest.raises(BodyOverLimit):
        lines.feed(b'{"a":3}')


def test_nesting_is_limited_outside_strings_and_per_ndjson_line() -> None:
    with pytest.raises(BodyOverLimit, match="deeper than 4"):
        scan(b"[" * 5 + b"]" * 5, [3], max_depth=4)
    scan(b'[{"a": "[[[[[[[[[["}]', [7], max_depth=4)  # brackets in a string do not count
    ok = b'{"a": [[1]]\n' * 3  # each line unbalanced by one: depth restarts per line
    assert scan(ok, [5, 15], max_depth=4).events == 3
