"""The JSON log format: one object per line, ids kept, secrets masked."""

from __future__ import annotations

import json
import logging

from shared.logs import REDACTED, JsonFormatter


def _line(msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("pantau.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_extra_fields_become_keys() -> None:
    entry = _line("alert fired for %s", "p1", alert_id="a-1", tick_ms=5, partition=2)
    assert entry["msg"] == "alert fired for p1"
    assert entry["level"] == "info" and entry["logger"] == "pantau.test"
    assert (entry["alert_id"], entry["tick_ms"], entry["partition"]) == ("a-1", 5, 2)


def test_a_json_message_is_merged_and_its_event_becomes_the_message() -> None:
    entry = _line(json.dumps({"event": "webhook.attempt", "alert_id": "a-1", "outcome": "success"}))
    assert entry["msg"] == "webhook.attempt"
    assert entry["alert_id"] == "a-1" and entry["outcome"] == "success"
    assert _line("{not json")["msg"] == "{not json"


def test_secrets_are_masked_by_field_name_and_by_shape() -> None:
    key = "pk_" + "A1b2C3d4E5f6G7h8"
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    entry = _line(f"key {key} and {secret}", signing_secret="s3cr3t-value", api_key="k")
    text = json.dumps(entry)
    for leaked in (key, secret, "s3cr3t-value"):
        assert leaked not in text
    assert entry["signing_secret"] == REDACTED and entry["api_key"] == REDACTED
    assert entry["msg"] == f"key pk_{REDACTED} and whsec_{REDACTED}"


def test_platform_credentials_are_masked_by_shape() -> None:
    """A connector's Google API key or TikTok token in a URL or an error message."""
    google = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
    tiktok = "clt." + "example12345Example12345Example"
    entry = _line(f"GET /videos?id=x&key={google} failed; bearer {tiktok}")
    assert google not in json.dumps(entry) and tiktok not in json.dumps(entry)
    assert entry["msg"] == f"GET /videos?id=x&key=AIza{REDACTED} failed; bearer clt.{REDACTED}"


def test_seller_channel_credentials_are_masked_by_shape() -> None:
    """A Telegram bot token in a Bot API URL, a Meta access token in an error message."""
    bot = "123456789:" + "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    meta = "EAA" + "GzZBd2ZA4tBAOZCZAbcdEfGhIjKlMnOpQrStUv"
    entry = _line(f"POST https://api.telegram.org/bot{bot}/sendMessage; Bearer {meta}")
    assert bot.partition(":")[2] not in json.dumps(entry) and meta not in json.dumps(entry)
    assert entry["msg"] == (
        f"POST https://api.telegram.org/bot123456789:{REDACTED}/sendMessage; Bearer EAA{REDACTED}"
    )
