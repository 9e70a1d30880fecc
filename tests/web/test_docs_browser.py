"""`/docs` and `/redoc` render in real headless Chromium with every outside request refused.

ReDoc's sidebar shows its maker's logo from their site: a decorative image, the one outside
request allowed to fail. Scripts, styles, fonts and data all come from this server.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI


@pytest.mark.parametrize(
    ("path", "rendered", "may_fail"),
    [
        ("/docs", ".opblock-summary-path[data-path='/v1/trends']", set()),
        ("/redoc", "[data-section-id^='tag/']", {"image"}),
    ],
)
def test_docs_render_offline(  # type: ignore[no-untyped-def]
    browser, serve, seller_app: FastAPI, path: str, rendered: str, may_fail: set[str]
) -> None:
    refused: list[tuple[str, str]] = []
    with serve(seller_app) as server:
        page = browser.new_page()
        try:

            def only_this_server(route) -> None:  # type: ignore[no-untyped-def]
                if route.request.url.startswith(server.url):
                    route.continue_()
                else:
                    refused.append((route.request.resource_type, route.request.url))
                    route.abort()

            page.route("**/*", only_this_server)
            page.goto(server.url + path, wait_until="load")
            page.wait_for_selector(rendered, timeout=20_000)
        finally:
            page.close()
    assert not [r for r in refused if r[0] not in may_fail], f"{path} tried to load {refused}"
