"""`/v1/subscriptions` through a real app: CRUD, SSRF refusals, test events, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from services.api.app import create_app
from services.api.auth import create_key
from services.api.webhooks.dispatcher import Dispatcher
from services.api.webhooks.ssrf import HostUnresolvable
from shared.settings import ApiSettings, WebhookSettings

SETTINGS = WebhookSettings(
    allow_cidrs="127.0.0.0/8", retry_schedule="0s", request_timeout_s=2, lease_s=10
)


def resolver(host: str) -> list[str]:
    table = {"hooks.koperasi.test": ["93.184.215.14"], "metadata.test": ["169.254.169.254"]}
    if host not in table:
        raise HostUnresolvable(f"NXDOMAIN {host}")
    return table[host]


def make_app(sessions: sessionmaker[Session], require_api_keys: bool = False) -> FastAPI:
    """The real app over the test store; the test calls the dispatcher itself."""
    settings = ApiSettings(
        require_api_keys=require_api_keys, run_dispatcher=False, run_retention=False
    )
    return create_app(settings, sessions=sessions, webhooks=SETTINGS, resolver=resolver)


@pytest.fixture
def client(sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(make_app(sessions)) as client:
        yield client


def dispatch(sessions: sessionmaker[Session]) -> int:
    dispatcher = Dispatcher(sessions, SETTINGS)
    try:
        return dispatcher.run_once()
    finally:
        dispatcher.stop()


def test_create_list_get_delete(client: TestClient) -> None:
    body = {
        "url": "https://hooks.koperasi.test/pantau",
        "categories": ["makanan", "makanan"],
        "regions": ["ID-JT"],
        "min_score": 0.7,
        "language": "en",
    }
    created = client.post("/v1/subscriptions", json=body)
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_")
    assert (sub["categories"], sub["regions"], sub["min_score"], sub["language"]) == (
        ["makanan"],
        ["ID-JT"],
        0.7,
        "en",
    )
    assert sub["created_at"].endswith("Z") or sub["created_at"].endswith("+00:00")
    listed = client.get("/v1/subscriptions").json()
    assert [s["id"] for s in listed] == [sub["id"]] and "secret" not in listed[0]
    fetched = client.get(f"/v1/subscriptions/{sub['id']}")
    assert fetched.status_code == 200 and "secret" not in fetched.json()
    assert client.delete(f"/v1/subscriptions/{sub['id']}").status_code == 204
    missing = client.get(f"/v1/subscriptions/{sub['id']}")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"subscription {sub['id']} not found"


@pytest.mark.parametrize(
    ("url", "kind", "words"),
    [
        ("http://metadata.test/latest", "url_refused", "169.254.0.0/16"),
        ("http://169.254.169.254/", "url_refused", "blocked range"),
        ("http://0xa9fea9fe/", "url_refused", "169.254.0.0/16"),
        ("http://[::ffff:10.0.0.1]/", "url_refused", "10.0.0.0/8"),
        ("ftp://hooks.koperasi.test/", "url_refused", "http or https"),
        ("https://nowhere.test/", "host_unresolvable", "cannot be resolved"),
    ],
)
def test_refused_urls_are_422_with_a_reason(
    client: TestClient, url: str, kind: str, words: str
) -> None:
    response = client.post("/v1/subscriptions", json={"url": url})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "url"] and error["type"] == kind and words in error["msg"]
    assert client.get("/v1/subscriptions").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "https://hooks.koperasi.test/", "min_score": 1.5},
        {"url": "https://hooks.koperasi.test/", "regions": ["Jawa Tengah"]},
        {"url": "https://hooks.koperasi.test/", "language": "fr"},
        {"url": "https://hooks.koperasi.test/", "surprise": True},
        {"url": "x" * 3000},
    ],
)
def test_invalid_bodies_are_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/v1/subscriptions", json=body).status_code == 422


def test_unknown_ids_are_404(client: TestClient) -> None:
    for method, path in [
        ("GET", "/v1/subscriptions/7"),
        ("DELETE", "/v1/subscriptions/7"),
        ("POST", "/v1/subscriptions/7/rotate-secret"),
        ("POST", "/v1/subscriptions/7/test"),
        ("GET", "/v1/subscriptions/7/deliveries"),
        ("POST", "/v1/subscriptions/7/deliveries/1/retry"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404 and "not found" in response.json()["detail"], path
    assert client.get("/v1/subscriptions/abc").status_code == 422


def test_test_event_retry_and_rotation(
    client: TestClient, sessions: sessionmaker[Session], make_receiver: Any
) -> None:
    status = {"code": 500}
    receiver = make_receiver(respond=lambda _r: status["code"])
    sub = client.post("/v1/subscriptions", json={"url": receiver.url, "language": "id"}).json()
    base = f"/v1/subscriptions/{sub['id']}"

    queued = client.post(f"{base}/test")
    assert queued.status_code == 202 and queued.json()["event_type"] == "trend.test"
    assert dispatch(sessions) == 1
    [failed] = client.get(f"{base}/deliveries").json()
    assert (failed["status"], failed["last_status_code"], failed["attempts"]) == ("failed", 500, 1)
    assert client.get(f"{base}/deliveries", params={"status": "delivered"}).json() == []

    status["code"] = 204
    retried = client.post(f"{base}/deliveries/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    assert dispatch(sessions) == 1
    [done] = client.get(f"{base}/deliveries").json()
    assert (done["status"], done["attempts"], done["msg_id"]) == ("delivered", 2, failed["msg_id"])
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    payload = Webhook(sub["secret"]).verify(second.body, second.headers)
    assert payload["type"] == "trend.test" and "pesan uji" in payload["data"]["message"]

    rotated = client.post(f"{base}/rotate-secret").json()
    assert rotated["secret"] != sub["secret"] and rotated["secret"].startswith("whsec_")
    client.post(f"{base}/test")
    dispatch(sessions)
    last = receiver.requests[-1]
    assert len(last.headers["webhook-signature"].split(" ")) == 2
    for secret in (sub["secret"], rotated["secret"]):
        Webhook(secret).verify(last.body, last.headers)

    other = client.post("/v1/subscriptions", json={"url": receiver.url}).json()
    foreign = client.post(f"/v1/subscriptions/{other['id']}/deliveries/{done['id']}/retry")
    assert foreign.status_code == 404


def test_disabled_subscription_refuses_test_and_retry(
    client: TestClient, sessions: sessionmaker[Session], make_receiver: Any
) -> None:
    receiver = make_receiver(respond=lambda _r: 410)
    sub = client.post("/v1/subscriptions", json={"url": receiver.url}).json()
    delivery = client.post(f"/v1/subscriptions/{sub['id']}/test").json()
    dispatch(sessions)
    state = client.get(f"/v1/subscriptions/{sub['id']}").json()
    assert state["disabled_reason"] == "endpoint answered 410 Gone"
    again = client.post(f"/v1/subscriptions/{sub['id']}/test")
    assert again.status_code == 409 and "disabled" in again.json()["detail"]
    retry = client.post(f"/v1/subscriptions/{sub['id']}/deliveries/{delivery['id']}/retry")
    assert retry.status_code == 409


def test_routes_need_an_admin_key(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        read_key = create_key(session, "dashboard", "read")
        admin_key = create_key(session, "ops", "admin")
    with TestClient(make_app(sessions, require_api_keys=True)) as client:
        assert client.get("/v1/subscriptions").status_code == 401
        as_reader = client.get("/v1/subscriptions", headers={"Authorization": f"Bearer {read_key}"})
        assert as_reader.status_code == 403
        as_admin = client.get("/v1/subscriptions", headers={"Authorization": f"Bearer {admin_key}"})
        assert as_admin.status_code == 200


def test_openapi_documents_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    create = schema["components"]["schemas"]["SubscriptionCreate"]
    assert create["examples"][0]["url"].startswith("https://")
    assert "DeliveryOut" in schema["components"]["schemas"]
    assert json.dumps(schema).count("whsec_") >= 1
