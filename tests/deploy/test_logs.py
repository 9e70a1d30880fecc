"""The JSON log format: one object per line, ids kept, secrets masked."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

from shared.logs import REDACTED, JsonFormatter, log_event

ROOT = Path(__file__).resolve().parents[2]
LEVEL_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log"}


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


def _logged(caplog: pytest.LogCaptureFixture, *args: object, **kwargs: object) -> dict[str, object]:
    logger = logging.getLogger("pantau.test")
    with caplog.at_level(logging.DEBUG, logger="pantau.test"):
        log_event(logger, *args, **kwargs)  # type: ignore[arg-type]
    (record,) = caplog.records
    return json.loads(JsonFormatter().format(record))


def test_log_event_fields_become_keys_and_the_message_stays_fixed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = _logged(caplog, "alert fired", alert_id="a-1", tick_ms=5, partition=2)
    assert entry["msg"] == "alert fired" and entry["level"] == "info"
    assert (entry["alert_id"], entry["tick_ms"], entry["partition"]) == ("a-1", 5, 2)


def test_log_event_formats_arguments_and_takes_a_level(caplog: pytest.LogCaptureFixture) -> None:
    entry = _logged(caplog, "model %s compiled", "m-1", level=logging.WARNING, model_version="m-1")
    assert entry["msg"] == "model m-1 compiled" and entry["level"] == "warning"
    assert entry["model_version"] == "m-1"


def test_log_event_keeps_fields_named_like_record_attributes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`logging` refuses `extra` keys such as `name` or `module` with a KeyError."""
    entry = _logged(caplog, "poll done", name="youtube", module="x", message="m", events=3)
    assert (entry["name_"], entry["module_"], entry["message_"]) == ("youtube", "x", "m")
    assert entry["msg"] == "poll done" and entry["events"] == 3


def test_log_event_adds_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise RuntimeError("store unreachable")
    except RuntimeError:
        entry = _logged(caplog, "retention run failed", level=logging.ERROR, exc_info=True)
    assert "RuntimeError: store unreachable" in str(entry["exc"])
    assert entry["level"] == "error"


def _log_calls(path: Path) -> list[str]:
    """Logging that bypasses the convention: `log.info(...)`-style calls on a logger and
    loggers named by a string rather than by their module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func = node.func
        named = func.attr == "getLogger" and node.args and isinstance(node.args[0], ast.Constant)
        direct = func.attr in LEVEL_CALLS and (
            (isinstance(func.value, ast.Name) and func.value.id in ("log", "logger", "logging"))
            or (
                isinstance(func.value, ast.Call)
                and getattr(func.value.func, "attr", "") == "getLogger"
            )
        )
        if named or direct:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_module_logs_through_log_event() -> None:
    paths = [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]
    found = [c for p in paths if p != ROOT / "shared/logs.py" for c in _log_calls(p)]
    assert found == []
