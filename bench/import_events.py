"""`pantau import` throughput for an event file, into a real Kafka topic.

    python -m bench.import_events --json bench/results/import.json [--events N] [--repeats R]

Writes a simulated NDJSON event file (the simulator's `small` scenario: many products,
late events, producer retries and a few malformed lines), then imports it with the code
`pantau import` runs (validation, batching per partition, checked sends, DLQ) into a
fresh topic on the broker at PANTAU_KAFKA_BOOTSTRAP, `--repeats` times. A run is timed
from the first byte read to the last message acknowledged (acks=all). Reports the median
events/s and what the topic holds afterwards, read back and decoded, as a check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer

from services.simulator import SCENARIOS, iter_event_lines
from services.sources.event_writer import EventWriter
from services.sources.importer import Importer, ImportOptions
from shared.schema import Lines, decode_lines
from shared.settings import KafkaSettings


def write_events(path: Path, events: int) -> int:
    """The first simulated hours holding `events` lines; returns the lines written."""
    scenario = dataclasses.replace(SCENARIOS["small"], n_products=2_000, days=30)
    written = 0
    with path.open("wb") as fh:
        for _, lines in iter_event_lines(scenario, seed=3):
            take = lines[: events - written]
            fh.write(b"\n".join(take) + b"\n")
            written += len(take)
            if written >= events:
                return written
    return written


def read_back(kafka: KafkaSettings) -> tuple[int, int]:
    """(messages, events) on the events topic."""
    consumer = KafkaConsumer(
        kafka.events_topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5_000,
        fetch_max_bytes=32 * 1_048_576,
        max_partition_fetch_bytes=8 * 1_048_576,
    )
    messages = events = 0
    for message in consumer:
        messages += 1
        lines, _ = Lines.of([message.value])
        events += decode_lines(lines).events.height
    consumer.close()
    return messages, events


def run_once(path: Path, bootstrap: str) -> dict[str, float]:
    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(
        bootstrap=bootstrap,
        events_topic=f"bench-import-{suffix}.events",
        dlq_topic=f"bench-import-{suffix}.dlq",
        features_topic=f"bench-import-{suffix}.features",
        scores_topic=f"bench-import-{suffix}.scores",
    )
    writer = EventWriter(kafka)  # creates the topics: not timed
    started = time.perf_counter()
    summary = Importer(ImportOptions(kind="events"), writer).run([path])
    seconds = time.perf_counter() - started
    writer.close()
    messages, on_topic = read_back(kafka)
    return {
        "seconds": round(seconds, 3),
        "events_sent": summary.events,
        "rejected": sum(summary.rejected.values()),
        "events_per_s": round(summary.events / seconds),
        "messages": messages,
        "events_on_topic": on_topic,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    bootstrap = KafkaSettings().bootstrap  # PANTAU_KAFKA_BOOTSTRAP, or the default
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.ndjson"
        lines = write_events(path, args.events)
        size = path.stat().st_size
        runs = [run_once(path, bootstrap) for _ in range(args.repeats)]
    result = {
        "lines": lines,
        "file_bytes": size,
        "median_events_per_s": statistics.median(r["events_per_s"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
