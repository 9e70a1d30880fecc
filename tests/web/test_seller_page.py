"""The seller page rendered by a real app over a store filled through the score intake."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import polars as pl
import pytest
from fastapi.testclient import TestClient
from seller_data import (
    HOUR_MS,
    NOW_MS,
    PRODUCTS,
    STEP_MS,
    WEEK_STEPS,
    make_app,
    probability_at,
    week_of_scores,
)

from services.api.terms import TermReport, merge_term_contexts
from services.api.web.data import RISING_FROM
from shared.alerts import AlertRules


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


@pytest.fixture
def fresh(shared_seller_app) -> TestClient:  # type: ignore[no-untyped-def]
    """A client of its own: no language cookie left by another test."""
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
    assert "Sangat mungkin viral dalam 24 jam" in kopi and "93%" in kopi
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
    # At the confident tier: its headline, and the chance without the phrase scale's words.
    assert "Sangat mungkin viral dalam 24 jam" in hijab[:900]
    assert "peluang viral dalam 24 jam" in hijab[:900] and "kemungkinan besar" not in hijab[:900]
    # Not rising: one line under its own heading, no "naik di", "kenapa naik?" or advice.
    serum = html[html.index('id="p-serum-11"') : html.index('id="p-teh-tarik-02"')]
    assert "Kecantikan · 10%" in serum  # rise_hours=0: stays at 0.1
    assert not {"Mulai naik", "Naik di", "Kenapa naik?", "stok"} & set(re.split(r"[<>]", serum))
    assert "Data per 2 Mar 2026, 00.00 WIB" in html
    serum_page = client.get("/produk/serum-11").text
    assert "belum terlihat naik" in serum_page and "Mulai naik" not in serum_page
    assert "Paling ramai di:</span> DKI Jakarta" in serum_page
    assert "Kenapa naik?" not in serum_page and "Yang bisa Anda lakukan" not in serum_page
    assert "Belum menonjol di provinsi tertentu." in client.get("/produk/teh-tarik-02").text


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
    assert "Very likely to go viral within 24 hours" in english.text
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
    from services.api.i18n import wib

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


@pytest.mark.parametrize("path", ["/", "/?lang=en", "/fragmen/daftar", "/produk/kopi-aren-01"])
def test_pages_travel_gzipped_and_revalidate_to_304(fresh: TestClient, path: str) -> None:
    plain = fresh.get(path, headers={"Accept-Encoding": "identity"})
    zipped = fresh.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"] and "Cookie" in zipped.headers["vary"]
    assert zipped.text == plain.text
    assert zipped.num_bytes_downloaded * 2 < plain.num_bytes_downloaded
    # One validator for the content, whichever encoding carried it.
    tag = zipped.headers["etag"]
    assert tag == plain.headers["etag"]
    again = fresh.get(path, headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    other = fresh.get(path, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and other.text == plain.text


def test_a_changed_page_gets_a_new_etag(fresh: TestClient) -> None:
    tags = {fresh.get(p).headers["etag"] for p in ("/", "/?lang=en", "/?category=minuman")}
    assert len(tags) == 3
    assert fresh.get("/", headers={"If-None-Match": "*"}).status_code == 304


def test_assets_travel_gzipped(fresh: TestClient) -> None:
    html = fresh.get("/").text
    css_url = re.search(r'href="(/static/pantau\.css\?v=[0-9a-f]+)"', html)
    assert css_url is not None
    css = fresh.get(css_url.group(1), headers={"Accept-Encoding": "gzip"})
    assert css.headers["content-encoding"] == "gzip"
    assert css.num_bytes_downloaded * 2 < len(css.content)


def test_rising_products_are_listed_apart_from_the_rest(fresh: TestClient) -> None:
    html = fresh.get("/").text
    rising_at, quiet_at = html.index("Sedang naik (3)"), html.index("belum terlihat naik (2)")
    rising = outline(html[rising_at:quiet_at]).products
    quiet = outline(html[quiet_at:]).products
    assert rising == ["kopi-aren-01", "hijab-voal-07", "keripik-03"]
    assert quiet == ["serum-11", "teh-tarik-02"]
    # Only rising products get a card (chance bar, sparkline, advice); the rest one line each.
    assert html[quiet_at:].count("<article") == 0 and html[quiet_at:].count("<svg") == 0
    english = fresh.get("/?lang=en").text
    assert "Rising now (3)" in english and "Watched, no rise yet (2)" in english


def test_a_list_with_nothing_rising_says_so(fresh: TestClient) -> None:
    html = fresh.get("/?category=kecantikan").text
    assert "Sedang naik (0)" in html and "Saat ini belum ada produk yang naik" in html
    assert outline(html).products == ["serum-11"]


def test_the_last_known_name_is_shown_when_newer_scores_lack_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(tmp_path / "names.db")
    later = (
        week_of_scores(PRODUCTS[:2])
        .filter(pl.col("tick_ms") == NOW_MS)
        .with_columns(
            tick_ms=pl.col("tick_ms") + pl.Series([STEP_MS, 2 * STEP_MS]),
            product_name=pl.lit(None, pl.String),
            category=pl.lit(None, pl.String),
        )
    )
    # One batch: kopi's newer tick has no name; hijab's name is only in an older tick of
    # the same batch.
    hijab_named = later.filter(pl.col("product_id") == "hijab-voal-07").with_columns(
        tick_ms=pl.lit(NOW_MS + STEP_MS // 2), product_name=pl.lit("Hijab Voal Motif Baru")
    )
    app.state.intake.apply(pl.concat([later, hijab_named]).sort("tick_ms"))
    client = TestClient(app)
    page = client.get("/").text
    links = re.findall(r'<a href="/produk/[^"]+">([^<]+)</a>', page)
    assert links[:2] == ["Kopi Susu Gula Aren Literan", "Hijab Voal Motif Baru"]
    assert ">kopi-aren-01<" not in page and ">hijab-voal-07<" not in page
    assert "Minuman" in page and "Fashion muslim" in page
    trends = {i["product_id"]: i for i in client.get("/v1/trends").json()["items"]}
    assert trends["kopi-aren-01"]["product_name"] == "Kopi Susu Gula Aren Literan"
    assert trends["kopi-aren-01"]["tick_ms"] == NOW_MS + STEP_MS


def test_evidence_is_in_plain_words_not_a_ratio(fresh: TestClient) -> None:
    page = fresh.get("/produk/kopi-aren-01").text
    assert "÷" not in page and "Laju" not in page
    assert "<dt>6 jam terakhir, dibanding rata-rata sehari</dt><dd>6,6× lebih ramai</dd>" in page
    english = fresh.get("/produk/kopi-aren-01?lang=en").text
    assert "÷" not in english and "<dd>6.6× busier</dd>" in english


def test_pages_say_what_to_do_and_on_which_platforms(fresh: TestClient) -> None:
    html = fresh.get("/").text
    kopi = html[html.index('id="p-kopi-aren-01"') : html.index('id="p-hijab-voal-07"')]
    assert "Minuman · di TikTok, Shopee · Mulai naik" in kopi
    assert "siapkan bahan dan stok sekarang" in kopi
    # Keripik's chance reads 'bisa jadi viral' (a small batch first), but it is at the
    # confident tier: the tier's advice.
    keripik = html[html.index('id="p-keripik-03"') :][:2000]
    assert "Sangat mungkin viral" in keripik and "Coba dulu dengan stok sedikit" not in keripik
    assert "siapkan bahan dan stok sekarang" in keripik
    page = fresh.get("/produk/kopi-aren-01").text
    todo = page[page.index("Yang bisa Anda lakukan") : page.index("Kenapa naik?")]
    assert "Jual di Shopee dengan nama yang mirip" in todo
    assert "Unggah video atau foto singkat produk Anda di TikTok." in todo
    assert "Tawarkan dulu ke pembeli di Jawa Tengah, Jawa Timur" in todo
    # Example posts and prices: a search for the name on each platform it was seen on.
    assert 'href="https://www.tiktok.com/search?q=Kopi+Susu+Gula+Aren+Literan"' in page
    assert 'href="https://shopee.co.id/search?keyword=Kopi+Susu+Gula+Aren+Literan"' in page
    assert "Cari di TikTok" in page and "other" not in page.split("</header>")[1]
    assert "Lihat postingan dan harganya" not in fresh.get("/produk/hijab-voal-07").text


def test_the_typical_price_and_example_posts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The price ingest derives from event prices, on the card and the page; links to
    recent posts the sources found naming the product, newest first, on its page."""
    app = make_app(tmp_path / "api.db")
    with app.state.sessionmaker.begin() as session:
        links = [f"https://www.tiktok.com/embed/v2/7{i}" for i in range(5)]
        merge_term_contexts(session, [TermReport("product:kopi-aren-01", {}, tuple(links))])
    client = TestClient(app)
    html = client.get("/").text
    kopi = html[html.index('id="p-kopi-aren-01"') : html.index('id="p-hijab-voal-07"')]
    assert "· harga umum Rp 18.400</p>" in kopi
    assert "harga umum" not in html[html.index('id="p-hijab-voal-07"') :]  # no price known
    page = client.get("/produk/kopi-aren-01").text
    posts = page[page.index("Contoh postingan") : page.index("Lihat postingan dan harganya")]
    assert re.findall(r'href="([^"]+)"', posts) == links[:1:-1]
    assert ">Postingan 1</a>" in posts and "harga umum Rp 18.400" in page
    assert "typical price Rp 18,400" in client.get("/produk/kopi-aren-01?lang=en").text
    assert "Contoh postingan" not in client.get("/produk/hijab-voal-07").text


def test_gzip_only_when_the_client_takes_it(fresh: TestClient) -> None:
    for refused in ("gzip;q=0", "br", "identity", "*;q=0"):
        page = fresh.get("/", headers={"Accept-Encoding": refused})
        assert "content-encoding" not in page.headers, refused
    for taken in ("GZIP", "deflate, gzip;q=0.5", "*"):
        assert fresh.get("/", headers={"Accept-Encoding": taken}).headers["content-encoding"]
