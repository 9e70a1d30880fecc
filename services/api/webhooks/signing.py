"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

A secret is `whsec_` + base64 of random bytes. The signature of one attempt is
`v1,` + base64(HMAC-SHA256(key, f"{msg_id}.{timestamp_s}.{body}")); the
`webhook-signature` header is a space-separated list of such entries, so a sender
rotating its secret can sign with both keys for a while.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 300


def generate_secret(n_bytes: int = 32) -> str:
    """A fresh `whsec_` secret from `n_bytes` (at least 24) random bytes."""
    if n_bytes < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret, with or without `whsec_`; unpadded base64 is accepted."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    if not encoded:
        raise ValueError("empty webhook secret")
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not valid base64") from exc


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def _check_timestamp(timestamp_s: int) -> int:
    if isinstance(timestamp_s, bool) or not isinstance(timestamp_s, int) or timestamp_s <= 0:
        raise ValueError(f"timestamp must be a positive integer of seconds, got {timestamp_s!r}")
    return timestamp_s


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes | str) -> str:
    """One `v1,<base64>` signature of `body` sent as message `msg_id` at `timestamp_s`."""
    content = f"{msg_id}.{_check_timestamp(timestamp_s)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(
    secrets_: Iterable[str], msg_id: str, timestamp_s: int, body: bytes | str
) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated."""
    return " ".join(sign(secret, msg_id, timestamp_s, body) for secret in secrets_)


def verify(
    secret: str,
    msg_id: str,
    timestamp_s: int | str,
    body: bytes | str,
    signature: str,
    *,
    now_s: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> bool:
    """True when one `v1` entry of the `signature` header matches and the timestamp is fresh.

    Never raises on attacker-controlled input: a malformed header or timestamp is False.
    """
    try:
        ts = _check_timestamp(int(timestamp_s))
    except (TypeError, ValueError):
        return False
    now = time.time() if now_s is None else now_s
    if abs(now - ts) > tolerance_s:
        return False
    expected = sign(secret, msg_id, ts, body).encode("ascii")
    for entry in signature.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(f"v1,{value}".encode(), expected):
            return True
    return False
