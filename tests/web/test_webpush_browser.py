"""Web push in real headless Chromium: the page is an installable web app (manifest
parsed by the browser without errors), the service worker registers from the site root
with the whole site as its scope, and a push message handed to it shows the alert's
notification, carrying the product page a click opens.

A push subscription itself needs the browser's push service (FCM for Chromium), which
cannot be reached from here: `pushManager.subscribe` fails, and the test checks the page
then says so and stores nothing. The subscribe-and-deliver path past the browser is
tested against a local push service in tests/api/test_seller_webpush.py."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from services.api.app import create_app
from services.api.channels.models import SellerSubscription
from services.api.channels.service import ChannelSettings
from services.api.channels.webpush import generate_vapid_keys
from shared.settings import (
    ApiSettings,
    SellerAlertSettings,
    SmtpSettings,
    WebhookSettings,
    WebPushSettings,
)

pytest.importorskip("playwright.sync_api")

PHONE = {"width": 390, "height": 844}
VAPID_PRIVATE, VAPID_PUBLIC = generate_vapid_keys()


def subscription_rows(app: Any) -> list[SellerSubscription]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(SellerSubscription)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site(serve: Any, tmp_path: Path) -> Iterator[tuple[Any, str]]:
    port = _free_port()
    public = f"http://127.0.0.1:{port}"  # a secure context: service workers are allowed
    channels = ChannelSettings(
        seller=SellerAlertSettings(public_url=public),
        webpush=WebPushSettings(vapid_private_key=SecretStr(VAPID_PRIVATE)),
        smtp=SmtpSettings(host="127.0.0.1", port=9),  # a second channel, for the no-script form
    )
    app = create_app(
        ApiSettings(
            database_url=f"sqlite:///{tmp_path / 'api.db'}",
            require_api_keys=False,
            run_dispatcher=False,
        ),
        webhooks=WebhookSettings(lease_s=40.0),
        channels=channels,
    )
    with serve(app, port) as server:
        yield app, server.url


def test_manifest_and_service_worker_register(browser: Any, site: tuple[Any, str]) -> None:
    _, url = site
    context = browser.new_context(viewport=PHONE)
    context.grant_permissions(["notifications"], origin=url)
    page = context.new_page()
    page.goto(url + "/langganan")
    # The browser's own reading of the manifest: found, parsed, no errors.
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == url + "/manifest.webmanifest" and manifest["errors"] == []
    parsed = json.loads(manifest["data"])
    assert parsed["start_url"] == "/" and parsed["display"] == "standalone"
    icon = page.request.get(url + parsed["icons"][0]["src"])
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
    # The page's script registers the worker from the root: its scope is the whole site.
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == url + "/"
    assert page.get_by_label("Notifikasi di perangkat ini").is_visible()

    # A push message handed to the worker (as the push service would) becomes the
    # notification, with the product page for the click.
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(300)
    [registration] = [r for r in registrations if r["scopeURL"] == url + "/"]
    alert = {
        "title": "Produk rendang: sangat mungkin viral di Jawa Tengah",
        "body": "Peluang viral 95% dalam 24 jam.",
        "url": url + "/produk/rendang",
        "tag": "k1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": url + "/",
            "registrationId": registration["registrationId"],
            "data": json.dumps(alert),
        },
    )
    shown = page.evaluate(
        """async () => {
          const r = await navigator.serviceWorker.ready;
          for (let i = 0; i < 50; i++) {
            const ns = await r.getNotifications();
            if (ns.length) return ns.map(n => ({title: n.title, body: n.body, tag: n.tag,
                                                 url: n.data && n.data.url}));
            await new Promise(ok => setTimeout(ok, 100));
          }
          return [];
        }"""
    )
    assert shown == [{**alert}]
    context.close()


def test_without_a_push_service_the_page_says_so(browser: Any, site: tuple[Any, str]) -> None:
    app, url = site
    context = browser.new_context(viewport=PHONE)
    context.grant_permissions(["notifications"], origin=url)
    page = context.new_page()
    page.goto(url + "/langganan")
    page.get_by_label("Notifikasi di perangkat ini").check()
    page.get_by_role("button", name="Langganan").click()
    error = page.locator("[data-push-error]")
    error.wait_for(state="visible", timeout=20_000)
    assert "belum bisa menerima notifikasi" in error.inner_text()
    assert page.url == url + "/langganan"
    assert subscription_rows(app) == []
    context.close()


def test_without_script_web_push_is_not_offered(browser: Any, site: tuple[Any, str]) -> None:
    _, url = site
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(url + "/langganan")
    assert not page.get_by_label("Notifikasi di perangkat ini").is_visible()
    assert page.get_by_role("radio", name="Email").is_visible()
    context.close()
