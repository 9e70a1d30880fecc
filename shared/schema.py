"""The engagement event: wire format, columnar decoding and per-event validation.

A batch of NDJSON lines is parsed in one Polars call and validated as columns. A bad
event never fails its batch: it comes back as a rejected row with a reason from a small
fixed set (so it can label a metric) and a human-readable detail.

Every field is first read as text, so a JSON number given for a string field is taken
as its decimal text (`"product_id": 42` is product "42"); objects, arrays and booleans
fail the field's pattern and are rejected as `wrong_type`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl

PLATFORMS = (
    "tiktok",
    "instagram",
    "youtube",
    "facebook",
    "x",
    "shopee",
    "tokopedia",
    "lazada",
    "other",
)
ACTIONS = ("view", "like", "comment", "share", "save", "search", "add_to_cart", "purchase")
REQUIRED = ("event_id", "ts", "platform", "product_id", "action")
OPTIONAL = ("count", "creator_id", "region", "category", "product_name", "price_idr")
FIELDS = REQUIRED + OPTIONAL

PlatformEnum = pl.Enum(PLATFORMS)
ActionEnum = pl.Enum(ACTIONS)

EVENT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "ts_ms": pl.Int64(),
    "platform": PlatformEnum,
    "product_id": pl.String(),
    "action": ActionEnum,
    "count": pl.Int64(),
    "creator_id": pl.String(),
    "region": pl.String(),
    "category": pl.String(),
    "product_name": pl.String(),
    "price_idr": pl.Float64(),
}
REJECT_SCHEMA: dict[str, pl.DataType] = {
    "line_no": pl.Int64(),
    "reason": pl.String(),
    "detail": pl.String(),
}

# Bounded reason set: these label the DLQ metric.
# `late` and `future` are decided by the ingest core (event time), the others here.
REASONS = (
    "malformed_json",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "oversized",
    "late",
    "future",
)
# A feature or score message (between services) that does not decode.
MALFORMED_FRAME = "malformed_frame"

MAX_LINE_BYTES = 16_384
MIN_TS_MS = 946_684_800_000  # 2000-01-01: anything older is a unit mistake (seconds, not ms)
MAX_TS_MS = 4_102_444_800_000  # 2100-01-01
MAX_COUNT = 1_000_000_000
_ID = r"^[A-Za-z0-9_.:@/#+=-]{1,128}$"
_REGION = r"^ID-[A-Z]{2}$"
_TEXT = r"^[^\x00-\x1f{\[][^\x00-\x1f]{0,255}$"
_INT = r"^[0-9]{1,19}$"
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"


@dataclass(frozen=True)
class DecodedBatch:
    """Accepted events (EVENT_SCHEMA plus `line_no`) and rejected lines with reasons."""

    events: pl.DataFrame
    rejected: pl.DataFrame


def parse_ts(col: pl.Expr) -> pl.Expr:
    """Epoch milliseconds from either digits or an RFC 3339 time (any offset)."""
    as_int = pl.when(col.str.contains(_INT)).then(col.cast(pl.Int64, strict=False))
    rfc3339 = (
        col.str.replace(r"[Zz]$", "+00:00")
        .str.replace(" ", "T")
        .str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC", strict=False)
        .dt.epoch("ms")
    )
    return as_int.otherwise(rfc3339)


def _checks() -> list[tuple[pl.Expr, str, str]]:
    """(failing condition, reason, detail) in priority order: the first failure wins."""
    checks: list[tuple[pl.Expr, str, str]] = [
        (pl.col(name).is_null(), "missing_field", f"{name}: required field missing")
        for name in REQUIRED
    ]
    for name in ("event_id", "product_id"):
        checks.append(
            (
                ~pl.col(name).str.contains(_ID),
                "wrong_type",
                f"{name}: expected an id string of 1-128 safe characters",
            )
        )
    checks += [
        (pl.col("ts_ms").is_null(), "wrong_type", "ts: expected RFC 3339 or epoch milliseconds"),
        (
            ~pl.col("ts_ms").is_between(MIN_TS_MS, MAX_TS_MS),
            "invalid_value",
            "ts: outside 2000-01-01..2100-01-01 (epoch seconds instead of milliseconds?)",
        ),
        (
            ~pl.col("platform").is_in(PLATFORMS),
            "invalid_value",
            f"platform: expected one of {', '.join(PLATFORMS)}",
        ),
        (
            ~pl.col("action").is_in(ACTIONS),
            "invalid_value",
            f"action: expected one of {', '.join(ACTIONS)}",
        ),
        (
            pl.col("count").is_not_null() & ~pl.col("count").str.contains(_INT),
            "wrong_type",
            "count: expected a positive integer",
        ),
        (
            # 19 digits may overflow Int64: the null cast is out of range too.
            pl.col("count").is_not_null()
            & ~pl.col("count")
            .cast(pl.Int64, strict=False)
            .is_between(1, MAX_COUNT)
            .fill_null(False),
            "invalid_value",
            f"count: expected 1..{MAX_COUNT}",
        ),
        (
            pl.col("creator_id").is_not_null() & ~pl.col("creator_id").str.contains(_ID),
            "wrong_type",
            "creator_id: expected an id string",
        ),
        (
            pl.col("region").is_not_null() & ~pl.col("region").str.contains(_REGION),
            "invalid_value",
            "region: expected an ISO 3166-2:ID code such as ID-JT",
        ),
        (
            pl.col("category").is_not_null() & ~pl.col("category").str.contains(_TEXT),
            "wrong_type",
            "category: expected a short string",
        ),
        (
            pl.col("product_name").is_not_null() & ~pl.col("product_name").str.contains(_TEXT),
            "wrong_type",
            "product_name: expected a short string",
        ),
        (
            pl.col("price_idr").is_not_null() & ~pl.col("price_idr").str.contains(_NUMBER),
            "wrong_type",
            "price_idr: expected a number",
        ),
    ]
    return checks


_CHECKS = _checks()


def _reason_exprs() -> tuple[pl.Expr, pl.Expr]:
    reason: pl.Expr = pl.lit(None, pl.String)
    detail: pl.Expr = pl.lit(None, pl.String)
    for cond, why, text in reversed(_CHECKS):
        reason = pl.when(cond).then(pl.lit(why)).otherwise(reason)
        detail = pl.when(cond).then(pl.lit(text)).otherwise(detail)
    return reason, detail


_REASON, _DETAIL = _reason_exprs()
_VALID = pl.all_horizontal([~cond for cond, _, _ in _CHECKS])
_RAW_SCHEMA = {name: pl.String for name in FIELDS}


@dataclass(frozen=True)
class Lines:
    """NDJSON lines as one buffer and their offsets: a batch costs no Python object per line.

    Polars parses `data` as it is when every line left out of a batch is empty (it skips
    blank lines), so the usual batch is never split and joined again.
    """

    data: bytes
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]

    @classmethod
    def of(cls, values: Sequence[bytes]) -> tuple[Lines, np.ndarray]:
        """The lines of message values and each line's value index.

        A trailing newline in a value is a terminator, not an empty event.
        """
        if not values:
            empty = np.empty(0, dtype=np.int64)
            return cls(b"", empty, empty), empty
        data = b"\n".join(values)
        newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
        starts = np.concatenate([[0], newlines + 1])
        ends = np.append(newlines, len(data))
        sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        value_ends = np.cumsum(sizes + 1) - 1  # where the separator after each value sits
        index = np.searchsorted(value_ends, ends)
        terminator = (starts == ends) & (ends == value_ends[index]) & (sizes[index] > 0)
        if terminator.any():
            kept = ~terminator
            starts, ends, index = starts[kept], ends[kept], index[kept]
        return cls(data, starts, ends), index

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.ends[i]]

    def __iter__(self) -> Iterator[bytes]:
        return map(self.data.__getitem__, map(slice, self.starts.tolist(), self.ends.tolist()))

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        return self.ends - self.starts

    def take(self, keep: np.ndarray) -> list[bytes]:
        """Lines `keep` as bytes (sliced with Python ints: numpy scalars cost ten times more)."""
        data = self.data
        return [
            data[s:e]
            for s, e in zip(self.starts[keep].tolist(), self.ends[keep].tolist(), strict=True)
        ]

    def whitespace(self) -> np.ndarray:
        """Whether each line is empty or only whitespace; only lines that open with
        whitespace are looked at one by one."""
        blank: npt.NDArray[np.bool_] = self.sizes == 0
        opening = np.frombuffer(self.data, dtype=np.uint8)[self.starts[~blank]]
        candidates = np.flatnonzero(~blank)[_WHITESPACE[opening]]
        blank[candidates] = [not line.strip() for line in self.take(candidates)]
        return blank

    def joined(self, keep: np.ndarray) -> bytes:
        """The lines `keep` (ascending) as one NDJSON buffer.

        A few lines left out are overwritten with spaces rather than the rest copied line
        by line: Polars skips lines of whitespace.
        """
        left_out = np.ones(len(self), dtype=bool)
        left_out[keep] = False
        left_out &= self.sizes > 0
        if not left_out.any():
            return self.data
        if left_out.sum() > len(keep):
            return b"\n".join(self.take(keep))
        buffer = bytearray(self.data)
        for start, end in zip(
            self.starts[left_out].tolist(), self.ends[left_out].tolist(), strict=True
        ):
            buffer[start:end] = b" " * (end - start)
        return bytes(buffer)


_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[list(b" \t\n\r\x0b\x0c")] = True  # what bytes.strip() removes


def _read_text_columns(lines: Lines, keep: np.ndarray) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(lines.joined(keep)), schema=_RAW_SCHEMA)


_STRING_FIELDS = (
    "event_id",
    "product_id",
    "platform",
    "action",
    "creator_id",
    "region",
    "category",
    "product_name",
)


_MAYBE_BOOLEAN = pl.any_horizontal(pl.col(f).is_in(["true", "false"]) for f in _STRING_FIELDS)


def _timestamps(ts: pl.Series) -> pl.Series:
    """`parse_ts` of the column; a batch of epoch milliseconds only skips the RFC 3339 parse."""
    if ts.str.contains(_INT).all():
        return ts.cast(pl.Int64, strict=False)
    return ts.to_frame().select(parse_ts(pl.col("ts"))).to_series()


def _has_boolean(line: bytes) -> bool:
    return any(isinstance(v, bool) for v in orjson.loads(line).values())


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def decode_lines(lines: Lines | Sequence[bytes]) -> DecodedBatch:
    """Decode and validate NDJSON lines; `line_no` indexes into `lines`.

    The fast path parses the whole batch at once; only a batch that holds a line that
    is not a JSON object pays for a per-line scan to find it.
    """
    if not isinstance(lines, Lines):
        lines, _ = Lines.of(lines)
    n = len(lines)
    sizes = lines.sizes
    line_no = np.arange(n, dtype=np.int64)
    oversized = line_no[sizes > MAX_LINE_BYTES]
    blank = sizes == 0
    keep = line_no[(sizes <= MAX_LINE_BYTES) & ~blank]
    malformed = np.empty(0, dtype=np.int64)
    try:
        raw = _read_text_columns(lines, keep)
    except pl.exceptions.PolarsError:
        raw = None
    if raw is None or raw.height != len(keep):
        # Polars skips lines of whitespace and fails on a line that is not an object:
        # only then is each line looked at.
        space = lines.whitespace()[keep]
        blank[keep[space]] = True
        keep = keep[~space]
        if raw is None:
            ok = np.fromiter(map(_is_json_object, lines.take(keep)), dtype=bool, count=len(keep))
            malformed, keep = keep[~ok], keep[ok]
        raw = _read_text_columns(lines, keep)
    raw = raw.with_columns(pl.Series("line_no", keep), ts_ms=_timestamps(raw["ts"]))
    flags = raw.select(valid=_VALID, maybe_boolean=_MAYBE_BOOLEAN)
    valid = flags["valid"]
    # Text reading turns a JSON boolean into "true"/"false"; only such rare rows are
    # re-parsed to tell a real boolean (wrong type) from the string.
    suspicious = flags["maybe_boolean"] & valid
    if suspicious.any():
        booleans = [_has_boolean(lines[i]) for i in raw.filter(suspicious)["line_no"].to_list()]
        valid = valid.scatter(suspicious.arg_true().filter(pl.Series(booleans)), False)
    all_valid = valid.all(ignore_nulls=False) is True
    events = (raw if all_valid else raw.filter(valid)).select(
        "line_no",
        "event_id",
        "ts_ms",
        pl.col("platform").cast(PlatformEnum),
        "product_id",
        pl.col("action").cast(ActionEnum),
        pl.col("count").cast(pl.Int64).fill_null(1),
        "creator_id",
        "region",
        "category",
        "product_name",
        pl.col("price_idr").cast(pl.Float64),
    )
    if all_valid and len(keep) == n:
        return DecodedBatch(events=events, rejected=pl.DataFrame(schema=REJECT_SCHEMA))
    rejected = pl.concat(
        [
            raw.filter(~valid).select(
                "line_no",
                reason=_REASON.fill_null("wrong_type"),
                detail=_DETAIL.fill_null("a field holds a JSON boolean where text is expected"),
            ),
            _rejects(malformed, "malformed_json", "line is not a JSON object"),
            _rejects(oversized, "oversized", f"line longer than {MAX_LINE_BYTES} bytes"),
            _rejects(line_no[blank], "malformed_json", "empty line"),
        ]
    ).sort("line_no")
    return DecodedBatch(events=events, rejected=rejected)


def _rejects(line_no: np.ndarray, reason: str, detail: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"line_no": line_no, "reason": [reason] * len(line_no), "detail": [detail] * len(line_no)},
        schema=REJECT_SCHEMA,
    )
