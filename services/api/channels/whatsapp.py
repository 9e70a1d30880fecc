"""WhatsApp through the Business Cloud API: approved template messages.

Business-initiated messages outside a 24-hour conversation window must be templates,
so every alert is the template `PANTAU_WHATSAPP_TEMPLATE_NAME` with body parameters
{{1}} product, {{2}} how and where it rises ("mulai naik di Jawa Tengah"), {{3}} the
tier and chance ("Bersiap: kemungkinan viral dalam beberapa hari. Peluang viral 40% dalam
3 hari."), {{4}} why, {{5}} product link,
{{6}} manage link; notices use the same template with the notice text (docs/channels.md
gives the template to submit for approval). The opt-in is the page's checkbox,
recorded on the subscription.

Errors follow the Graph API shape `{"error": {"message", "type", "code",
"error_data": {"details"}, "fbtrace_id"}}`.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.api.channels.base import Message, SendResult
from shared.settings import WhatsAppSettings

# Throughput limits: the business number's (130429, 80007, 4) pauses the channel a minute;
# the per-recipient pair limit (131056) retries that message on the schedule.
_CHANNEL_LIMITS = {4, 80007, 130429}
_PAIR_LIMIT = 131056
RATE_LIMIT_PAUSE_S = 60.0
# Access token expired or invalid (190), permission missing (10, 200-299), account (131031).
_OPERATOR = {0, 10, 190, 131031}
# The number cannot get our messages: not on WhatsApp, opted out of marketing, undeliverable.
_RECIPIENT = {131026, 131050, 133010}
_TRANSIENT = {1, 2, 131000, 131016, 133004}


def template_payload(settings: WhatsAppSettings, to: str, message: Message) -> dict[str, Any]:
    f = message.fields
    if "notice" in f:
        values = [message.subject, "", "", message.text, "", message.manage_url]
    else:
        values = [
            f.get("name", ""),
            f"{f.get('rises', '')} {f.get('where', '')}".strip(),
            f"{f.get('level', '')}. {f.get('chance', '')}",
            f.get("why", "") or "-",
            f.get("link", ""),
            message.manage_url,
        ]
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": settings.template_name,
            "language": {"code": message.language or settings.template_language},
            "components": [
                {
                    "type": "body",
                    # WhatsApp refuses empty parameters and new lines in them.
                    "parameters": [
                        {"type": "text", "text": (v or "-").replace("\n", " ")[:1000]}
                        for v in values
                    ],
                }
            ],
        },
        # Comes back on the status webhooks: ties a status to this delivery.
        "biz_opaque_callback_data": message.idempotency_key,
    }


def classify(status: int, body: dict[str, Any]) -> SendResult:
    """A Cloud API answer as a send result."""
    if 200 <= status < 300:
        messages = body.get("messages") or [{}]
        return SendResult("delivered", provider_id=str(messages[0].get("id", "")))
    error = body.get("error") or {}
    code = int(error.get("code") or 0)
    text = f"whatsapp {status}/{code}: {str(error.get('message') or '')[:200]}"
    if code in _CHANNEL_LIMITS:
        return SendResult("retry", text, retry_after_s=RATE_LIMIT_PAUSE_S)
    if code == _PAIR_LIMIT or code in _TRANSIENT or status >= 500 or status == 429:
        return SendResult("retry", text)
    if code in _OPERATOR or 200 <= code < 300 or status == 401:
        return SendResult("misconfigured", text)
    if code in _RECIPIENT:
        return SendResult("recipient_gone", text)
    return SendResult("failed", text)


class WhatsAppChannel:
    name = "whatsapp"

    def __init__(self, settings: WhatsAppSettings) -> None:
        if settings.access_token is None or not settings.phone_number_id:
            raise ValueError("PANTAU_WHATSAPP_ACCESS_TOKEN and _PHONE_NUMBER_ID are needed")
        self._settings = settings
        self._url = f"{settings.api_url.rstrip('/')}/{settings.phone_number_id}/messages"
        self._client = httpx.Client(
            timeout=settings.request_timeout_s,
            trust_env=False,
            headers={"Authorization": f"Bearer {settings.access_token.get_secret_value()}"},
        )

    def send(self, address: str, message: Message) -> SendResult:
        try:
            response = self._client.post(
                self._url, json=template_payload(self._settings, address, message)
            )
        except httpx.TimeoutException:
            return SendResult("retry", "whatsapp: timeout")
        except httpx.HTTPError as exc:
            return SendResult("retry", f"whatsapp: {type(exc).__name__}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return classify(response.status_code, body if isinstance(body, dict) else {})

    def close(self) -> None:
        self._client.close()


def normalise_number(text: str) -> str | None:
    """An Indonesian mobile number as WhatsApp wants it (country code, digits only):
    '0812-3456-7890' and '+62 812 3456 7890' both give '6281234567890'."""
    digits = "".join(c for c in text if c.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    elif digits.startswith("8"):
        digits = "62" + digits
    return digits if digits.startswith("628") and 10 <= len(digits) <= 15 else None
