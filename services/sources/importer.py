"""`pantau import`: files of events or of snapshots into `pantau.events`.

Event files go through the validation ingest runs (`shared.schema.decode_lines`) and
travel as they were written; snapshot files go through the column mapping and the
counter core, and their events are validated the same way. What fails validation goes
to the dead-letter topic with ingest's reasons, and the summary counts it by reason.

An import's snapshots are taken in time order (stable sort on the observation time), so
a spreadsheet sorted any way gives the same events; the counter baselines are saved
only after the broker has every event, so an import that fails part way is simply run
again (event ids make the repeat harmless).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from services.sources import baseline_store, files
from services.sources.counters import snapshot_events
from services.sources.event_writer import EventWriter, event_lines
from services.sources.mapping import records_to_snapshots
from services.sources.posts import PostText
from services.sources.presets import PRESETS, detect, items_of, preset_snapshots
from services.sources.snapshots import validate
from services.sources.term_context import TermContextSender
from shared.catalogue import Catalogue
from shared.schema import DecodedBatch, Lines, decode_lines
from shared.text.terms import MIN_SUPPORT

KINDS = ("auto", "events", "snapshots")
Progress = Callable[[int], None]  # bytes done, across all files


@dataclass(frozen=True)
class ImportOptions:
    kind: str = "auto"
    preset: str = "auto"  # auto, csv (generic columns), youtube, tiktok
    mapping: dict[str, str] = field(default_factory=dict)
    source: str | None = None  # default: the preset's name, or "import"
    platform: str | None = None  # for records that do not say
    observed_ms: int | None = None  # for records that do not say; default: file time
    backfill: bool = False
    baselines_path: Path = Path("var/sources/import-baselines.parquet")
    # Snapshot text matched to these products, and its terms counted (services/sources/posts.py).
    catalogue: Catalogue | None = None
    terms: bool = True
    min_term_posts: int = MIN_SUPPORT


@dataclass
class ImportSummary:
    files: int = 0
    records: int = 0
    events: int = 0  # sent (or, dry run, that would be)
    rejected: Counter[str] = field(default_factory=Counter)
    snapshots: int = 0
    baselines_set: int = 0
    corrections: int = 0
    repeats: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        rate = self.events / self.seconds if self.seconds else 0.0
        lines = [
            f"{self.files} files, {self.records:,} records: {self.events:,} events "
            f"in {self.seconds:.2f} s ({rate:,.0f} events/s)"
        ]
        if self.snapshots:
            lines.append(
                f"snapshots {self.snapshots:,}: baselines set {self.baselines_set:,}, "
                f"corrections {self.corrections:,}, repeats {self.repeats:,}"
            )
        if self.rejected:
            by_reason = ", ".join(f"{r} {n:,}" for r, n in sorted(self.rejected.items()))
            lines.append(f"rejected {sum(self.rejected.values()):,} (to the DLQ): {by_reason}")
        else:
            lines.append("rejected 0")
        return "\n".join(lines)


def envelope(reason: str, detail: str, path: Path | None, record: int | None, raw: Any) -> bytes:
    """A dead letter of an import: ingest's reason and detail, and where the record was."""
    text = raw if isinstance(raw, str) else orjson.dumps(raw, default=str).decode()
    return orjson.dumps(
        {
            "reason": reason,
            "detail": detail,
            "file": None if path is None else str(path),
            "record": record,
            "raw": text[:65_536],
        }
    )


class Importer:
    """Runs one import over files with one writer (a dry-run writer validates only)."""

    def __init__(
        self,
        options: ImportOptions,
        writer: EventWriter,
        term_context: TermContextSender | None = None,
    ) -> None:
        self.options, self.writer, self.dry_run = options, writer, writer.dry_run
        self.summary = ImportSummary()
        self.text = (
            None
            if options.catalogue is None
            else PostText.of(options.catalogue, options.terms, options.min_term_posts)
        )
        self.term_context = term_context  # where the import's term context goes

    def run(self, paths: list[Path], progress: Progress | None = None) -> ImportSummary:
        started = time.perf_counter()
        done = 0
        snapshot_frames: list[pl.DataFrame] = []
        sources: list[tuple[Path, Any]] = []
        for path in paths:
            fmt = files.file_format(path)
            self.summary.files += 1
            if self._kind(path, fmt) == "events":
                self._events_file(path, fmt, _offset(progress, done))
            else:
                frame, raw = self._snapshot_file(path, fmt)
                snapshot_frames.append(frame.with_columns(file=pl.lit(len(sources))))
                sources.append((path, raw))
            done += path.stat().st_size
            if progress:
                progress(done)
        if snapshot_frames:
            self._snapshots(pl.concat(snapshot_frames, how="diagonal_relaxed"), sources)
        self.writer.flush()
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _kind(self, path: Path, fmt: str) -> str:
        if self.options.kind != "auto":
            return self.options.kind
        if self.options.preset != "auto" or self.options.mapping:
            return "snapshots"
        first = files.first_record(path, fmt) or {}
        return "events" if {"event_id", "action"} <= set(first) else "snapshots"

    # -- event files ----------------------------------------------------------------------
    def _events_file(self, path: Path, fmt: str, progress: Progress) -> None:
        if fmt == "ndjson":
            # The next chunk is read and decoded (Polars, without the GIL) while this one
            # is batched and handed to the producer.
            with ThreadPoolExecutor(1, thread_name_prefix="pantau-import-decode") as pool:
                pending = None
                for lines, before, position in files.ndjson_chunks(path):
                    decoding = pool.submit(decode_lines, lines)
                    if pending is not None:
                        self._event_lines(*pending[:3], decoded=pending[3].result())
                        progress(pending[4])
                    pending = (lines, path, before, decoding, position)
                if pending is not None:
                    self._event_lines(*pending[:3], decoded=pending[3].result())
                    progress(pending[4])
            return
        if fmt == "csv":
            frame = files.read_csv(path)
            lines = (
                Lines.of([frame.write_ndjson().encode()])[0] if frame.height else Lines.of([])[0]
            )
        else:
            document = files.read_json(path)
            items = document if isinstance(document, list) else [document]
            lines = Lines.of([b"\n".join(orjson.dumps(item) for item in items)])[0]
        self._event_lines(lines, path, 0)

    def _event_lines(
        self, lines: Lines, path: Path | None, before: int, decoded: DecodedBatch | None = None
    ) -> None:
        decoded = decoded if decoded is not None else decode_lines(lines)
        rejected = decoded.rejected
        if rejected.height:  # blank lines in a file are not records
            blank = [not lines[i].strip() for i in rejected["line_no"].to_list()]
            rejected = rejected.filter(~pl.Series(blank, dtype=pl.Boolean))
            self.summary.records -= sum(blank)
        self.summary.records += len(lines)
        events = decoded.events
        self.writer.send_lines(lines, events["line_no"].to_numpy(), events["product_id"])
        self.summary.events += events.height
        self._reject(
            [
                envelope(
                    reason,
                    detail,
                    path,
                    None if path is None else before + i + 1,
                    lines[i].decode("utf-8", "replace"),
                )
                for i, reason, detail in rejected.iter_rows()
            ],
            rejected["reason"],
        )

    def _reject(self, envelopes: list[bytes], reasons: pl.Series) -> None:
        if envelopes:
            self.summary.rejected.update(reasons.to_list())
            if not self.dry_run:
                self.writer.send_dead_letters(envelopes)

    # -- snapshot files -------------------------------------------------------------------
    def _snapshot_file(self, path: Path, fmt: str) -> tuple[pl.DataFrame, Any]:
        """The file's snapshot rows (`line_no`: record index) and its raw records."""
        options = self.options
        observed_ms = options.observed_ms or int(os.stat(path).st_mtime * 1000)
        document: Any = None
        if fmt == "csv":
            records = files.read_csv(path)
        else:
            if fmt == "ndjson":
                document, _ = files.read_ndjson_records(path)
            else:
                document = files.read_json(path)
            found = detect(document)
            preset = options.preset
            if preset == "auto" and found is not None:
                preset = found[0]
            if preset in PRESETS:
                items = items_of(document, preset)
                self.summary.records += len(items)
                source = options.source or preset
                return preset_snapshots(preset, items, observed_ms, source), items
            document = document if isinstance(document, list) else [document]
            records = _flat_records(document)
        self.summary.records += records.height
        defaults = {
            "source": options.source or "import",
            "platform": options.platform,
            "observed_ms": observed_ms,
        }
        frame, rejected = records_to_snapshots(records, options.mapping, defaults)
        raw = records if document is None else document
        not_objects = (
            [i for i, r in enumerate(raw) if not isinstance(r, dict)]
            if document is not None
            else []
        )
        if not_objects:
            frame = frame.filter(~pl.col("line_no").is_in(not_objects))
            rejected = pl.concat(
                [
                    rejected.filter(~pl.col("line_no").is_in(not_objects)),
                    _rows(not_objects, "malformed_json", "record is not a JSON object"),
                ]
            ).sort("line_no")
        self._reject(
            [
                envelope(reason, detail, path, i + 1, _record(raw, i))
                for i, reason, detail in rejected.iter_rows()
            ],
            rejected["reason"],
        )
        return frame, raw

    def _snapshots(self, frame: pl.DataFrame, sources: list[tuple[Path, Any]]) -> None:
        """Validate, turn into events against the saved baselines, send, then save them."""
        frame = frame.sort("observed_ms", maintain_order=True, nulls_last=True)
        where = frame.select("file", "line_no")
        valid, rejected = validate(frame.drop("line_no"))  # line_no: position in `frame`
        envelopes = []
        for position, reason, detail in rejected.iter_rows():
            file_index, record = where.row(position)
            path, raw = sources[file_index]
            envelopes.append(envelope(reason, detail, path, record + 1, _record(raw, record)))
        self._reject(envelopes, rejected["reason"])
        self.summary.snapshots += valid.height
        result = snapshot_events(
            valid,
            baseline_store.load(self.options.baselines_path),
            self.options.backfill,
            self.text,
        )
        self.summary.baselines_set += result.baselines_set
        self.summary.corrections += result.corrections
        self.summary.repeats += result.repeats
        lines = event_lines(result.events)
        self._event_lines(lines, None, 0)
        self.summary.records -= len(lines)  # already counted as snapshot records
        if not self.dry_run:
            self.writer.flush()  # the broker has every event before the baselines move
            baseline_store.save(result.baselines, self.options.baselines_path)
            if self.term_context is not None and result.term_context.height:
                self.term_context.send(result.term_context)


def _offset(progress: Progress | None, base: int) -> Progress:
    """Progress within one file as progress across all of them."""
    return lambda done: progress(base + done) if progress is not None else None


def _flat_records(items: list[Any]) -> pl.DataFrame:
    """JSON records as text columns (nested values as JSON); a non-object is an empty row."""
    records = [r if isinstance(r, dict) else {} for r in items]
    names = list(dict.fromkeys(k for r in records for k in r)) or ["_"]
    return pl.DataFrame(
        {name: [_text(r.get(name)) for r in records] for name in names},
        schema=dict.fromkeys(names, pl.String),
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _record(raw: Any, index: int) -> Any:
    return raw.row(index, named=True) if isinstance(raw, pl.DataFrame) else raw[index]


def _rows(line_no: list[int], reason: str, detail: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"line_no": line_no, "reason": reason, "detail": detail},
        schema={"line_no": pl.Int64, "reason": pl.String, "detail": pl.String},
    )
