"""Web push against a local push service that does what a real one does with a message:
checks the VAPID token (ES256 signature with the key in the header, `aud` the endpoint's
origin, `exp` ahead and at most 24 h away, `sub`) and decrypts the `aes128gcm` body
with the browser's private key and auth secret (RFC 8291 / RFC 8188), both made here as
a browser would. Answers 404/410 (gone), 413, 429 with Retry-After and 5xx on demand."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi.testclient import TestClient
from pydantic import SecretStr
from seller_channels import (
    ALWAYS,
    PUBLIC_URL,
    delivery_rows,
    dispatcher,
    make_app,
    subscription_rows,
)
from typer.testing import CliRunner

from services.api.channels.service import ChannelSettings
from services.api.channels.webpush import (
    BadSubscription,
    classify,
    generate_vapid_keys,
    parse_subscription,
    retry_after_s,
)
from services.cli import app as cli
from shared.settings import WebPushSettings

TICK_MS = 1_772_409_600_000
SUBJECT = "mailto:ops@pantau.test"
VAPID_PRIVATE, VAPID_PUBLIC = generate_vapid_keys()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser keeps for one push subscription: its key pair and auth secret."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


def verify_vapid(authorization: str, audience: str) -> dict[str, Any]:
    """The claims of a valid `vapid t=…,k=…` header (RFC 8292 §3); AssertionError if not."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization[:20]
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == VAPID_PUBLIC  # the page's applicationServerKey
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    header = json.loads(unb64url(header_b64))
    assert header == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    assert len(signature) == 64  # JWS: r || s, not DER
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    try:
        public.verify(
            encode_dss_signature(r, s),
            f"{header_b64}.{claims_b64}".encode(),
            ec.ECDSA(hashes.SHA256()),
        )
    except InvalidSignature as exc:
        raise AssertionError("VAPID signature does not verify") from exc
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    now = time.time()
    assert now < claims["exp"] <= now + 24 * 3600
    assert claims["sub"] == SUBJECT
    return claims


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    claims: dict[str, Any]
    message: dict[str, Any]


class PushService:
    """A push service on 127.0.0.1: one browser per path (`/push/<name>`)."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict[str, str]]] = []  # queued failures
        self.gone: set[str] = set()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.origin = ""

    def add(self, name: str) -> dict[str, Any]:
        browser = self.browsers[name] = Browser()
        return browser.subscription(f"{self.origin}/push/{name}")

    def messages(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r.message for r in self.received if r.path == f"/push/{name}"]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        name = path.rsplit("/", 1)[-1]
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
        if name in self.gone or name not in self.browsers:
            return 410, {}
        try:
            claims = verify_vapid(headers["authorization"], self.origin)
            assert headers["content-encoding"] == "aes128gcm"
            assert int(headers["ttl"]) > 0
            browser = self.browsers[name]
            plain = http_ece.decrypt(
                body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"
            )
            message = json.loads(plain)
        except Exception as exc:  # reported to the test, answered as a service would
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            return 400, {}
        with self.lock:
            self.received.append(Received(path, headers, claims, message))
        return 201, {"Location": f"{self.origin}/m/{len(self.received)}"}

    @contextmanager
    def running(self) -> Iterator[PushService]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra = service.handle(self.path, headers, body)
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        http.daemon_threads = True
        self.origin = f"http://127.0.0.1:{http.server_address[1]}"
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            http.shutdown()
            http.server_close()


def webpush_app(database_url: str) -> Any:
    settings = WebPushSettings(
        vapid_private_key=SecretStr(VAPID_PRIVATE), vapid_subject=SUBJECT, request_timeout_s=0.9
    )
    return make_app(database_url, ChannelSettings(seller=ALWAYS, webpush=settings))


@pytest.fixture
def push(database_url: str) -> Iterator[tuple[Any, TestClient, PushService]]:
    with PushService().running() as service:
        app = webpush_app(database_url)
        with TestClient(app) as client:
            yield app, client, service


def subscribe_push(client: TestClient, subscription: dict[str, Any], **form: Any) -> str:
    """Post the form as the page's script does after `pushManager.subscribe`."""
    data = {"channel": "webpush", "push": json.dumps(subscription), **form}
    response = client.post("/langganan", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).split("/")[-1].split("?")[0]


def send_until(app: Any, done: Callable[[], bool], timeout_s: float = 10.0) -> None:
    send = dispatcher(app)
    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        send.run_once()
        time.sleep(0.05)


def test_page_offers_web_push_with_the_vapid_key(
    push: tuple[Any, TestClient, PushService],
) -> None:
    _, client, _ = push
    page = client.get("/langganan").text
    assert f'data-push-key="{VAPID_PUBLIC}"' in page
    # Hidden until the script finds push support: without script the form offers only
    # what works without it.
    assert (
        '<div data-push hidden><label class="check">'
        '<input type="radio" name="channel" value="webpush"' in page
    )
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page


def test_alert_arrives_encrypted_and_signed(
    push: tuple[Any, TestClient, PushService], make_scores: Callable[..., Any]
) -> None:
    app, client, service = push
    token = subscribe_push(client, service.add("phone"), category="makanan")
    [subscription] = subscription_rows(app)
    assert subscription.status == "active"
    # Least data: the endpoint and the two keys, not `expirationTime` or anything else.
    stored = json.loads(subscription.address or "")
    assert set(stored) == {"endpoint", "keys"} and set(stored["keys"]) == {"p256dh", "auth"}
    app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS))
    send_until(app, lambda: len(service.messages("phone")) == 2)
    assert service.errors == []
    welcome, alert = sorted(
        service.messages("phone"), key=lambda m: "url" in m and "produk" in m["url"]
    )
    assert welcome["title"] == "Langganan Pantau aktif"
    assert welcome["url"] == f"{PUBLIC_URL}/langganan/{token}"
    assert alert["url"] == f"{PUBLIC_URL}/produk/rendang"  # the notification click opens it
    assert alert["title"] == "Sangat mungkin viral dalam 24 jam. Produk rendang naik di Jawa Tengah"
    assert "Peluang viral 95%" in alert["body"]
    assert alert["manage"] == f"{PUBLIC_URL}/langganan/{token}" and alert["tag"]
    assert {d.status for d in delivery_rows(app)} == {"delivered"}


def test_a_gone_subscription_is_erased(
    push: tuple[Any, TestClient, PushService], make_scores: Callable[..., Any]
) -> None:
    app, client, service = push
    subscribe_push(client, service.add("old"))
    service.gone.add("old")  # the seller cleared the site's data: the service answers 410
    send_until(app, lambda: subscription_rows(app)[0].status == "disabled")
    [subscription] = subscription_rows(app)
    assert subscription.address is None and "410" in (subscription.disabled_reason or "")
    app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS))
    dispatcher(app).run_once()
    assert service.messages("old") == []
    assert {d.status for d in delivery_rows(app)} <= {"disabled"}


def test_unsubscribe_deletes_and_stops(
    push: tuple[Any, TestClient, PushService], make_scores: Callable[..., Any]
) -> None:
    app, client, service = push
    token = subscribe_push(client, service.add("tab"))
    send_until(app, lambda: len(service.messages("tab")) == 1)
    client.post(f"/langganan/{token}/berhenti")
    assert subscription_rows(app) == [] and delivery_rows(app) == []
    app.state.intake.apply(make_scores({"rendang": 0.95}, TICK_MS))
    dispatcher(app).run_once()
    assert len(service.messages("tab")) == 1


def test_rate_limit_pauses_and_server_errors_retry(
    push: tuple[Any, TestClient, PushService],
) -> None:
    app, client, service = push
    service.answers += [(503, {}), (500, {})]
    subscribe_push(client, service.add("a"))
    send_until(app, lambda: len(service.messages("a")) == 1)
    [welcome] = delivery_rows(app)
    assert welcome.status == "delivered" and welcome.attempts == 3
    service.answers.append((429, {"Retry-After": "120"}))
    subscribe_push(client, service.add("b"))
    dispatcher(app).run_once()
    waiting = delivery_rows(app)[-1]
    # The push service's own pause: not an attempt spent, due again after Retry-After.
    assert waiting.status == "pending" and waiting.attempts == 0
    assert "429" in (waiting.last_error or "")
    due_in_s = (waiting.next_attempt_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert 100 < due_in_s <= 120


def test_payload_too_large_fails_that_message_only(
    push: tuple[Any, TestClient, PushService],
) -> None:
    app, client, service = push
    service.answers.append((413, {}))
    subscribe_push(client, service.add("big"))
    dispatcher(app).run_once()
    [delivery] = delivery_rows(app)
    assert delivery.status == "failed" and "413" in (delivery.last_error or "")
    assert subscription_rows(app)[0].status == "active"


def test_refused_subscriptions(push: tuple[Any, TestClient, PushService]) -> None:
    app, client, service = push
    good = service.add("x")
    no_script = client.post("/langganan", data={"channel": "webpush"})
    assert no_script.status_code == 422 and "Pilih cara lain" in no_script.text
    private = {**good, "endpoint": "https://10.1.2.3/push/x"}  # not in the allow-list
    refused = client.post("/langganan", data={"channel": "webpush", "push": json.dumps(private)})
    assert refused.status_code == 422
    assert subscription_rows(app) == []
    with pytest.raises(BadSubscription):
        parse_subscription(json.dumps({**good, "keys": {"p256dh": "AAAA", "auth": "BBBB"}}))
    with pytest.raises(BadSubscription):
        parse_subscription('{"endpoint": "https://push.example/1"}')


def test_push_service_answers_classified() -> None:
    now_s = time.time()
    assert classify(201, None, now_s).outcome == "delivered"
    assert classify(404, None, now_s).outcome == "recipient_gone"
    assert classify(410, None, now_s).outcome == "recipient_gone"
    assert classify(413, None, now_s).outcome == "failed"
    assert classify(403, None, now_s).outcome == "misconfigured"
    assert classify(502, None, now_s).outcome == "retry"
    limited = classify(429, None, now_s)
    assert limited.outcome == "retry" and limited.retry_after_s is None
    later = format_datetime(datetime.fromtimestamp(now_s, UTC) + timedelta(seconds=90), True)
    assert retry_after_s(later, now_s) == pytest.approx(90, abs=1)
    assert retry_after_s("30", now_s) == 30
    assert retry_after_s("soon", now_s) is None


def test_vapid_keys_command() -> None:
    result = CliRunner().invoke(cli, ["channels", "vapid-keys"])
    assert result.exit_code == 0, result.output
    private = result.output.split("PANTAU_WEBPUSH_VAPID_PRIVATE_KEY=")[1].split()[0]
    assert len(unb64url(private)) == 32
    public = result.output.rsplit(": ", 1)[1].strip()
    assert len(unb64url(public)) == 65


def test_an_endpoint_of_real_length_is_stored(
    push: tuple[Any, TestClient, PushService],
) -> None:
    """Mozilla's endpoints carry a ~300-character token, FCM's ~160: with the keys the
    address passes the 320 characters an email address needed (PostgreSQL enforces it)."""
    app, client, service = push
    name = "gAAAAABn" + "x" * 300
    subscribe_push(client, service.add(name))
    [subscription] = subscription_rows(app)
    assert len(subscription.address or "") > 400
    send_until(app, lambda: len(service.messages(name)) == 1)
    assert service.messages(name)[0]["title"] == "Langganan Pantau aktif"


def test_an_unusable_stored_subscription_never_raises() -> None:
    """A channel must not raise into the dispatcher: a stored subscription without keys
    (pywebpush raises its own exception class) or with a refused endpoint ends it.
    8.8.8.8 only passes the egress check: encryption fails before any connection."""
    from services.api.channels.base import Message
    from services.api.channels.webpush import WebPushChannel

    channel = WebPushChannel(WebPushSettings(vapid_private_key=SecretStr(VAPID_PRIVATE)), allow=())
    message = Message("t", "x", "k", "http://m", "http://u")
    keys = Browser().subscription("http://127.0.0.1:9/push/x")["keys"]
    try:
        no_keys = channel.send('{"endpoint": "https://8.8.8.8/x"}', message)
        loopback = channel.send(
            json.dumps({"endpoint": "http://127.0.0.1:9/x", "keys": keys}), message
        )
    finally:
        channel.close()
    assert no_keys.outcome == "recipient_gone" and "WebPushException" in (no_keys.error or "")
    assert loopback.outcome == "recipient_gone" and "127.0.0.1" not in (loopback.error or "")
