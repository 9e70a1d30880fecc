"""The seller page in real headless Chromium against a running API with data.

Screenshots at phone (390×844) and desktop (1280×800) sizes go to test-artifacts/.
Page weight is every byte Chromium received for a page load (headers included, as
reported by the DevTools protocol), with an empty cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from seller_data import MANY_PRODUCTS, NOW_MS, PRODUCTS, STEP_MS, make_app, week_of_scores

playwright_sync = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE_BUDGET_BYTES = 100_000
# A full list page (20 products), everything its first screen needs, on a phone's data.
FULL_PAGE_BUDGET_BYTES = 15_000
TOUCH_TARGET_PX = 44
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def site(serve, seller_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(seller_app) as server:
        yield server.url


def load_measured(page, url: str) -> int:  # type: ignore[no-untyped-def]
    """Navigate and return the bytes received for everything the load fetched."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received: dict[str, int] = {}
    cdp.on(
        "Network.loadingFinished",
        lambda e: received.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    cdp.detach()
    return sum(received.values())


def refresh_measured(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Run the page's minute refresh: HTTP status and bytes received (headers and body as
    sent) of the list request it makes."""
    with page.expect_response(lambda r: "/fragmen/daftar" in r.url) as refreshed:
        page.clock.run_for(61_000)
    sizes = refreshed.value.request.sizes()
    return refreshed.value.status, sizes["responseHeadersSize"] + sizes["responseBodySize"]


def shoot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def product_names(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("ol.cards article h3 a").all_inner_texts()


@pytest.fixture
def full_site(serve, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(make_app(tmp_path / "full.db", MANY_PRODUCTS)) as server:
        yield server.url


def test_a_full_list_on_a_phone_stays_under_15_kb_and_refreshes_for_little(  # type: ignore[no-untyped-def]
    browser, full_site: str
) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    page.clock.install()
    weight = load_measured(page, full_site + "/")
    print(f"full list page weight (20 products): {weight} bytes")
    shown = page.locator("ol.cards article").count() + page.locator("ul.quiet li").count()
    assert shown == 20
    assert weight < FULL_PAGE_BUDGET_BYTES
    # Rising products come first, as cards; the rest follow as one line each.
    assert page.locator("h2.group").all_inner_texts()[0].startswith("Sedang naik")
    shoot(page, "seller-list-full-390x844")
    # The minute refresh of an unchanged list is a 304: headers only, no list again.
    status, received = refresh_measured(page)
    print(f"minute refresh: HTTP {status}, {received} bytes")
    assert status == 304 and received < 1_000
    assert page.locator("ol.cards article").count() > 0
    # So is a reload of the page once cached (the noscript fallback reloads the same way).
    page.goto(full_site + "/")
    response = page.reload()
    assert response is not None
    # Chromium hands the cached 200 to the page; what crossed the network was a 304.
    sizes = response.request.sizes()
    print(f"reload: {sizes}")
    assert sizes["responseBodySize"] == 0 and sizes["responseHeadersSize"] < 1_000
    context.close()


TARGETS_JS = """
() => [...document.querySelectorAll('a[href], button, select, summary, input:not([type=hidden])')]
  .filter(e => !e.classList.contains('skip') && e.getClientRects().length)
  .map(e => { const r = e.getBoundingClientRect();
              return {text: (e.innerText || e.tagName).slice(0, 30), w: r.width, h: r.height}; })
"""


@pytest.mark.parametrize("path", ["/", "/produk/kopi-aren-01"])
def test_touch_targets_are_at_least_44_px(browser, site: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    page.goto(site + path)
    targets = page.evaluate(TARGETS_JS)
    assert len(targets) >= (8 if path == "/" else 4)
    small = [t for t in targets if min(t["w"], t["h"]) < TOUCH_TARGET_PX]
    assert not small, small
    page.close()


def test_the_page_works_without_javascript(browser, site: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    assert product_names(page) == [
        "Kopi Susu Gula Aren Literan",
        "Hijab Voal Motif",
        "Keripik Pisang Pedas",
    ]
    assert page.locator("ul.quiet li").count() == 2
    page.locator("details.why summary").first.click()
    assert page.locator("details.why li").first.is_visible()
    page.get_by_label("Kategori").select_option("minuman")
    page.get_by_role("button", name="Terapkan").click()
    page.wait_for_url("**/?category=minuman&region=")
    assert product_names(page) == ["Kopi Susu Gula Aren Literan"]
    page.get_by_role("link", name="Kopi Susu Gula Aren Literan").click()
    assert page.get_by_role("heading", name="Yang bisa Anda lakukan").is_visible()
    shoot(page, "seller-product-nojs-390x844")
    context.close()


def test_list_filters_and_language_on_a_phone(browser, site: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    weight = load_measured(page, site + "/")
    print(f"list page weight: {weight} bytes")
    assert 0 < weight < PAGE_BUDGET_BYTES
    assert page.locator("html").get_attribute("lang") == "id"
    assert product_names(page)[:3] == [
        "Kopi Susu Gula Aren Literan",
        "Hijab Voal Motif",
        "Keripik Pisang Pedas",
    ]
    assert page.locator("ol.cards svg.spark").count() == 3
    # The layout fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "seller-list-390x844")

    # Filters through the form, with the keyboard: label → select → submit.
    page.get_by_label("Kategori").select_option("minuman")
    page.get_by_label("Provinsi").select_option("ID-JI")
    page.get_by_role("button", name="Terapkan").press("Enter")
    page.wait_for_url("**/?category=minuman&region=ID-JI")
    assert product_names(page) == ["Kopi Susu Gula Aren Literan"]

    # "Kenapa naik?" opens from the keyboard.
    summary = page.locator("details.why summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("details.why").first.get_attribute("open") is not None
    assert page.locator("details.why li").first.inner_text() == "sering dibagikan"

    # English switch keeps the filters and is remembered on the next page.
    page.get_by_role("link", name="Switch to English").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_label("Category").input_value() == "minuman"
    assert "Very likely to go viral within 24 hours" in page.locator("ol.cards").inner_text()
    page.goto(site + "/produk/hijab-voal-07")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


def test_fragment_refresh_keeps_the_filters(browser, site: str, seller_app) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.clock.install()
    page.goto(site + "/?region=ID-JT")
    assert len(product_names(page)) == 2
    with page.expect_response(lambda r: "/fragmen/daftar?region=ID-JT" in r.url) as refreshed:
        page.clock.run_for(61_000)
    assert refreshed.value.status == 304  # nothing changed: no list sent again
    assert len(product_names(page)) == 2
    # A new tick drops Keripik below "mulai naik": the next refresh brings the new list.
    keripik = next(p for p in PRODUCTS if p.product_id == "keripik-03")
    newer = week_of_scores([keripik]).filter(pl.col("tick_ms") == NOW_MS)
    seller_app.state.intake.apply(
        newer.with_columns(tick_ms=pl.lit(NOW_MS + STEP_MS), probability=pl.lit(0.2))
    )
    with page.expect_response(lambda r: "/fragmen/daftar?region=ID-JT" in r.url) as refreshed:
        page.clock.run_for(61_000)
    assert refreshed.value.status == 200
    # Polled from here: a string predicate would be eval'd in the page, which its CSP forbids.
    playwright_sync.expect(page.locator("ol.cards article")).to_have_count(1)
    assert page.locator("ul.quiet li").all_inner_texts()[0].startswith("Keripik Pisang Pedas")
    # And the one after that is a 304 again, against the list it just received.
    with page.expect_response(lambda r: "/fragmen/daftar?region=ID-JT" in r.url) as refreshed:
        page.clock.run_for(61_000)
    assert refreshed.value.status == 304
    context.close()


def test_product_page_shows_its_charts(browser, site: str) -> None:  # type: ignore[no-untyped-def]
    for size, viewport in (("390x844", PHONE), ("1280x800", DESKTOP)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        weight = load_measured(page, site + "/produk/kopi-aren-01")
        print(f"product page weight ({size}): {weight} bytes")
        assert 0 < weight < PAGE_BUDGET_BYTES
        chart = page.locator("svg.chart.engagement")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert page.locator("svg.chart.engagement polyline").count() >= 1
        assert page.locator("svg.chart.score").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        shoot(page, f"seller-product-{size}")
        context.close()


def test_list_on_a_desktop(browser, site: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    weight = load_measured(page, site + "/?lang=en")
    print(f"list page weight (desktop, English): {weight} bytes")
    assert weight < PAGE_BUDGET_BYTES
    assert len(product_names(page)) == 3
    shoot(page, "seller-list-1280x800")
    context.close()


# WCAG 2.x contrast of every text node against the first opaque background behind it.
CONTRAST_JS = """
() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0.99) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    const text = walker.currentNode.textContent.trim();
    if (!text || !el.getClientRects().length || el.closest('svg')) continue;
    const style = getComputedStyle(el);
    const l1 = lum(rgb(style.color)), l2 = lum(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 ||
      (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    found.push({text: text.slice(0, 40), ratio, needed: large ? 3 : 4.5});
  }
  return found;
}
"""


@pytest.mark.parametrize("path", ["/", "/?lang=en", "/produk/kopi-aren-01"])
def test_text_contrast_meets_wcag_aa(browser, site: str, path: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    page.goto(site + path)
    texts = page.evaluate(CONTRAST_JS)
    assert len(texts) > 10
    low = [t for t in texts if t["ratio"] < t["needed"]]
    assert not low, low
    page.close()


def test_keyboard_reaches_every_control_with_a_visible_focus(browser, site: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=PHONE)
    page.goto(site + "/")
    controls = page.locator("a[href], select, button, summary").count()
    reached: list[str] = []
    for _ in range(controls + 2):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return {tag: e.tagName, text: (e.innerText || e.id || '').slice(0, 30),
                        outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
                                 || s.boxShadow !== 'none'}; }"""
        )
        if focused["tag"] == "BODY":
            break
        assert focused["outline"], f"no visible focus on {focused}"
        reached.append(focused["tag"])
    # Every link, select, button and "kenapa naik?" is on the tab path, in page order.
    assert len(reached) >= controls
    assert {"A", "SELECT", "BUTTON", "SUMMARY"} <= set(reached)
    page.close()
