"""Standard Webhooks signatures: reference vectors and the reference verifier."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.api.webhooks.signing import (
    generate_secret,
    secret_key,
    sign,
    signature_header,
    verify,
)

VECTORS_PATH = Path(__file__).resolve().parents[1] / "data" / "standard-webhooks" / "vectors.json"


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS_PATH.read_text())


def _case(vectors: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in vectors["negative_and_edge_cases"] if c["name"] == name)


def test_sign_matches_every_reference_vector(vectors: dict[str, Any]) -> None:
    assert vectors["vectors"]
    for v in vectors["vectors"]:
        assert (
            sign(v["secret"], v["msg_id"], v["timestamp"], v["payload"])
            == (v["expected_signature"])
        ), v["name"]
        assert len(secret_key(v["secret"])) == v["secret_raw_bytes_len"]
        # and verification of the same tuple, with the clock set to its timestamp
        assert verify(
            v["secret"],
            v["msg_id"],
            v["timestamp"],
            v["payload"],
            v["expected_signature"],
            now_s=v["timestamp"],
        )


def test_unpadded_secrets_and_secret_without_prefix(vectors: dict[str, Any]) -> None:
    base = vectors["vectors"][0]
    derived = _case(vectors, "unpadded_base64_secrets")["derived_here_NOT_from_source"]
    for label, expected in derived.items():
        secret = label.split(" @ ")[0]
        assert sign(secret, base["msg_id"], base["timestamp"], base["payload"]) == expected
    bare = base["secret"].removeprefix("whsec_")
    assert secret_key(bare) == secret_key(base["secret"])


def test_verify_rejects_wrong_and_malformed_signatures(vectors: dict[str, Any]) -> None:
    now = int(time.time())
    for name in ("wrong_sig_one_char_off", "rust_wrong_sig"):
        case = _case(vectors, name)
        assert not verify(
            case["secret"], case["msg_id"], now, case["payload"], case["webhook-signature"]
        )
    v = vectors["vectors"][0]
    good = sign(v["secret"], v["msg_id"], now, v["payload"])
    malformed = [*_case(vectors, "malformed_sigs")["webhook-signature_values"][:2], good[:8]]
    for header in [*malformed, "invalid_signature", "v1,a,b", "v1,!!!", ""]:
        assert not verify(v["secret"], v["msg_id"], now, v["payload"], header), header


def test_verify_accepts_a_valid_signature_among_decoys(vectors: dict[str, Any]) -> None:
    now = int(time.time())
    v = vectors["vectors"][0]
    good = sign(v["secret"], v["msg_id"], now, v["payload"])
    for name in ("multi_sig_with_decoys", "rust_multi_sig_decoys"):
        template = _case(vectors, name)["webhook-signature"]
        header = template.replace("<VALID v1 sig>", good).replace("<VALID>", good)
        assert verify(v["secret"], v["msg_id"], now, v["payload"], header), name
        without = template.replace(" <VALID v1 sig>", "").replace(" <VALID>", "")
        assert not verify(v["secret"], v["msg_id"], now, v["payload"], without), name


def test_timestamp_tolerance_and_bad_timestamps() -> None:
    secret, msg_id, body = generate_secret(), "msg_1", b"{}"
    now = int(time.time())
    for ts in (now - 301, now + 301):
        assert not verify(secret, msg_id, ts, body, sign(secret, msg_id, ts, body))
    for ts in (now - 299, now + 299):
        assert verify(secret, msg_id, ts, body, sign(secret, msg_id, ts, body))
    assert not verify(secret, msg_id, "hello", body, sign(secret, msg_id, now, body))
    for bad in (161426533.0, "invalid timestamp", -161426533, 0, True):
        with pytest.raises(ValueError, match="positive integer"):
            sign(secret, msg_id, bad, body)  # type: ignore[arg-type]


def test_empty_or_invalid_secret_is_refused() -> None:
    for secret in ("", "whsec_", "whsec_***"):
        with pytest.raises(ValueError):
            sign(secret, "msg_1", 1, b"")


def test_empty_payload_signs_and_verifies() -> None:
    secret, now = generate_secret(), int(time.time())
    assert verify(secret, "msg_1", now, b"", sign(secret, "msg_1", now, b""))


def test_generated_secrets_are_random_and_long_enough() -> None:
    secrets_ = {generate_secret() for _ in range(50)}
    assert len(secrets_) == 50
    for secret in secrets_:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    with pytest.raises(ValueError):
        generate_secret(16)


def test_reference_library_verifies_our_signatures() -> None:
    secret, msg_id = generate_secret(), "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    body = json.dumps(
        {"type": "trend.alert", "data": {"nama": "keripik pedas"}}, ensure_ascii=False
    )
    now = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, msg_id, now, body),
    }
    assert Webhook(secret).verify(body.encode(), headers)["data"]["nama"] == "keripik pedas"
    reference = Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body)
    assert reference == headers["webhook-signature"]
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_rotation_header_verifies_with_either_secret() -> None:
    old, new, now = generate_secret(), generate_secret(), int(time.time())
    header = signature_header([new, old], "msg_1", now, b'{"a":1}')
    assert len(header.split(" ")) == 2
    for secret in (old, new):
        assert verify(secret, "msg_1", now, b'{"a":1}', header)
        Webhook(secret).verify(
            b'{"a":1}',
            {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": header},
        )
