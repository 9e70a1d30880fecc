"""Checkpoints: a restored partition carries on exactly as one that never stopped, pickles
of older formats are never loaded, and a checkpoint that cannot be used means a rebuild."""

from __future__ import annotations

import dataclasses
import logging
import pickle
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest

from services.ingest import checkpoint
from services.ingest.catalog import PRICE_SAMPLES
from services.ingest.checkpoint import Checkpoint
from services.ingest.config import DAY_MS, HOUR_MS, MINUTE_MS, WindowConfig
from services.ingest.processor import PartitionProcessor
from shared.schema import ACTIONS, PLATFORMS

START_MS = 1_772_409_600_000 + 7 * MINUTE_MS  # 2026-03-02, not on a tick
NOW_MS = START_MS + 30 * DAY_MS  # the ingest clock: every event is within the future margin
# Hourly ticks and a short dedup horizon: generations rotate many times in the stream.
CONFIG = WindowConfig(tick_ms=HOUR_MS, dedup_horizon_ms=3 * HOUR_MS)
TOPIC = "t"


def stream(events: int = 12_000, products: int = 60, seed: int = 4) -> list[bytes]:
    """Nine days of skewed traffic. Products 50+ fall silent after the first day, so the
    retention prunes them, and two of them come back (a freed slot is reused); some events
    are late or repeated, some carry a category and a name, some a price."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / (np.arange(products) + 5.0)
    product = rng.choice(products, events, p=weight / weight.sum())
    ts = START_MS + np.sort(rng.integers(0, 9 * DAY_MS, events))
    early = product >= 50
    ts[early] = START_MS + rng.integers(0, DAY_MS, early.sum())
    ts[-40:-20], product[-40:-20] = ts[-1], 52
    ts[-20:], product[-20:] = ts[-1], 57
    order = np.argsort(ts, kind="stable")
    ts, product = ts[order], product[order]
    ts -= rng.integers(0, 25 * MINUTE_MS, events) * (rng.random(events) < 0.1)
    source = np.arange(events)
    repeat = rng.random(events) < 0.02
    source[repeat] = np.maximum(source[repeat] - rng.integers(1, 300, repeat.sum()), 0)
    described = rng.random(events) < 0.05
    priced = rng.random(events) < 0.3
    price = np.where(priced, (product + 1) * 1000.0 + rng.integers(0, 500, events), np.nan)
    frame = pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(events)],
            "ts": ts,
            "platform": np.array(PLATFORMS)[rng.integers(0, len(PLATFORMS), events)],
            "product_id": [f"p{p}" for p in product],
            "action": np.array(ACTIONS)[rng.integers(0, len(ACTIONS), events)],
            "count": rng.integers(1, 4, events),
            "creator_id": [f"c{c}" for c in product * 100 + rng.zipf(1.6, events) % 100],
            "region": [["ID-JT", "ID-JK", "ID-BA", None][r] for r in rng.integers(0, 4, events)],
            "category": [
                f"cat{p % 4}" if d else None for p, d in zip(product, described, strict=True)
            ],
            "product_name": [
                f"Nama {p}" if d else None for p, d in zip(product, described, strict=True)
            ],
            "price_idr": pl.Series(price, nan_to_null=True),
        }
    )[source]
    return frame.write_ndjson().encode().rstrip(b"\n").split(b"\n")


def batches(lines: list[bytes], seed: int) -> list[list[bytes]]:
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, len(lines)), 120, replace=False))
    return [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]


def features(processor: PartitionProcessor, parts: list[list[bytes]]) -> pl.DataFrame:
    return pl.concat([f for part in parts for f in processor.submit(part, now_ms=NOW_MS).features])


def assert_same_state(a: PartitionProcessor, b: PartitionProcessor) -> None:
    left, right = a.to_arrays(), b.to_arrays()
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].dtype == right[name].dtype, name
        assert np.array_equal(left[name], right[name]), name
    assert a.clock == b.clock
    assert a.catalog.slot_of == b.catalog.slot_of


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return stream()


@pytest.fixture(scope="module")
def uninterrupted(lines: list[bytes]) -> pl.DataFrame:
    return features(PartitionProcessor(0, CONFIG), [lines])


def test_restored_after_every_batch_gives_the_features_of_one_that_never_stopped(
    lines: list[bytes], uninterrupted: pl.DataFrame, tmp_path: Path
) -> None:
    processor, out, offset = PartitionProcessor(0, CONFIG), [], 0
    for part in batches(lines, seed=1):
        out += processor.submit(part, now_ms=NOW_MS).features
        offset += len(part)
        checkpoint.save(tmp_path, TOPIC, Checkpoint(processor, offset))
        restored = checkpoint.load(tmp_path, TOPIC, 0, CONFIG)
        assert restored is not None and restored.next_offset == offset
        assert checkpoint.next_offset(tmp_path, TOPIC, 0) == offset
        assert_same_state(restored.processor, processor)
        processor = restored.processor
    assert pl.concat(out).equals(uninterrupted)
    # The stream reached every part of the state that a checkpoint must carry.
    assert len(processor.dedup.previous) and processor.dedup.generation_start_ms
    slot_of = processor.catalog.slot_of
    assert "p50" not in slot_of and "p57" in slot_of  # pruned, and pruned then back
    assert (processor.catalog.prices_noted > PRICE_SAMPLES).any()  # rings wrapped round
    assert uninterrupted["price_idr"].null_count() < uninterrupted.height
    assert uninterrupted["events_24h_two_days_before"].null_count() < uninterrupted.height


def unusable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, config: WindowConfig = CONFIG
) -> str:
    """Load a checkpoint that must not be used: no exception, no state, a logged reason."""
    with caplog.at_level(logging.WARNING, logger="services.ingest.checkpoint"):
        assert checkpoint.load(tmp_path, TOPIC, 0, config) is None
    (record,) = caplog.records
    assert "rebuilt from the start of the topic" in record.getMessage()
    return record.reason  # type: ignore[attr-defined]


def saved_after(lines: list[bytes], tmp_path: Path) -> Path:
    processor = PartitionProcessor(0, CONFIG)
    processor.submit(lines[:3000], now_ms=NOW_MS)
    checkpoint.save(tmp_path, TOPIC, Checkpoint(processor, 3000))
    return tmp_path / f"{TOPIC}-0.ckpt"


@pytest.mark.parametrize("cut", ["truncated", "flipped", "empty", "garbage"])
def test_a_corrupt_checkpoint_means_a_rebuild(
    lines: list[bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture, cut: str
) -> None:
    path = saved_after(lines, tmp_path)
    data = bytearray(path.read_bytes())
    if cut == "truncated":
        data = data[: len(data) // 2]
    elif cut == "flipped":
        data[len(data) // 2] ^= 0xFF  # the stored zip members carry a CRC
    elif cut == "empty":
        data = bytearray()
    else:
        data = bytearray(b"\x00not a checkpoint")
    path.write_bytes(bytes(data))
    assert unusable(tmp_path, caplog)


def test_an_unknown_version_means_a_rebuild(
    lines: list[bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", checkpoint.FORMAT_VERSION + 1)
    saved_after(lines, tmp_path)
    monkeypatch.undo()
    version = checkpoint.FORMAT_VERSION
    assert f"format {version + 1}, this version reads {version}" in unusable(tmp_path, caplog)


def test_a_checkpoint_without_the_row_history_means_a_rebuild(
    lines: list[bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Format 7 held no history of published rows: resumed with an empty one, the next
    day's rows would lack their day-before values, so it is rebuilt, never guessed."""
    path = saved_after(lines, tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {n: archive[n] for n in archive.files if not n.startswith("catalog.history.")}
    header = orjson.loads(arrays["header"].tobytes()) | {"format": 7}
    arrays["header"] = np.frombuffer(orjson.dumps(header), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, allow_pickle=False, **arrays)
    assert "format 7, this version reads 8" in unusable(tmp_path, caplog)


class RunsCode:
    """What a pickle can name: unpickling it calls `marker.touch()`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[Path]]:
        return Path.touch, (self.marker,)


@pytest.mark.parametrize("version", [4, 5])
def test_a_pickled_checkpoint_is_never_loaded_but_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, version: int
) -> None:
    """Formats 1-5 were pickles. Loading one would run any code the file names, and the
    state it held lacks the events no tick has counted yet and the price rings: resumed,
    a real format-5 checkpoint published two rows fewer at its first tick and no prices."""
    marker = tmp_path / "ran"
    saved = (version, Checkpoint(PartitionProcessor(0, CONFIG), 5), RunsCode(marker))
    (tmp_path / f"{TOPIC}-0.ckpt").write_bytes(pickle.dumps(saved))
    assert "a pickle of the formats before 6" in unusable(tmp_path, caplog)
    assert not marker.exists()
    assert checkpoint.next_offset(tmp_path, TOPIC, 0) is None


def test_other_window_settings_mean_a_rebuild(
    lines: list[bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The state was built under the saved settings: resuming it under others would mix
    the two (the old code silently kept the saved ones)."""
    assert saved_after(lines, tmp_path).exists()
    running = WindowConfig(tick_ms=5 * MINUTE_MS, dedup_horizon_ms=3 * HOUR_MS)
    assert "other window settings" in unusable(tmp_path, caplog, running)


def test_a_new_future_margin_keeps_the_saved_state(lines: list[bytes], tmp_path: Path) -> None:
    """The margin only filters what reaches the state: changing it is no reason to rebuild."""
    saved_after(lines, tmp_path)
    running = dataclasses.replace(CONFIG, future_margin_ms=CONFIG.future_margin_ms + HOUR_MS)
    restored = checkpoint.load(tmp_path, TOPIC, 0, running)
    assert restored is not None
    assert restored.processor.config == running


def test_a_checkpoint_of_another_partition_means_a_rebuild(
    lines: list[bytes], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = saved_after(lines, tmp_path)
    path.rename(tmp_path / f"{TOPIC}-1.ckpt")
    with caplog.at_level(logging.WARNING, logger="services.ingest.checkpoint"):
        assert checkpoint.load(tmp_path, TOPIC, 1, CONFIG) is None
    assert "holds t-0" in caplog.records[0].reason  # type: ignore[attr-defined]


def test_waiting_rows_saved_in_arrival_order_are_restored(
    lines: list[bytes], uninterrupted: pl.DataFrame
) -> None:
    """Checkpoints before the waiting rows were kept sorted by bucket saved them in
    arrival order: restored, they give the features of a worker that never stopped."""
    processor, out, cut = PartitionProcessor(0, CONFIG), [], 0
    # Stop where events of two buckets wait for a tick (the watermark lags the events),
    # the later one with several.
    while cut < len(lines) and np.unique(waiting(processor), return_counts=True)[1][1:].sum() < 8:
        out += processor.submit(lines[cut : cut + 10], now_ms=NOW_MS).features
        cut += 10
    arrays = processor.to_arrays()
    rng = np.random.default_rng(2)
    for columns in (
        ("uncounted.bucket_ms", "uncounted.slot"),
        *(
            tuple(f"spread.{name}.pending_{c}" for c in ("bucket_ms", "pair", "n")[:width])
            for name, width in (("creators", 2), ("regions", 3), ("platforms", 2))
        ),
    ):
        shuffled = rng.permutation(len(arrays[columns[0]]))
        assert (np.diff(arrays[columns[0]][shuffled]) < 0).any()  # out of bucket order
        for name in columns:
            arrays[name] = arrays[name][shuffled]
    restored = PartitionProcessor.from_arrays(0, CONFIG, arrays, **processor.clock)
    out += restored.submit(lines[cut:], now_ms=NOW_MS).features
    assert pl.concat(out).equals(uninterrupted)


def waiting(processor: PartitionProcessor) -> np.ndarray:
    return processor.to_arrays()["uncounted.bucket_ms"]
