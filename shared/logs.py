"""Structured logs: one JSON object per line, with ids that tie records together.

The convention, the same in every service:

* a module logs through its own logger, `log = logging.getLogger(__name__)`;
* every record goes through `log_event(log, message, ..., **fields)`: the message says what
  happened in words (a fixed phrase where a reader or a test selects on it, such as
  `batch ingested` or `webhook.attempt`), the fields carry the ids, counts and codes, and
  become keys of the JSON line (`jq 'select(.alert_id == ...)'`);
* ids, counts, hosts and codes only: never secrets, request bodies or subscriber URLs;
* `configure()`, called once by the command line, renders every record as JSON on stderr.

A run can be followed through its logs by these ids:

* ingest `batch ingested`: `batch_id` (topic/partition/first-last offset) and the counts;
  `features emitted`: the same `batch_id`, `partition` and the feature `tick_ms`;
* scorer `batch scored`: `partition`, feature offsets, `tick_min_ms`..`tick_max_ms` and
  `model_version`;
* API `alert fired`: `alert_id`, `product_id`, `partition`, `tick_ms`, `model_version`;
* webhook `webhook.attempt`: `alert_id`, `delivery_id`, `msg_id` (the `webhook-id` header),
  `subscription_id` and `outcome`.

Secrets never reach the output: fields named like a secret are masked, and API keys,
webhook secrets and platform credentials are masked wherever they appear in a line (a last
line of defence; callers must not pass them in the first place).
"""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_SECRET_FIELDS = re.compile(r"secret|password|authorization|api_?key|token", re.IGNORECASE)
# API keys (services/api/auth.py), webhook signing secrets (services/api/webhooks/signing.py),
# the connectors' platform credentials: Google API keys and TikTok client access tokens;
# and the seller channels': a Telegram bot token (in every Bot API URL after `/bot`) and a
# Meta access token (WhatsApp Cloud API).
_SECRET_VALUES = re.compile(
    r"\b(pk_|whsec_|AIza|clt\.|EAA)[A-Za-z0-9_\-+/=.]{8,}"
    r"|\b(bot\d{5,}:)[A-Za-z0-9_\-]{30,}"  # the bot token stops before `/method`
)
REDACTED = "[redacted]"


def _fields(record: logging.LogRecord) -> dict[str, object]:
    """The record's `extra=` fields, those named like a secret masked."""
    return {
        k: REDACTED if _SECRET_FIELDS.search(k) else v
        for k, v in record.__dict__.items()
        if k not in _RESERVED
    }


def log_event(
    logger: logging.Logger,
    message: str,
    /,
    *args: object,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: object,
) -> None:
    """Log `message` (%-formatted with `args` only if the record is emitted) with `fields`
    as keys of its JSON line, and the traceback when `exc_info` (`level` and `exc_info`
    are the only names a field cannot take).

    A field named like a `LogRecord` attribute (`name`, `module`, `thread`...) is logged
    with a trailing underscore instead of making the call raise: logging must never be
    what fails.
    """
    extra = {f"{k}_" if k in _RESERVED else k: v for k, v in fields.items()}
    logger.log(level, message, *args, exc_info=exc_info, extra=extra, stacklevel=2)


class JsonFormatter(logging.Formatter):
    """Renders a record and its `extra=` fields (e.g. batch_id, alert_id) as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in _fields(record).items() if k not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str).decode()
        return _SECRET_VALUES.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, line)


class OncePerInterval(logging.Filter):
    """Lets each message template of the `prefix` loggers through at most once per
    `interval_s` (and says how many were held back): an unreachable broker makes the
    Kafka client repeat the same error several times a second."""

    def __init__(self, prefix: str, interval_s: float = 60.0) -> None:
        super().__init__()
        self.prefix, self.interval_s = prefix, interval_s
        self._last: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefix):
            return True
        key = (record.name, record.msg)
        now = time.monotonic()
        last, held = self._last.get(key, (-self.interval_s, 0))
        if now - last < self.interval_s:
            self._last[key] = (last, held + 1)
            return False
        self._last[key] = (now, 0)
        if held:
            record.repeated = held
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(OncePerInterval("kafka"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # httpx logs every request with its full URL at INFO; webhook URLs often embed a token.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
