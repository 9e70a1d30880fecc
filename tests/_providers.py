"""Local HTTP servers that answer like the Telegram Bot API and the WhatsApp Cloud API.

Shapes follow the public documentation: Telegram answers `{"ok": true, "result": …}` or
`{"ok": false, "error_code": …, "description": …, "parameters": {"retry_after": …}}`
(https://core.telegram.org/bots/api#making-requests); WhatsApp answers
`{"messaging_product": "whatsapp", "contacts": […], "messages": [{"id": "wamid…"}]}` or a
Graph API error `{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}`
(developers.facebook.com/docs/whatsapp/cloud-api/reference/messages, …/support/error-codes).
Tests queue failures (`fail_next`) to get 429, 5xx and error codes on demand.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, Any]]


class _Server:
    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[Answer] = []

    def fail_next(self, *answers: Answer) -> None:
        with self.lock:
            self.failures.extend(answers)

    def handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Answer:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[str]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.loads(raw or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = server.handle(self.path, headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        http.daemon_threads = True
        threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True).start()
        try:
            yield f"http://127.0.0.1:{http.server_address[1]}"
        finally:
            http.shutdown()
            http.server_close()


@dataclass
class Chat:
    id: int
    blocked: bool = False
    received: list[str] = field(default_factory=list)


class FakeTelegram(_Server):
    """A bot `token` with private chats; users send text that `getUpdates` hands out."""

    def __init__(self, token: str, username: str = "pantau_test_bot") -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        # From this many delivered messages on, answers wait for `release` (the message
        # counts as delivered: the sender just never hears so), to crash a sender mid-send.
        self.hold_after: int | None = None
        self.release = threading.Event()
        self.held: list[str] = []

    def user_sends(self, chat_id: int, text: str) -> None:
        """A user types `text` to the bot (opening the deep link sends `/start <token>`)."""
        with self.lock:
            self.chats.setdefault(chat_id, Chat(chat_id))
            self.updates.append(
                {
                    "update_id": self._next_update,
                    "message": {
                        "message_id": self._next_message,
                        "from": {"id": chat_id, "is_bot": False, "first_name": "Sri"},
                        "chat": {"id": chat_id, "first_name": "Sri", "type": "private"},
                        "date": int(time.time()),
                        "text": text,
                    },
                }
            )
            self._next_update += 1
            self._next_message += 1
            self.lock.notify_all()

    def received(self, chat_id: int) -> list[str]:
        with self.lock:
            return list(self.chats[chat_id].received)

    def sends(self) -> int:
        with self.lock:
            return sum(1 for path, _ in self.requests if path.endswith("/sendMessage"))

    def handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Answer:
        prefix, _, method = path.rpartition("/")
        with self.lock:
            self.requests.append((path, body))
            if prefix != f"/bot{self.token}":
                return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            if method == "getUpdates":
                return self._get_updates(body)
            if method != "sendMessage":
                return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            if self.failures:
                return self.failures.pop(0)
            chat = self.chats.get(int(body["chat_id"]))
            if chat is None:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: chat not found",
                }
            if chat.blocked:
                return 403, {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            chat.received.append(str(body["text"]))
            self._next_message += 1
            if self.hold_after is not None and self._delivered() > self.hold_after:
                self.held.append(str(body["text"]))
                deadline = time.monotonic() + 30
                while not self.release.is_set() and time.monotonic() < deadline:
                    self.lock.wait(0.05)  # lets other requests in meanwhile
            return 200, {
                "ok": True,
                "result": {
                    "message_id": self._next_message,
                    "from": {"id": 1, "is_bot": True, "username": self.username},
                    "chat": {"id": chat.id, "type": "private"},
                    "date": int(time.time()),
                    "text": body["text"],
                },
            }

    def _delivered(self) -> int:
        return sum(len(chat.received) for chat in self.chats.values())

    def _get_updates(self, body: dict[str, Any]) -> Answer:
        """Confirms updates below `offset` (forgets them), long-polls up to `timeout` s."""
        offset = int(body.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + float(body.get("timeout") or 0)
        while not self.updates and time.monotonic() < deadline:
            self.lock.wait(deadline - time.monotonic())
        return 200, {"ok": True, "result": list(self.updates)}


def graph_error(status: int, code: int, message: str, details: str = "") -> Answer:
    """A Graph API error answer as the WhatsApp error-code documentation shows it."""
    return status, {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or message},
            "fbtrace_id": "AbCdEf123",
        }
    }


class FakeWhatsApp(_Server):
    """`POST /{phone_number_id}/messages` with a bearer token; template messages only."""

    def __init__(self, token: str, phone_number_id: str, templates: set[str]) -> None:
        super().__init__()
        self.token = token
        self.phone_number_id = phone_number_id
        self.templates = templates
        self.not_on_whatsapp: set[str] = set()
        self.received: dict[str, list[dict[str, Any]]] = {}
        self._next = 1

    def handle(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Answer:
        with self.lock:
            self.requests.append((path, body))
            if headers.get("authorization") != f"Bearer {self.token}":
                return graph_error(
                    401, 190, "Error validating access token: Session has expired", ""
                )
            if path != f"/{self.phone_number_id}/messages":
                return graph_error(400, 100, "Unsupported post request.")
            if self.failures:
                return self.failures.pop(0)
            if body.get("messaging_product") != "whatsapp" or body.get("type") != "template":
                return graph_error(400, 100, "(#100) Invalid parameter")
            template = body["template"]
            if template["name"] not in self.templates:
                return graph_error(404, 132001, "(#132001) Template name does not exist")
            to = str(body["to"])
            if to in self.not_on_whatsapp:
                return graph_error(400, 133010, "(#133010) Phone number not registered")
            self.received.setdefault(to, []).append(template)
            self._next += 1
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEj{self._next:06d}"}],
            }

    def texts(self, to: str) -> list[list[str]]:
        """The body parameters of each template message sent to `to`."""
        with self.lock:
            return [
                [p["text"] for p in t["components"][0]["parameters"]]
                for t in self.received.get(to, [])
            ]
