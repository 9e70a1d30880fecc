"""Event count and nesting depth of a POST /v1/events body, measured while it streams in.

Pure; no I/O. Each chunk is scanned with a few vectorised NumPy passes (no Python loop
per byte), so a body over the limits is refused after reading it, before anything
parses it: a 2 MB array of a million tiny elements costs milliseconds instead of
seconds of parsing and a million Python objects.

The count is the one `event_batches.body_lines` would produce: for a JSON array, its
top-level elements (commas at depth 1, plus one); for NDJSON, the lines between the
first and the last non-blank byte. Depth counts brackets and braces outside strings;
for NDJSON it restarts on each line, so one malformed line cannot affect the next.
"""

from __future__ import annotations

import numpy as np

_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[9, 10, 13, 32]] = True
_DELTA = np.zeros(256, dtype=np.int64)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1
_NEWLINE, _QUOTE, _BACKSLASH, _COMMA = ord("\n"), ord('"'), ord("\\"), ord(",")


class BodyOverLimit(ValueError):
    """The body holds more events, or nests deeper, than allowed (413)."""


def _cumsum_since(values: np.ndarray, resets: np.ndarray, carry: int) -> np.ndarray:
    """Running sum of `values` that restarts after each position where `resets` is True
    (`carry` is the sum brought in from the previous chunk)."""
    total = np.cumsum(values)
    positions = np.arange(len(values))
    last_reset = np.maximum.accumulate(np.where(resets, positions, -1))
    base = np.where(last_reset >= 0, total[np.maximum(last_reset, 0)], -carry)
    return total - base


class BodyScan:
    """Feed a body's chunks in order; raises `BodyOverLimit` as soon as a limit is passed."""

    def __init__(self, max_events: int, max_depth: int) -> None:
        self.max_events = max_events
        self.max_depth = max_depth
        self.is_array: bool | None = None  # decided by the first non-blank byte
        self._in_string = False
        self._backslashes = 0  # trailing backslashes of the previous chunk (inside a string)
        self._depth = 0
        self._commas = 0  # array: commas at depth 1
        self._newlines = 0  # NDJSON: newlines after the first non-blank byte ...
        self._trailing_newlines = 0  # ... of which these follow the last non-blank byte

    @property
    def events(self) -> int:
        """Events seen so far (a lower bound until the body ends)."""
        if self.is_array is None:
            return 0
        if self.is_array:
            return self._commas + 1
        return self._newlines - self._trailing_newlines + 1

    def feed(self, chunk: bytes) -> None:
        data = np.frombuffer(chunk, dtype=np.uint8)
        if data.size == 0:
            return
        content = np.flatnonzero(~_WHITESPACE[data])
        if self.is_array is None:
            if content.size == 0:
                return
            self.is_array = bool(data[content[0]] == ord("["))
            data = data[content[0] :]
            content = content - content[0]
        newline = data == _NEWLINE
        resets = np.zeros(data.size, dtype=bool) if self.is_array else newline
        in_string = self._strings(data, resets)
        delta = np.where(in_string, 0, _DELTA[data])
        depth = _cumsum_since(delta, resets, self._depth)
        deepest = int(depth.max())
        if deepest > self.max_depth:
            raise BodyOverLimit(f"JSON nested deeper than {self.max_depth} levels")
        self._depth = int(depth[-1])
        if self.is_array:
            self._commas += int(np.count_nonzero((data == _COMMA) & ~in_string & (depth == 1)))
        else:
            lines = np.flatnonzero(newline)
            self._newlines += lines.size
            if content.size:
                self._trailing_newlines = int(lines.size - np.searchsorted(lines, content[-1]))
            else:
                self._trailing_newlines += lines.size
        if self.events > self.max_events:
            raise BodyOverLimit(f"more than {self.max_events} events in one request")

    def _strings(self, data: np.ndarray, resets: np.ndarray) -> np.ndarray:
        """Which bytes are inside a JSON string (quotes included count as inside)."""
        backslash = data == _BACKSLASH
        positions = np.arange(data.size)
        last_other = np.maximum.accumulate(np.where(backslash, -1, positions))
        before = np.concatenate(([-1], last_other[:-1]))
        run = positions - 1 - before  # backslashes right before each byte
        run = np.where(before < 0, run + self._backslashes, run)
        quote = (data == _QUOTE) & (run % 2 == 0)
        opened = _cumsum_since(quote.astype(np.int64), resets, int(self._in_string))
        in_string: np.ndarray = (opened % 2 == 1) | quote
        self._in_string = bool(opened[-1] % 2)
        if last_other[-1] < 0:  # the whole chunk is backslashes
            self._backslashes += data.size
        else:
            self._backslashes = int(data.size - 1 - last_other[-1])
        return in_string
