"""End-to-end ingest throughput from a real Kafka topic: three ways on the same events, and
a catch-up over two weeks of event time.

    python -m bench.ingest --json bench/results/ingest.json [--events N] [--repeats R]
        [--max-poll-records N] [--modes batched single naive catchup]
        [--catchup-events N] [--catchup-days D]

Generates a synthetic engagement stream (many products, creators, regions, platforms,
a few duplicates and out-of-order events), produces it into two fresh topics — values
of ~100 NDJSON events, and values of one event — and then, for each mode, starts one
worker process that consumes its topic from the beginning and runs the ingest path:
split values → decode → validate → late/dedup → windows → feature rows, producing the
feature rows (and dead letters) back to Kafka: `batched`, `single` and `catchup` run the
ingest service's own step on the shared consumer runtime (the next batch is decoded on a
second thread). The third mode, `naive` (`bench/naive_ingest.py`, not the product),
consumes the batched topic and does the same work per event in plain Python
(json.loads, dict counters, the same windows and features), as the yardstick.

The `catchup` mode replays a backlog: `--catchup-events` events of the same kind for the
same products spread over `--catchup-days` (two weeks) of event time, produced to their
own topic in values of ~100 events and consumed like `batched`, with the feature log
written as the ingest service writes it (a file per partition and hour). There the cost
follows ticks as much as events: 4,032 five-minute ticks per partition, each emitting rows
for the products with new events, and at each whole hour for the active products whose
windows lost an event during the hour (see `shared.features`). It reports ticks fired
(summed over partitions) per wall second, feature rows and log files too, and
`catchup_vs_batched`: its events/s over the 30-minute workload's in the same run.

Each worker reports its wall time from the first poll to the last produced feature
flushed, its peak RSS, and the state size per active product. Figures are medians of
`--repeats` runs; the broker and the other processes on the machine share the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl

from bench.naive_ingest import Naive
from bench.processes import end_offsets
from services.ingest.config import MINUTE_MS, WindowConfig
from shared.partitioning import partition_for
from shared.regions import PROVINCES
from shared.schema import ACTIONS, PLATFORMS
from shared.settings import IngestSettings, KafkaSettings

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
EVENTS_PER_VALUE = 100
MODES = ("batched", "single", "naive", "catchup")


# -- the stream ----------------------------------------------------------------------
def generate(events: int, products: int, span_minutes: int, seed: int) -> pl.DataFrame:
    """A skewed stream: popular products get most events, each has its own creators."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / (np.arange(products) + 10.0) ** 0.8
    product = rng.choice(products, events, p=weight / weight.sum())
    ts = START_MS + np.sort(rng.integers(0, span_minutes * MINUTE_MS, events))
    ts -= rng.integers(0, 2 * MINUTE_MS, events) * (rng.random(events) < 0.2)  # out of order
    # Producer retries: a few events repeat an earlier event of the same stream verbatim.
    source = np.arange(events)
    repeat = rng.random(events) < 0.003
    source[repeat] = np.maximum(source[repeat] - rng.integers(1, 1000, repeat.sum()), 0)
    action_p = np.array([0.70, 0.15, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01])
    regions = np.array(sorted(PROVINCES))
    has_region = rng.random(events) < 0.7
    return pl.DataFrame(
        {
            "event_id": pl.Series(np.arange(events)).cast(pl.String).str.pad_start(9, "0"),
            "ts": ts,
            "platform": np.array(PLATFORMS)[rng.integers(0, len(PLATFORMS), events)],
            "product_id": pl.Series(product).cast(pl.String),
            "action": np.array(ACTIONS)[rng.choice(len(ACTIONS), events, p=action_p)],
            "creator_id": pl.Series(product * 1000 + rng.zipf(1.5, events) % 1000).cast(pl.String),
            "region": pl.Series(regions[rng.integers(0, len(regions), events)]).zip_with(
                pl.Series(has_region), pl.Series([None] * events, dtype=pl.String)
            ),
        }
    ).with_columns(
        ("e" + pl.col("event_id")).alias("event_id"),
        ("p" + pl.col("product_id")).alias("product_id"),
        ("c" + pl.col("creator_id")).alias("creator_id"),
    )[source]


def produce(kafka: KafkaSettings, frame: pl.DataFrame, topics: dict[str, int]) -> None:
    """Write the stream to each topic in values of `topics[topic]` events, each event on its
    product's partition, in order."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from shared.kafka import client_options, make_producer

    admin = KafkaAdminClient(**client_options(kafka))
    names = [f"{t}{suffix}" for t in topics for suffix in ("", ".features", ".dlq")]
    config = {"max.message.bytes": str(kafka.max_message_bytes)}
    admin.create_topics([NewTopic(t, kafka.partitions, 1, topic_configs=config) for t in names])
    admin.close()
    lines = frame.write_ndjson().encode().rstrip(b"\n").split(b"\n")
    ids = frame["product_id"].to_list()
    route = {pid: partition_for(pid, kafka.partitions) for pid in set(ids)}
    by_partition: dict[int, list[bytes]] = defaultdict(list)
    for pid, line in zip(ids, lines, strict=True):
        by_partition[route[pid]].append(line)
    producer = make_producer(kafka)
    for partition, mine in by_partition.items():
        for topic, per_value in topics.items():
            for offset in range(0, len(mine), per_value):
                value = b"\n".join(mine[offset : offset + per_value])
                producer.send(topic, value=value, partition=partition)
    producer.flush()
    producer.close()


def delete_topics(kafka: KafkaSettings, prefix: str) -> None:
    from kafka import KafkaAdminClient

    from shared.kafka import client_options

    admin = KafkaAdminClient(**client_options(kafka))
    admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix)])
    admin.close()


# -- one worker process per mode -----------------------------------------------------
def cpu_s() -> float:
    """CPU seconds of this process (all threads): on a shared machine, the fairer clock."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of the threads alive now: the decoding thread, the Kafka client's Python
    threads (producer sender, consumer heartbeat) and native threads (Polars' pool, its
    runtime, jemalloc)."""
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    main = threading.main_thread().native_id
    python = {t.native_id: t.name for t in threading.enumerate()}
    out = {"decode_thread": 0.0, "kafka_threads": 0.0, "native_threads": 0.0}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        cpu = (int(fields[11]) + int(fields[12])) * tick_s
        if int(task.name) == main:
            continue
        name = python.get(int(task.name))
        if name is None:
            out["native_threads"] += cpu
        else:
            out["decode_thread" if name.startswith("pantau-prepare") else "kafka_threads"] += cpu
    return out


def consume(
    kafka: KafkaSettings, topic: str, handle, max_poll_records: int
) -> tuple[int, float, float]:  # type: ignore[no-untyped-def]
    """Poll `topic` from the beginning to its end; `handle([(partition, messages), ...])`
    each poll, and `handle([])` once at the end."""
    from kafka import TopicPartition

    from shared.kafka import make_consumer

    consumer = make_consumer(
        kafka, f"bench-{uuid.uuid4().hex[:8]}", max_poll_records=max_poll_records
    )
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    end = consumer.end_offsets(parts)
    position = dict.fromkeys(parts, 0)
    messages = 0
    start, start_cpu = time.perf_counter(), cpu_s()
    while any(position[tp] < end[tp] for tp in parts):
        polled = consumer.poll(timeout_ms=500)
        handle([(tp.partition, batch) for tp, batch in polled.items()])
        for tp, batch in polled.items():
            position[tp] = batch[-1].offset + 1
            messages += len(batch)
    handle([])
    consumer.close()
    return messages, start, start_cpu


def run_core(
    kafka: KafkaSettings, topic: str, max_poll_records: int, log_dir: Path | None = None
) -> dict:
    """The ingest service's own step (`IngestStep`) on the shared consumer runtime, as
    `pantau ingest` runs it (with the feature log if `log_dir` is given), stopped once it
    has processed the whole topic. Checkpoints are left out of the timing: the first one
    is due after the run."""
    from services.ingest.service import IngestStep
    from shared.kafka import make_consumer, make_producer
    from shared.runtime import ConsumerRuntime, LoopSettings

    class Measured(IngestStep):
        """The service's step, timed; it stops the loop once the topic is consumed."""

        def __init__(self, *args: object) -> None:
            super().__init__(*args)  # type: ignore[arg-type]
            self.core_s = self.handle_s = 0.0
            self.counts_run = {"events": 0, "feature_rows": 0, "ticks": 0}
            self.started: tuple[float, float] | None = None
            self.finished: tuple[float, float] | None = None
            self.threads: dict[str, float] = {}

        def start(self, partition: int) -> int:
            offset = super().start(partition)
            processor = self.processors[partition]
            submit = processor.submit_decoded

            def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
                folding = time.thread_time()
                try:
                    return submit(*args, **kwargs)
                finally:
                    self.core_s += time.thread_time() - folding

            processor.submit_decoded = timed  # type: ignore[method-assign]
            return offset

        def process(self, batch, output) -> None:  # type: ignore[no-untyped-def]
            if self.started is None:
                self.started = (time.perf_counter(), cpu_s())
            handling = time.thread_time()
            super().process(batch, output)
            self.handle_s += time.thread_time() - handling
            self.counts_run["events"] += len(batch.prepared.lines)

        def _publish(self, output, partition, features, batch_id=None) -> None:  # type: ignore[no-untyped-def]
            self.counts_run["ticks"] += len(features)
            self.counts_run["feature_rows"] += sum(rows.height for rows in features)
            super()._publish(output, partition, features, batch_id)

        def idle(self, output) -> None:  # type: ignore[no-untyped-def]
            super().idle(output)
            if (
                self.finished is None
                and runtime.positions
                and all(runtime.positions.get(p, 0) >= end for p, end in ends.items())
            ):
                output.flush()
                if self.feature_log is not None:
                    for partition in self.processors:
                        self.feature_log.flush(partition)
                self.finished = (time.perf_counter(), cpu_s())
                self.threads = thread_cpu_s()  # before the loop's threads end
                runtime.stop_event.set()

    group = f"bench-{uuid.uuid4().hex[:8]}"
    own = kafka.model_copy(
        update={
            "events_topic": topic,
            "features_topic": f"{topic}.features",
            "dlq_topic": f"{topic}.dlq",
        }
    )
    settings = IngestSettings(
        group=group,
        checkpoint_dir=Path(tempfile.mkdtemp(prefix="bench-checkpoints-")),
        checkpoint_interval_s=3_600.0,
        feature_log_dir=log_dir,
        max_poll_records=max_poll_records,
        metrics_port=0,
    )
    ends = end_offsets(own, topic)
    step = Measured(own, settings)
    consumer = make_consumer(own, group, max_poll_records=max_poll_records)
    loop = LoopSettings(group=group, topic=topic, service="ingest", commit_interval_s=3_600.0)
    runtime = ConsumerRuntime(loop, step, consumer, make_producer(own))
    main_start = time.thread_time()
    # The stop after the topic is consumed also commits and checkpoints: outside the timing.
    runtime.run()
    assert step.started is not None and step.finished is not None
    seconds = step.finished[0] - step.started[0]
    cpu_seconds = step.finished[1] - step.started[1]
    threads = step.threads
    processors = list(step.processors.values())
    counts = {
        **step.counts_run,
        "accepted": step.counts["accepted"],
        "rejected": step.counts["invalid"] + step.counts["late"],
    }
    if log_dir is not None:
        counts["feature_log_files"] = sum(1 for _ in log_dir.glob("day=*/*.parquet"))
    active = sum(p.catalog.active_products for p in processors)
    window_bytes = sum(p.state_bytes - p.dedup.nbytes for p in processors)
    return counts | {
        "messages": sum(ends.values()),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        # Where the CPU went: on the main thread the ingest core's fold (decoded events →
        # feature rows), the rest of the step (DLQ, encoding and handing rows to the
        # producer, the feature log) and the rest (polling, record parsing); then the
        # thread preparing the next batch, the Kafka client's own threads and the native
        # threads (mostly Polars' pool), counted over the whole process life.
        "cpu_breakdown_s": {
            "core": step.core_s,
            "emit": step.handle_s - step.core_s,
            "poll": time.thread_time() - main_start - step.handle_s,
            **threads,
        },
        "active_products": active,
        "bytes_per_active_product": window_bytes / max(active, 1),
        "dedup_bytes": sum(p.dedup.nbytes for p in processors),
        "state_bytes_per_active_product": {
            part: sum(getattr(p, part).nbytes for p in processors) / max(active, 1)
            for part in ("windows", "spread", "catalog", "dedup")
        },
    }


def run_naive(kafka: KafkaSettings, topic: str, max_poll_records: int) -> dict:
    from shared.kafka import make_producer

    producer = make_producer(kafka)
    naive: dict[int, Naive] = {}
    counts = {"events": 0, "feature_rows": 0}

    def handle(polled: list) -> None:  # type: ignore[type-arg]
        for partition, messages in polled:
            worker = naive.setdefault(partition, Naive(WindowConfig()))
            for m in messages:
                for line in m.value.split(b"\n"):
                    counts["events"] += 1
                    rows = worker.submit(line)
                    counts["feature_rows"] += len(rows)
                    for row in rows:
                        producer.send(f"{topic}.features", value=json.dumps(row).encode())

    messages, start, start_cpu = consume(kafka, topic, handle, max_poll_records)
    producer.flush()
    seconds, cpu_seconds = time.perf_counter() - start, cpu_s() - start_cpu
    producer.close()
    return counts | {"messages": messages, "seconds": seconds, "cpu_seconds": cpu_seconds}


def worker(mode: str, topic: str, max_poll_records: int) -> None:
    from shared.kafka import collect_less_often

    collect_less_often()  # as `pantau ingest` does; the naive yardstick gains from it too
    kafka = KafkaSettings()
    if mode == "naive":
        result = run_naive(kafka, topic, max_poll_records)
    elif mode == "catchup":
        with tempfile.TemporaryDirectory(prefix="bench-feature-log-") as log_dir:
            result = run_core(kafka, topic, max_poll_records, Path(log_dir))
    else:
        result = run_core(kafka, topic, max_poll_records)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_worker(mode: str, topic: str, max_poll_records: int) -> dict:
    command = [sys.executable, "-m", "bench.ingest", "--worker", mode, "--topic", topic]
    out = subprocess.run(
        [*command, "--max-poll-records", str(max_poll_records)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def crc32c_in_c() -> bool:
    from kafka.record import util

    return util.crc32c_c is not None and util.calc_crc32c.__defaults__[0] is util.crc32c_c


# -- the run -------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--span-minutes", type=int, default=30, help="event time covered")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-repeats", type=int, default=1, help="the naive mode is slow")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--catchup-events", type=int, default=2_000_000)
    parser.add_argument("--catchup-days", type=float, default=14.0, help="event time covered")
    parser.add_argument("--keep-topics", action="store_true", help="for profiling a worker")
    parser.add_argument(
        "--max-poll-records",
        type=int,
        default=IngestSettings().max_poll_records,
        help="records per poll (default: the ingest service's, PANTAU_INGEST_MAX_POLL_RECORDS)",
    )
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.topic, args.max_poll_records)
        return
    if args.json is None:
        parser.error("--json is required")
    kafka = KafkaSettings()
    prefix = f"bench.ingest.{uuid.uuid4().hex[:8]}"
    topics = {m: f"{prefix}.{m}" for m in MODES} | {"naive": f"{prefix}.batched"}
    started = time.perf_counter()
    if {"batched", "single", "naive"} & set(args.modes):
        frame = generate(args.events, args.products, args.span_minutes, args.seed)
        produce(kafka, frame, {topics["batched"]: EVENTS_PER_VALUE, topics["single"]: 1})
    if "catchup" in args.modes:
        span_minutes = round(args.catchup_days * 24 * 60)
        frame = generate(args.catchup_events, args.products, span_minutes, args.seed)
        produce(kafka, frame, {topics["catchup"]: EVENTS_PER_VALUE})
    del frame
    print(
        f"produced the streams to {prefix}.* in {time.perf_counter() - started:.1f} s", flush=True
    )
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    runs: dict[str, list[dict]] = {m: [] for m in args.modes}
    try:
        for repeat in range(args.repeats):
            for mode in args.modes:
                if mode == "naive" and repeat >= args.baseline_repeats:
                    continue
                runs[mode].append(run_worker(mode, topics[mode], args.max_poll_records))
                print(mode, json.dumps(runs[mode][-1]), flush=True)
    finally:
        if not args.keep_topics:
            delete_topics(kafka, prefix)
    results = {}
    for mode, mine in runs.items():
        seconds = statistics.median(r["seconds"] for r in mine)
        cpu = statistics.median(r["cpu_seconds"] for r in mine)
        events = mine[0]["events"]
        results[mode] = {
            "events": events,
            "messages": mine[0]["messages"],
            "feature_rows": mine[0]["feature_rows"],
            "seconds": round(seconds, 3),
            "events_per_s": round(events / seconds),
            "seconds_all": [round(r["seconds"], 3) for r in mine],
            "cpu_seconds": round(cpu, 3),
            "events_per_cpu_s": round(events / cpu),
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in mine), 1),
        }
        if "ticks" in mine[0]:
            # Ticks fired (all partitions together) per wall second of the worker.
            results[mode] |= {
                "ticks": mine[0]["ticks"],
                "ticks_per_s": round(mine[0]["ticks"] / seconds),
            }
        if "feature_log_files" in mine[0]:
            results[mode]["feature_log_files"] = mine[0]["feature_log_files"]
        if "bytes_per_active_product" in mine[0]:
            results[mode] |= {
                "active_products": mine[0]["active_products"],
                "bytes_per_active_product": round(mine[0]["bytes_per_active_product"]),
                "dedup_bytes": mine[0]["dedup_bytes"],
                "state_bytes_per_active_product": {
                    k: round(v) for k, v in mine[0]["state_bytes_per_active_product"].items()
                },
                "cpu_breakdown_s": {
                    k: round(statistics.median(r["cpu_breakdown_s"][k] for r in mine), 3)
                    for k in mine[0]["cpu_breakdown_s"]
                },
            }
    core = [m for m in ("batched", "single", "catchup") if m in results]
    summary = {
        "workload": {
            "events": args.events,
            "products": args.products,
            "span_minutes": args.span_minutes,
            "events_per_value": EVENTS_PER_VALUE,
            "partitions": kafka.partitions,
            "repeats": args.repeats,
            "max_poll_records": args.max_poll_records,
            "catchup_events": args.catchup_events if "catchup" in results else None,
            "catchup_days": args.catchup_days if "catchup" in results else None,
            "load_average": os.getloadavg(),
            "polars_threads": pl.thread_pool_size(),
            # Without the C extension kafka-python checks record CRCs in pure Python.
            "kafka_crc32c_in_c": crc32c_in_c(),
        },
        "modes": results,
        "baseline_events_per_s": results.get("naive", {}).get("events_per_s"),
        "peak_rss_mb": max((results[m]["peak_rss_mb"] for m in core), default=None),
        "bytes_per_active_product": max(
            (results[m]["bytes_per_active_product"] for m in core), default=None
        ),
    }
    if "naive" in results and "batched" in results:
        batched, naive = results["batched"], results["naive"]
        summary["speedup_vs_baseline"] = round(batched["events_per_s"] / naive["events_per_s"], 1)
        summary["cpu_speedup_vs_baseline"] = round(
            batched["events_per_cpu_s"] / naive["events_per_cpu_s"], 1
        )
    if "catchup" in results and "batched" in results:
        summary["catchup_vs_batched"] = round(
            results["catchup"]["events_per_s"] / results["batched"]["events_per_s"], 3
        )
    header = (
        f"{'mode':>8} {'events':>9} {'messages':>9} {'rows':>8} {'seconds':>8} {'events/s':>10}"
    )
    print(header + f" {'cpu s':>7} {'ev/cpu s':>9} {'rss MB':>7}")
    for mode, r in results.items():
        print(
            f"{mode:>8} {r['events']:>9} {r['messages']:>9} {r['feature_rows']:>8} "
            f"{r['seconds']:>8} {r['events_per_s']:>10} {r['cpu_seconds']:>7} "
            f"{r['events_per_cpu_s']:>9} {r['peak_rss_mb']:>7}"
        )
    if "catchup" in results:
        c = results["catchup"]
        print(
            f"catchup: {c['ticks']} ticks, {c['ticks_per_s']} ticks/s, "
            f"{c['feature_log_files']} feature-log files; "
            f"{summary.get('catchup_vs_batched')} of the batched rate"
        )
    print(
        f"bytes per active product: {summary['bytes_per_active_product']}; "
        f"speed-up over naive: {summary.get('speedup_vs_baseline')} wall, "
        f"{summary.get('cpu_speedup_vs_baseline')} CPU"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
