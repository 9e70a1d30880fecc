"""Reading import files: NDJSON in byte chunks, CSV and JSON whole. The file edge of import.

NDJSON event files are the large ones, so they are read in chunks cut at a newline and
handed on as `Lines` without a Python object per line; everything else is small enough
(an export, an API response) to read at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from shared.schema import Lines

CHUNK_BYTES = 8 * 1_048_576
FORMATS = ("ndjson", "csv", "json")


def file_format(path: Path) -> str:
    """ndjson, csv or json: by extension, else by content (an object per line is NDJSON)."""
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix in (".csv", ".tsv"):
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(65_536).lstrip()
    if head[:1] == b"[":
        return "json"
    if head[:1] == b"{":
        first = head.split(b"\n", 1)[0]
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            return "json"  # an object spread over lines
        return "ndjson" if suffix != ".json" or head.count(b"\n{") else "json"
    return "csv"


def ndjson_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[Lines, int, int]]:
    """(lines, number of lines before them in the file, bytes of the file read so far)."""
    before, rest = 0, b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            data = rest + block
            if not block:
                cut = len(data)
            else:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # one line longer than a chunk: read on
                    rest = data
                    continue
            rest = data[cut:]
            if cut:
                lines, _ = Lines.of([data[:cut]])
                yield lines, before, fh.tell()
                before += len(lines)
            if not block:
                return


def read_csv(path: Path) -> pl.DataFrame:
    """Every column as text (types are decided field by field later)."""
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    return pl.read_csv(path, infer_schema=False, separator=separator, encoding="utf8-lossy")


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def read_ndjson_records(path: Path) -> tuple[list[Any], list[int]]:
    """Each non-blank line parsed (None where it is not JSON) and its 1-based line number."""
    records, numbers = [], []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            records.append(None)
        numbers.append(number)
    return records, numbers


def first_record(path: Path, fmt: str) -> dict[str, Any] | None:
    """The file's first record (CSV: its header as keys), to tell events from snapshots."""
    if fmt == "csv":
        return dict.fromkeys(pl.read_csv(path, n_rows=0, infer_schema=False).columns)
    if fmt == "ndjson":
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    try:
                        value = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        return None
                    return value if isinstance(value, dict) else None
        return None
    document = read_json(path)
    if isinstance(document, list):
        return document[0] if document and isinstance(document[0], dict) else None
    return document if isinstance(document, dict) else None
