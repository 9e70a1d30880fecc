"""One HTTP attempt to an already checked address.

The request goes to `Target.ip` (never re-resolved), with the original host in the
Host header and as TLS server name, so the certificate is still checked against the
host the subscriber registered. Redirects are not followed and proxy variables are
ignored: a 3xx is a failed attempt, and the checked address is the one connected to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import httpx

from services.api.webhooks.ssrf import Target

USER_AGENT = "Pantau-Webhooks/1.0"

Outcome = Literal["success", "http_error", "timeout", "connection_error", "refused", "gone"]


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    duration_s: float = 0.0


def make_client(timeout_s: float) -> httpx.Client:
    """A client that follows no redirect, reads no proxy setting and keeps no connection.

    Pooled connections are keyed by IP, so reusing one could carry a request for one
    host over a TLS session negotiated for another; webhook volume does not need reuse.
    """
    return httpx.Client(
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def post(
    client: httpx.Client, target: Target, headers: dict[str, str], body: bytes
) -> AttemptResult:
    """POST `body` to `target`; classifies the answer, never raises for network trouble."""
    request_headers = {
        **headers,
        "host": target.host_header,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    extensions = {"sni_hostname": target.server_name} if target.server_name else {}
    started = time.monotonic()
    try:
        # Streamed and closed unread: a receiver's response body is of no use to us.
        with client.stream(
            "POST",
            target.connect_url,
            content=body,
            headers=request_headers,
            extensions=extensions,
        ) as response:
            code = response.status_code
    except httpx.TimeoutException as exc:
        return AttemptResult(
            "timeout", error=f"timeout: {type(exc).__name__}", duration_s=time.monotonic() - started
        )
    except (httpx.HTTPError, OSError) as exc:
        return AttemptResult(
            "connection_error",
            error=f"{type(exc).__name__}: {exc}"[:500],
            duration_s=time.monotonic() - started,
        )
    duration = time.monotonic() - started
    if 200 <= code < 300:
        return AttemptResult("success", code, duration_s=duration)
    if code == 410:
        return AttemptResult("gone", code, "endpoint answered 410 Gone", duration)
    return AttemptResult("http_error", code, f"HTTP {code}", duration)
