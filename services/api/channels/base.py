"""The one interface every channel implements, and what a send can come to.

A channel turns a rendered `Message` into one request to its provider and classifies
the answer; it never touches the store. The channel lane maps the result onto the
delivery: delivered, retried (on the webhook schedule, or after the provider's own
`retry_after_s`), failed, or the subscription disabled because its recipient is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

SendOutcome = Literal["delivered", "retry", "failed", "recipient_gone", "misconfigured"]
"""`retry`: transient (5xx, timeout, rate limit); `failed`: this message can never go
(e.g. a template the provider rejects); `recipient_gone`: the address no longer takes
messages (blocked bot, number not on WhatsApp, mailbox refused), so the subscription is
disabled; `misconfigured`: the operator's credentials are refused (invalid bot or
access token): not the seller's fault, so the delivery is retried and the channel paused."""


@dataclass(frozen=True)
class Message:
    """A message as a seller reads it, in their language."""

    subject: str  # the mail subject; chat channels ignore it
    text: str  # plain text, links included
    idempotency_key: str  # the same for every attempt of one delivery
    manage_url: str  # `ubah` / `berhenti`
    unsubscribe_url: str  # RFC 8058 one-click target (POST)
    language: str = "id"
    # A previous attempt may have reached the provider (its dispatcher died before the
    # result was recorded): channels that can make a repeat harmless do so.
    repeat: bool = False
    # Channel-specific values, e.g. the WhatsApp template's body parameters.
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    error: str | None = None  # provider code and description: never the address or text
    retry_after_s: float | None = None  # the provider said when to come back
    provider_id: str | None = None  # the provider's message id, when it gives one


class Channel(Protocol):
    """Sends one message to one address; must not raise for provider or network trouble."""

    name: str

    def send(self, address: str, message: Message) -> SendResult: ...

    def close(self) -> None: ...
