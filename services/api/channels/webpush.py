"""Web push: a notification on the seller's phone or computer, through their browser's
push service (RFC 8030), with the payload encrypted to the browser (RFC 8291,
`aes128gcm`) and the sender identified by a VAPID token (RFC 8292).

The address is the browser's push subscription and nothing else: its endpoint and its
two keys, as JSON. The endpoint is a URL the seller's browser gave us, so it passes the
webhooks' egress guard (no private or loopback addresses unless the operator allows
them) when subscribing and again at every send, where the connection goes to the
checked address. Encryption and signing are pywebpush's (`WebPusher.encode`) and
py-vapid's; the request is ours, so timeouts, redirects and proxies behave as in the
other channels.

Push service answers (RFC 8030 §5, §8.3; FCM, Mozilla autopush and Apple answer alike):
201 accepted; 404/410 the subscription is gone; 413 the payload is too large; 429 with
`Retry-After` slow down; 401/403 the VAPID token or key is refused (the operator's key:
a rotated key invalidates every subscription made with the old one); 5xx retry.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

from services.api.channels.base import Message, SendResult
from services.api.webhooks.ssrf import (
    HostUnresolvable,
    Resolver,
    Target,
    UrlRefused,
    resolve_target,
    system_resolver,
)
from services.api.webhooks.transport import make_client
from shared.settings import IPNetwork, WebPushSettings

# What a browser's subscription can take: endpoints run to ~400 characters (FCM, autopush).
MAX_ADDRESS_CHARS = 2048
# RFC 8291 §4: one record of 4096 bytes holds at most 3993 bytes of plaintext; the body
# text is cut well before that.
MAX_PAYLOAD_BYTES = 3000
MAX_BODY_CHARS = 600
# RFC 8292 §2: a token's `exp` at most 24 h ahead; some services refuse exactly 24 h.
VAPID_EXPIRY_S = 12 * 3600
# A push service asking to wait longer than this is asked again after this.
MAX_RETRY_AFTER_S = 3600.0
USER_AGENT = "Pantau-WebPush/1.0"


class BadSubscription(ValueError):
    """The browser's subscription is malformed or its endpoint may not be reached."""


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_subscription(
    raw: str, allow: Sequence[IPNetwork] = (), resolver: Resolver = system_resolver
) -> str:
    """The address to store for a `PushSubscription.toJSON()`: endpoint and keys only
    (its `expirationTime` and anything else are dropped). Raises `BadSubscription`."""
    try:
        data = json.loads(raw)
        endpoint = str(data["endpoint"])
        p256dh = str(data["keys"]["p256dh"])
        auth = str(data["keys"]["auth"])
        receiver = _b64url_decode(p256dh)
        secret = _b64url_decode(auth)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadSubscription(f"not a push subscription: {type(exc).__name__}") from exc
    if len(receiver) != 65 or receiver[0] != 4 or len(secret) != 16:
        raise BadSubscription("p256dh must be a P-256 point and auth 16 bytes")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), receiver)
    except ValueError as exc:
        raise BadSubscription("p256dh is not on the P-256 curve") from exc
    try:
        resolve_target(endpoint, allow, resolver)
    except (UrlRefused, HostUnresolvable) as exc:
        raise BadSubscription(f"endpoint refused: {exc}") from exc
    address = json.dumps(
        {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}, separators=(",", ":")
    )
    if len(address) > MAX_ADDRESS_CHARS:
        raise BadSubscription("subscription too long")
    return address


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key, public key), both base64url as the settings
    and the page's `applicationServerKey` take them."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(private), public_key_of(key)


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(point)


def load_vapid(private_key: str) -> Vapid02:
    """The signing key from the setting (raw base64url or DER); `ValueError` if invalid."""
    try:
        vapid = Vapid02.from_string(private_key=private_key.strip())
    except Exception as exc:  # py-vapid raises its own and the decoders' errors
        raise ValueError(f"PANTAU_WEBPUSH_VAPID_PRIVATE_KEY: {type(exc).__name__}") from exc
    return vapid


def payload(message: Message) -> bytes:
    """What the service worker shows: title, body, the page a click opens, and a tag so a
    repeat of the same delivery replaces the first notification rather than stacking."""
    fields = message.fields
    if "link" in fields:  # one alert: open its product page
        body = f"{fields.get('chance', '')} {fields.get('why', '')}".strip()
        url = fields["link"]
    else:  # a notice or a digest: its first paragraph, and the manage page
        body = message.text.split("\n\n")[0]
        url = message.manage_url
    body = body[:MAX_BODY_CHARS]
    while True:
        data = {
            "title": message.subject[:200],
            "body": body,
            "url": url,
            "manage": message.manage_url,
            "tag": message.idempotency_key,
            "lang": message.language,
        }
        encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        if len(encoded) <= MAX_PAYLOAD_BYTES or not body:
            return encoded
        body = body[: len(body) // 2]


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now_s
    return min(max(seconds, 1.0), MAX_RETRY_AFTER_S)


def classify(status: int, retry_after: str | None, now_s: float) -> SendResult:
    """A push service's answer as a send result."""
    text = f"webpush {status}"
    if 200 <= status < 300:
        return SendResult("delivered")
    if status in (404, 410):
        return SendResult("recipient_gone", f"{text}: subscription expired or unsubscribed")
    if status == 413:
        return SendResult("failed", f"{text}: payload too large")
    if status == 429:
        return SendResult("retry", f"{text}: rate limited", retry_after_s(retry_after, now_s))
    if status in (401, 403):
        return SendResult("misconfigured", f"{text}: VAPID token or key refused")
    if status >= 500:
        return SendResult("retry", text)
    return SendResult("failed", text)


def origin(endpoint: str) -> str:
    """The VAPID audience: the endpoint's scheme, host and port (RFC 8292 §2)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class WebPushChannel:
    name = "webpush"

    def __init__(
        self,
        settings: WebPushSettings,
        allow: Sequence[IPNetwork] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        if settings.vapid_private_key is None:
            raise ValueError("PANTAU_WEBPUSH_VAPID_PRIVATE_KEY is needed")
        self._settings = settings
        self._vapid = load_vapid(settings.vapid_private_key.get_secret_value())
        self.public_key = public_key_of(self._vapid.private_key)
        self._allow = tuple(allow)
        self._resolver = resolver
        self._client = make_client(settings.request_timeout_s)

    def address_of(self, raw: str) -> str:
        """A browser's subscription checked as `send` will use it (`BadSubscription`)."""
        return parse_subscription(raw, self._allow, self._resolver)

    def vapid_headers(self, endpoint: str, now_s: float) -> dict[str, str]:
        claims: dict[str, Any] = {
            "aud": origin(endpoint),
            "exp": int(now_s) + VAPID_EXPIRY_S,
            "sub": self._settings.vapid_subject,
        }
        return dict(self._vapid.sign(claims))

    def send(self, address: str, message: Message) -> SendResult:
        try:
            subscription = json.loads(address)
            endpoint = str(subscription["endpoint"])
            target = resolve_target(endpoint, self._allow, self._resolver)
            body = WebPusher(subscription).encode(payload(message), "aes128gcm")["body"]
        except (UrlRefused, WebPushException, ValueError, KeyError, TypeError) as exc:
            # The stored subscription can no longer be used: the seller subscribes again.
            # The class only: the message could quote the endpoint.
            return SendResult(
                "recipient_gone", f"webpush: unusable subscription ({type(exc).__name__})"
            )
        except HostUnresolvable:
            return SendResult("retry", "webpush: push service host unresolvable")
        now_s = time.time()
        headers = {
            **self.vapid_headers(endpoint, now_s),
            "TTL": str(self._settings.ttl_s),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Urgency": "normal",
            "User-Agent": USER_AGENT,
        }
        return self._post(target, headers, body, now_s)

    def _post(
        self, target: Target, headers: dict[str, str], body: bytes, now_s: float
    ) -> SendResult:
        """To the checked address with the endpoint's host as Host and TLS name, as the
        webhook transport does; the answer's body is not read (push services send none
        that matters)."""
        extensions = {"sni_hostname": target.server_name} if target.server_name else {}
        try:
            with self._client.stream(
                "POST",
                target.connect_url,
                content=body,
                headers={**headers, "Host": target.host_header},
                extensions=extensions,
            ) as response:
                status = response.status_code
                retry_after = response.headers.get("retry-after")
        except httpx.TimeoutException:
            return SendResult("retry", "webpush: timeout")
        except (httpx.HTTPError, OSError) as exc:
            return SendResult("retry", f"webpush: {type(exc).__name__}")
        return classify(status, retry_after, now_s)

    def close(self) -> None:
        self._client.close()
