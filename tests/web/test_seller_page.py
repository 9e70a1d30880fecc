"""The seller page rendered by a real app over a store filled through the score intake."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from seller_data import HOUR_MS, NOW_MS, PRODUCTS, STEP_MS, WEEK_STEPS, make_app, probability_at

from services.api.alerts import AlertRules
from services.api.web.data import RISING_FROM


class Outline(HTMLParser):
    """Collects product links in document order, element attributes by id, and SVGs."""

    def __init__(self) -> None:
        super().__init__()
        self.products: list[str] = []
        self.svg_classes: list[str] = []
        self.html_lang: str | None = None
        self.labels_for: set[str] = set()
        self.control_ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "a" and (a.get("href") or "").startswith("/produk/"):
            self.products.append((a["href"] or "").removeprefix("/produk/"))
        if tag == "svg":
            self.svg_classes.append(a.get("class") or "")
        if tag == "label" and a.get("for"):
            self.labels_for.add(a["for"] or "")
        if tag in ("select", "input") and a.get("type") != "hidden" and a.get("id"):
            self.control_ids.add(a["id"] or "")


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def client(shared_seller_app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(shared_seller_app)


def expected_ranking() -> list[str]:
    fresh = [p for p in PRODUCTS if not p.stale]
    return [p.product_id for p in sorted(fresh, key=lambda p: -p.final_probability)]


def test_list_ranks_fresh_products_like_the_trends_api(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    shown = outline(page.text)
    assert shown.html_lang == "id"
    assert shown.products == expected_ranking()
    api = client.get("/v1/trends").json()
    assert [i["product_id"] for i in api["items"]] == shown.products
    # Stale products (older than trend_max_age_ms behind the newest tick) are not listed.
    assert "basreng-09" not in page.text


def test_cards_say_chance_where_since_when_and_why_in_indonesian(client: TestClient) -> None:
    html = client.get("/").text
    kopi = html[html.index('id="p-kopi-aren-01"') : html.index('id="p-hijab-voal-07"')]
    assert "sangat mungkin viral" in kopi and "93%" in kopi
    assert "Jawa Tengah, Jawa Timur" in kopi
    assert "Minuman" in kopi
    assert "sering dibagikan" in kopi  # stored reason
    assert "dibahas 28 kreator dalam 24 jam" in kopi  # evidence reading, 30 × 0.93 rounded
    kopi_product = PRODUCTS[0]
    run_start = min(
        NOW_MS - k * STEP_MS
        for k in range(WEEK_STEPS)
        if all(
            probability_at(kopi_product, NOW_MS - j * STEP_MS) >= RISING_FROM for j in range(k + 1)
        )
    )
    assert f"Mulai naik {(NOW_MS - run_start) // HOUR_MS} jam lalu" in kopi
    hijab = html[html.index('id="p-hijab-voal-07"') :]
    assert "kemungkinan besar viral" in hijab[:600]
    serum = html[html.index('id="p-serum-11"') : html.index('id="p-teh-tarik-02"')]
    assert "belum terlihat naik" in serum and "Mulai naik" not in serum
    # Not rising: no "naik di" or "kenapa naik?", only where it is busiest.
    assert "Paling ramai di:</span> DKI Jakarta" in serum and "Kenapa naik?" not in serum
    teh = html[html.index('id="p-teh-tarik-02"') :]
    assert "Belum menonjol di provinsi tertentu." in teh
    assert "Data per 2 Mar 2026, 00.00 WIB" in html


def test_sparkline_follows_the_week_of_engagement(client: TestClient) -> None:
    html = client.get("/").text
    kopi = html[html.index('id="p-kopi-aren-01"') : html.index('id="p-hijab-voal-07"')]
    points = re.search(r'class="line" points="([^"]+)"', kopi)
    assert points is not None
    ys = [float(pair.split(",")[1]) for pair in points.group(1).split()]
    assert len(ys) == 42  # 7 days of 4-hour slices
    # Flat for days, then climbing: SVG y grows downwards, so the end is the smallest.
    assert ys[0] == ys[20] and ys[-1] < ys[-2] < ys[0]
    assert 'role="img" aria-label="Interaksi per jam selama 7 hari: dari 24 menjadi' in kopi


def test_filters_by_category_and_province(client: TestClient) -> None:
    assert outline(client.get("/?category=minuman").text).products == [
        "kopi-aren-01",
        "teh-tarik-02",
    ]
    assert outline(client.get("/?region=ID-JT").text).products == ["kopi-aren-01", "keripik-03"]
    assert outline(client.get("/?category=minuman&region=ID-JI").text).products == ["kopi-aren-01"]
    page = client.get("/?category=minuman&region=ID-JI").text
    assert '<option value="minuman" selected>' in page
    assert '<option value="ID-JI" selected>' in page
    empty = client.get("/?category=mainan")
    assert empty.status_code == 200 and "Belum ada produk yang cocok" in empty.text


def test_bad_filters_are_client_errors(client: TestClient) -> None:
    assert client.get("/?region=XX").status_code == 400
    assert client.get("/fragmen/daftar?region=ID-ZZ").status_code == 400
    assert client.get("/?n=0").status_code == 422
    assert client.get("/?n=abc").status_code == 422
    assert client.get("/?category=" + "x" * 300).status_code == 422


def test_show_more_grows_the_list(client: TestClient) -> None:
    two = client.get("/?n=2").text
    assert outline(two).products == expected_ranking()[:2]
    assert 'class="more" href="/?n=22"' in two
    assert 'class="more"' not in client.get("/").text


def test_fragment_is_the_list_alone_with_the_same_filters(client: TestClient) -> None:
    fragment = client.get("/fragmen/daftar?category=minuman")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert outline(fragment.text).products == ["kopi-aren-01", "teh-tarik-02"]
    page = client.get("/?category=minuman").text
    assert 'data-src="/fragmen/daftar?category=minuman"' in page


def test_english_switch_is_remembered_in_a_cookie(shared_seller_app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(shared_seller_app)
    english = client.get("/?lang=en")
    assert outline(english.text).html_lang == "en"
    assert "very likely to go viral" in english.text
    assert "Data as of 2 Mar 2026, 00:00 WIB" in english.text
    assert "pantau_lang=en" in english.headers["set-cookie"]
    remembered = client.get("/produk/kopi-aren-01")
    assert outline(remembered.text).html_lang == "en"
    assert "Interactions per hour" in remembered.text
    back = client.get("/?lang=id")
    assert outline(back.text).html_lang == "id"
    assert outline(client.get("/").text).html_lang == "id"
    assert outline(TestClient(shared_seller_app).get("/").text).html_lang == "id"


def test_form_controls_have_labels(client: TestClient) -> None:
    shown = outline(client.get("/").text)
    assert shown.control_ids and shown.control_ids <= shown.labels_for


def test_product_page_shows_charts_and_alerts(client: TestClient) -> None:
    page = client.get("/produk/kopi-aren-01")
    assert page.status_code == 200
    shown = outline(page.text)
    assert shown.svg_classes.count("chart engagement") == 1
    assert shown.svg_classes.count("chart score") == 1
    assert '<title id="engagement-t">Interaksi per jam</title>' in page.text
    assert "Peringatan yang dikirim" in page.text
    # The alert fired at the first tick at or above the engine's threshold.
    threshold = AlertRules().threshold
    first_alert = min(
        NOW_MS - k * STEP_MS
        for k in range(WEEK_STEPS)
        if probability_at(PRODUCTS[0], NOW_MS - k * STEP_MS) >= threshold
    )
    from services.api.web.i18n import wib

    assert wib(first_alert, "id") in page.text
    assert "Sen 23" in page.text  # a day tick: Monday 23 Feb 2026 00:00 WIB
    serum = client.get("/produk/serum-11").text
    assert "Belum ada peringatan." in serum


def test_unknown_product_is_404_and_names_are_escaped(client: TestClient) -> None:
    missing = client.get("/produk/tidak-ada")
    assert missing.status_code == 404 and "Produk tidak ditemukan" in missing.text
    assert client.get("/produk/" + "x" * 200).status_code == 400
    html = client.get("/").text
    assert "Teh Tarik &lt;Asli&gt; &amp; Co" in html
    assert "<Asli>" not in html


def test_empty_store_renders_a_friendly_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(make_app(tmp_path / "empty.db", products=None))
    page = client.get("/")
    assert page.status_code == 200 and "Belum ada data." in page.text


def test_assets_are_cached_by_content_hash(client: TestClient) -> None:
    html = client.get("/").text
    css_url = re.search(r'href="(/static/pantau\.css\?v=[0-9a-f]+)"', html)
    assert css_url is not None
    css = client.get(css_url.group(1))
    assert css.status_code == 200 and "immutable" in css.headers["cache-control"]
    again = client.get(css_url.group(1), headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/nope.css").status_code == 404
    assert "script-src 'self'" in client.get("/").headers["content-security-policy"]
