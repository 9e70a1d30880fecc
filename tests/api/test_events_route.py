"""POST /v1/events against the real broker: what is accepted reaches pantau.events, keyed
by product, byte for byte; what is not is listed with the schema's reasons."""

from __future__ import annotations

import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from services.api.app import create_app
from services.api.auth import create_key
from shared.kafka import ensure_topics
from shared.partitioning import partition_for
from shared.schema import decode_lines
from shared.settings import ApiSettings, KafkaSettings

pytestmark = pytest.mark.kafka


def event(i: int, product: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"e{i}",
        "ts": 1_772_409_600_000 + i,
        "platform": "tiktok",
        "product_id": product,
        "action": "view",
        **fields,
    }


def ndjson(events: list[dict[str, Any]]) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


def client_for(tmp_path: Path, kafka: KafkaSettings, **settings: Any) -> tuple[TestClient, dict]:
    api = ApiSettings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        run_dispatcher=False,
        consume_scores=False,
        **settings,
    )
    app = create_app(api, kafka)
    with app.state.sessionmaker.begin() as session:
        key = create_key(session, "connector", "admin")
    return TestClient(app), {"Authorization": f"Bearer {key}"}


@pytest.fixture
def posting(tmp_path: Path, kafka_settings: KafkaSettings) -> Iterator[tuple[TestClient, dict]]:
    ensure_topics(kafka_settings)
    client, auth = client_for(
        tmp_path, kafka_settings, max_body_bytes=20_000, max_events_per_request=50
    )
    with client:
        yield client, auth


def consume(kafka: KafkaSettings, expected: int) -> list[Any]:
    consumer = KafkaConsumer(
        kafka.events_topic,
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        messages = list(consumer)
    finally:
        consumer.close()
    assert len(messages) == expected
    return messages


def test_ndjson_and_arrays_reach_the_topic_keyed_by_product(
    posting: Any, kafka_settings: KafkaSettings
) -> None:
    client, auth = posting
    good = [event(i, f"prod-{i % 3}") for i in range(9)]
    bad = [event(90, "x", platform="myspace"), {"event_id": "e91"}]
    body = ndjson(good[:5] + bad[:1]) + b"not json\n \t\n" + ndjson(good[5:] + bad[1:])
    reply = client.post("/v1/events", content=body, headers=auth)
    assert reply.status_code == 202, reply.text
    result = reply.json()
    assert (result["accepted"], result["rejected"]) == (9, 4)
    assert [(r["index"], r["reason"]) for r in result["rejections"]] == [
        (5, "invalid_value"),
        (6, "malformed_json"),
        (7, "malformed_json"),
        (12, "missing_field"),
    ]
    array = client.post("/v1/events", json=[event(20, "prod-0"), 7], headers=auth).json()
    assert (array["accepted"], array["rejected"]) == (1, 1)

    messages = consume(kafka_settings, expected=3 + 1)
    by_key: dict[str, list[bytes]] = {}
    for m in messages:
        product = m.key.decode()
        assert m.partition == partition_for(product, kafka_settings.partitions)
        by_key.setdefault(product, []).extend(m.value.split(b"\n"))
    sent = [*good, event(20, "prod-0")]
    assert sorted(by_key) == ["prod-0", "prod-1", "prod-2"]
    for product, lines in by_key.items():
        # The lines are the client's own bytes and decode exactly as ingest will decode them.
        decoded = decode_lines(lines)
        assert decoded.rejected.height == 0
        assert sorted(decoded.events["event_id"]) == sorted(
            e["event_id"] for e in sent if e["product_id"] == product
        )


def test_limits_and_garbage(posting: Any) -> None:
    client, auth = posting
    too_big = client.post("/v1/events", content=b" " * 20_001, headers=auth)
    assert too_big.status_code == 413 and "20000 bytes" in too_big.json()["detail"]
    too_many = client.post(
        "/v1/events", content=ndjson([event(i, "p") for i in range(51)]), headers=auth
    )
    assert too_many.status_code == 413 and "50 events" in too_many.json()["detail"]
    too_deep = client.post("/v1/events", content=b"[" * 17 + b"]" * 17, headers=auth)
    assert too_deep.status_code == 413 and "deeper than 16" in too_deep.json()["detail"]
    fifty = b"\n\n" + ndjson([event(i, "p") for i in range(50)]) + b"\n\n"
    assert client.post("/v1/events", content=fifty, headers=auth).status_code == 202
    for garbage in (b"", b"hello\nworld", b"[1, 2", b"[]", b"\xff\xfe"):
        reply = client.post("/v1/events", content=garbage, headers=auth)
        assert reply.status_code == 422, garbage
        assert reply.json()["detail"][0]["loc"] == ["body"]
    only_invalid = client.post("/v1/events", content=ndjson([{"event_id": "x"}]), headers=auth)
    assert only_invalid.status_code == 202 and only_invalid.json()["accepted"] == 0


def test_broker_down_is_503_and_not_ready(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kafka = KafkaSettings(bootstrap=f"127.0.0.1:{port}", events_topic="unreachable.events")
    client, auth = client_for(tmp_path, kafka, events_produce_timeout_s=1.0)
    with client:
        reply = client.post("/v1/events", content=ndjson([event(1, "p")]), headers=auth)
        assert reply.status_code == 503 and reply.headers["retry-after"] == "5"
        assert "Kafka" in reply.json()["detail"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["kafka"] == "not connected"


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_a_flood_of_tiny_elements_is_refused_before_parsing_and_healthz_stays_fast(
    tmp_path: Path, kafka_settings: KafkaSettings, serve: Any
) -> None:
    client, auth = client_for(tmp_path, kafka_settings)  # production limits: 5 MB, 10,000
    flood = b"[" + b",".join([b"0"] * 1_000_000) + b"]"  # 2 MB, a million elements
    health_s: list[float] = []
    done = threading.Event()
    with serve(client.app) as server:

        def probe() -> None:
            with httpx.Client(base_url=server.url, timeout=10) as http:
                while not done.is_set():
                    started = time.monotonic()
                    assert http.get("/healthz").status_code == 200
                    health_s.append(time.monotonic() - started)
                    time.sleep(0.02)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            time.sleep(0.2)
            cpu_before = _process_cpu_s()
            reply = httpx.post(f"{server.url}/v1/events", content=flood, headers=auth, timeout=60)
            cpu_s = _process_cpu_s() - cpu_before
            time.sleep(0.2)
        finally:
            done.set()
            prober.join()
    assert reply.status_code == 413 and "10000 events" in reply.json()["detail"]
    assert cpu_s < 0.5, f"{cpu_s:.2f} CPU-seconds spent refusing the flood"
    assert max(health_s) < 0.25, f"/healthz took {max(health_s):.2f} s meanwhile"
