"""Telegram through the Bot API: `sendMessage` for alerts, `getUpdates` to link chats.

A seller subscribes by opening the bot's deep link `t.me/<bot>?start=<token>`; Telegram
then delivers `/start <token>` from their chat, which links the chat to the
subscription. `/stop` (or `berhenti`) ends every subscription of that chat.

Errors follow the Bot API's shape `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}`: 429 is flood control (wait `retry_after` s), 403 means
the user blocked the bot or is gone, 400 "chat not found" likewise, 401 a bad bot token.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from services.api.channels import subscriptions
from services.api.channels.base import Message, SendResult
from shared.logs import log_event
from shared.settings import TelegramSettings

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4096
STOP_WORDS = frozenset({"/stop", "/berhenti", "berhenti", "stop"})


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def classify(status: int, body: dict[str, Any]) -> SendResult:
    """A Bot API answer as a send result."""
    if status == 200 and body.get("ok"):
        result = body.get("result") or {}
        return SendResult("delivered", provider_id=str(result.get("message_id", "")))
    code = int(body.get("error_code") or status)
    error = f"telegram {code}: {str(body.get('description') or '')[:200]}"
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        return SendResult("retry", error, retry_after_s=float(retry_after or 1))
    if code in (401, 404):  # the bot token is wrong or revoked: the operator's to fix
        return SendResult("misconfigured", error)
    if code == 403 or (code == 400 and "chat not found" in error):
        return SendResult("recipient_gone", error)
    if code >= 500:
        return SendResult("retry", error)
    return SendResult("failed", error)


class TelegramBot:
    """The Bot API client: the `telegram` channel and the update reader share it."""

    name = "telegram"

    def __init__(self, settings: TelegramSettings) -> None:
        if settings.bot_token is None:
            raise ValueError("PANTAU_TELEGRAM_BOT_TOKEN is not set")
        self._settings = settings
        self._base = f"{settings.api_url.rstrip('/')}/bot{settings.bot_token.get_secret_value()}"
        self._client = httpx.Client(timeout=settings.request_timeout_s, trust_env=False)

    def call(
        self, method: str, payload: dict[str, Any], wait_s: float = 0.0
    ) -> tuple[int, dict[str, Any]]:
        """One Bot API call; `wait_s` more to read for a long poll. Raises httpx errors.
        The URL holds the bot token: never log it."""
        timeout = httpx.Timeout(
            self._settings.request_timeout_s, read=self._settings.request_timeout_s + wait_s
        )
        response = self._client.post(f"{self._base}/{method}", json=payload, timeout=timeout)
        try:
            body = response.json()
        except ValueError:
            body = {"ok": False, "error_code": response.status_code, "description": "not JSON"}
        return response.status_code, body if isinstance(body, dict) else {}

    def send(self, address: str, message: Message) -> SendResult:
        payload = {
            "chat_id": int(address),
            "text": message.text[:MAX_TEXT_CHARS],
            "link_preview_options": {"is_disabled": True},
        }
        try:
            status, body = self.call("sendMessage", payload)
        except httpx.TimeoutException:
            return SendResult("retry", "telegram: timeout")
        except httpx.HTTPError as exc:
            return SendResult("retry", f"telegram: {type(exc).__name__}")
        return classify(status, body)

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class ChatCommand:
    chat_id: int
    action: str  # "start" or "stop"
    token: str = ""


def commands(updates: list[dict[str, Any]]) -> list[ChatCommand]:
    """`/start <token>` and stop words from private chats, in update order. Pure."""
    found = []
    for update in updates:
        message = update.get("message") or {}
        chat = message.get("chat") or {}
        text = str(message.get("text") or "").strip()
        if chat.get("type") != "private" or "id" not in chat:
            continue
        parts = text.split()
        if len(parts) == 2 and parts[0] == "/start":
            found.append(ChatCommand(int(chat["id"]), "start", parts[1]))
        elif text.lower() in STOP_WORDS:
            found.append(ChatCommand(int(chat["id"]), "stop"))
    return found


def apply_commands(session: Session, found: list[ChatCommand]) -> None:
    for command in found:
        if command.action == "start":
            subscriptions.link_telegram_chat(session, command.token, command.chat_id)
        else:
            subscriptions.end_telegram_chat(session, command.chat_id)


class UpdateReader:
    """Long-polls `getUpdates` in a thread and applies chat commands to the store.

    An update is confirmed (by the next call's `offset`) only after its command is
    committed, so a crash replays it, and replaying is harmless: linking twice links
    the same chat, stopping twice finds nothing. Only one process may poll a bot.
    """

    def __init__(self, bot: TelegramBot, sessions: sessionmaker[Session], timeout_s: int) -> None:
        self._bot = bot
        self._sessions = sessions
        self._timeout_s = timeout_s
        self._offset: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """One getUpdates call; returns how many updates it applied."""
        payload: dict[str, Any] = {"timeout": self._timeout_s, "allowed_updates": ["message"]}
        if self._offset is not None:
            payload["offset"] = self._offset
        status, body = self._bot.call("getUpdates", payload, wait_s=self._timeout_s)
        if status != 200 or not body.get("ok"):
            wait_s = (body.get("parameters") or {}).get("retry_after") or 5
            code = body.get("error_code", status)
            log_event(log, "telegram.updates_error", error_code=code, wait_s=wait_s)
            self._stopping.wait(float(wait_s))
            return 0
        updates = [u for u in body.get("result") or [] if isinstance(u, dict)]
        if not updates:
            return 0
        with self._sessions.begin() as session:
            apply_commands(session, commands(updates))
        self._offset = max(int(u["update_id"]) for u in updates) + 1
        return len(updates)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pantau-telegram", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # network or database trouble: try again shortly
                log_event(log, "telegram.updates_error", error=type(exc).__name__)
                self._stopping.wait(5.0)

    def stop(self, timeout_s: float | None = None) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
