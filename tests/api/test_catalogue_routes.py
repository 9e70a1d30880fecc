"""/v1/catalogue and /v1/emerging over HTTP, on SQLite and PostgreSQL: the version as an
ETag (304 while unchanged), writes with their errors as 4xx naming the fault, CSV import
and export, and emerging terms from term scores, their context and their promotion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.auth import create_key
from shared.settings import ApiSettings

TICK_MS = 1_772_409_600_000
CSV = (
    "product_id,name,category,aliases,keywords,hashtags\n"
    "kopi-aren,Kopi Susu Gula Aren,minuman,es kopi aren|kopsus aren,,#KopiAren|kopisusu\n"
    'keripik,"Keripik Pisang, Pedas",makanan_ringan,,keripik|pisang|pedas,\n'
)


@pytest.fixture
def api(database_url: str) -> Iterator[tuple[Any, TestClient, dict[str, dict[str, str]]]]:
    app = create_app(ApiSettings(database_url=database_url, run_dispatcher=False))
    with app.state.sessionmaker.begin() as session:
        keys = {scope: create_key(session, scope, scope) for scope in ("read", "admin")}
    with TestClient(app) as client:
        yield app, client, {s: {"Authorization": f"Bearer {k}"} for s, k in keys.items()}


def csv_post(client: TestClient, body: bytes | str, admin: dict[str, str], **params: str) -> Any:
    headers = {**admin, "Content-Type": "text/csv"}
    return client.post("/v1/catalogue:import", content=body, headers=headers, params=params)


def test_version_is_the_etag_and_an_unchanged_catalogue_is_a_304(api: Any) -> None:
    _, client, keys = api
    empty = client.get("/v1/catalogue", headers=keys["read"])
    assert empty.json() == {"version": 0, "products": []}
    assert empty.headers["etag"] == '"0"'
    created = client.put(
        "/v1/catalogue/kopi-aren",
        json={"name": " Kopi Aren ", "hashtags": ["#KopiAren", "kopiaren"]},
        headers=keys["admin"],
    )
    assert created.status_code == 201
    assert created.json()["version"] == 1
    assert created.json()["product"]["name"] == "Kopi Aren"
    assert created.json()["product"]["hashtags"] == ["kopiaren"]
    first = client.get("/v1/catalogue", headers=keys["read"])
    assert first.headers["etag"] == '"1"'
    assert [p["product_id"] for p in first.json()["products"]] == ["kopi-aren"]
    again = client.get(
        "/v1/catalogue", headers={**keys["read"], "If-None-Match": first.headers["etag"]}
    )
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", '"1"')
    same = client.put(
        "/v1/catalogue/kopi-aren",
        json={"name": "Kopi Aren", "hashtags": ["kopiaren"]},
        headers=keys["admin"],
    )
    assert (same.status_code, same.json()["version"]) == (200, 1)  # nothing changed
    client.put("/v1/catalogue/kopi-aren", json={"name": "Kopi Gula Aren"}, headers=keys["admin"])
    changed = client.get(
        "/v1/catalogue", headers={**keys["read"], "If-None-Match": first.headers["etag"]}
    )
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    gone = client.delete("/v1/catalogue/kopi-aren", headers=keys["admin"])
    assert gone.json() == {"version": 3, "product": None}
    missing = client.delete("/v1/catalogue/kopi-aren", headers=keys["admin"])
    assert missing.status_code == 404 and "kopi-aren" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("product_id", "body", "says"),
    [
        ("term:kopi", {"name": "Kopi"}, "term:"),
        ("kopi", {"name": "   "}, "name"),
        ("kopi", {"name": "Kopi", "aliases": ["a|b"]}, "aliases"),
        ("kopi", {"name": "Kopi", "hashtags": ["two words"]}, "hashtags"),
        ("-kopi", {"name": "Kopi"}, "product_id"),
        ("kopi", {"name": "Kopi\x00"}, "name"),  # PostgreSQL cannot store it
    ],
)
def test_a_bad_product_is_a_422_naming_the_field(
    api: Any, product_id: str, body: dict[str, Any], says: str
) -> None:
    _, client, keys = api
    response = client.put(f"/v1/catalogue/{product_id}", json=body, headers=keys["admin"])
    assert response.status_code == 422
    assert says in str(response.json()["detail"])


def test_import_merges_or_replaces_and_export_reads_back_the_same(api: Any) -> None:
    _, client, keys = api
    client.put("/v1/catalogue/old", json={"name": "Produk Lama"}, headers=keys["admin"])
    merged = csv_post(client, "\ufeff" + CSV, keys["admin"])  # a spreadsheet's BOM is fine
    assert merged.json() == {"version": 2, "created": 2, "updated": 0, "deleted": 0, "unchanged": 0}
    replaced = csv_post(client, CSV, keys["admin"], mode="replace")
    assert replaced.json() == {
        "version": 3,
        "created": 0,
        "updated": 0,
        "deleted": 1,
        "unchanged": 2,
    }
    catalogue = client.get("/v1/catalogue", headers=keys["read"]).json()
    kopi = next(p for p in catalogue["products"] if p["product_id"] == "kopi-aren")
    assert kopi["aliases"] == ["es kopi aren", "kopsus aren"]
    assert kopi["hashtags"] == ["kopiaren", "kopisusu"]
    exported = client.get("/v1/catalogue.csv", headers=keys["read"])
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["etag"] == '"3"'
    assert "attachment" in exported.headers["content-disposition"]
    again = csv_post(client, exported.text, keys["admin"], mode="replace")
    assert again.json() == {"version": 3, "created": 0, "updated": 0, "deleted": 0, "unchanged": 2}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (CSV + "bad id!,Nama\n", "text/csv", 422, "line 4"),
        (CSV + "term:kopi,Kopi\n", "text/csv", 422, "line 4"),
        (CSV + "keripik,Lagi\n", "text/csv", 422, "twice"),
        ("name,category\nKopi,minuman\n", "text/csv", 422, "product_id"),
        ("product_id,name\nkopi,Kopi\x00\n", "text/csv", 422, "line 2: a NUL"),
        (b"product_id,name\nkopi,Kop\xff\n", "text/csv", 400, "UTF-8"),
        (CSV, "application/json", 415, "text/csv"),
    ],
)
def test_a_bad_import_is_a_4xx_naming_the_fault_and_changes_nothing(
    api: Any, body: str | bytes, content_type: str, status: int, says: str
) -> None:
    _, client, keys = api
    response = client.post(
        "/v1/catalogue:import",
        content=body,
        headers={**keys["admin"], "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert client.get("/v1/catalogue", headers=keys["read"]).json()["version"] == 0


def test_an_oversized_import_is_a_413(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, client, keys = api
    big = "product_id,name\n" + "".join(f"p{i},Produk {i}\n" for i in range(400_000))
    assert len(big) > 5_000_000
    assert csv_post(client, big, keys["admin"]).status_code == 413


def test_writes_need_the_admin_scope(api: Any) -> None:
    _, client, keys = api
    assert (
        client.put("/v1/catalogue/x", json={"name": "X"}, headers=keys["read"]).status_code == 403
    )
    assert csv_post(client, CSV, keys["read"]).status_code == 403
    assert client.get("/v1/catalogue.csv", headers=keys["read"]).status_code == 200


def _terms(make_scores: Callable[..., Any], app: Any) -> None:
    scores = make_scores(
        {"term:kopi-pandan": 0.8, "term:kopiaren": 0.9, "term:es-teh": 0.1, "jamu": 0.95},
        TICK_MS,
        category=None,
    )
    names = {
        "term:kopi-pandan": "kopi pandan",
        "term:kopiaren": "#kopiaren",
        "term:es-teh": "es teh",
    }
    app.state.intake.apply(
        scores.with_columns(scores["product_id"].replace(names).alias("product_name"))
    )


def test_emerging_lists_rising_terms_no_catalogue_product_names(
    api: Any, make_scores: Callable[..., Any]
) -> None:
    app, client, keys = api
    _terms(make_scores, app)
    client.put(
        "/v1/catalogue/kopi-aren",
        json={"name": "Kopi Susu Gula Aren", "hashtags": ["kopiaren"]},
        headers=keys["admin"],
    )
    posted = client.post(
        "/v1/terms/context",
        json=[
            {
                "term": "kopi-pandan",
                "words": {"hijau": 4, "wangi": 9},
                "examples": ["https://www.tiktok.com/@a/video/1"],
            },
            {"term": "term:kopi-pandan", "words": {"hijau": 6}},
        ],
        headers=keys["admin"],
    )
    assert posted.json() == {"terms": 1}
    items = client.get("/v1/emerging", headers=keys["read"]).json()["items"]
    # kopiaren names a product by its hashtag, es-teh is not rising, jamu is no term
    assert [i["product_id"] for i in items] == ["term:kopi-pandan"]
    assert items[0]["name"] == "kopi pandan"
    assert items[0]["words"] == [{"word": "hijau", "count": 10}, {"word": "wangi", "count": 9}]
    assert items[0]["examples"] == ["https://www.tiktok.com/@a/video/1"]
    assert items[0]["creators_24h"] == 4.0

    promoted = client.post(
        "/v1/emerging/kopi-pandan:promote", json={"category": "minuman"}, headers=keys["admin"]
    )
    assert promoted.status_code == 201
    assert promoted.json()["version"] == 2
    assert promoted.json()["product"] == {
        "product_id": "kopi-pandan",
        "name": "Kopi pandan",
        "category": "minuman",
        "aliases": [],
        "keywords": [],
        "hashtags": [],
    }
    assert client.get("/v1/emerging", headers=keys["read"]).json()["items"] == []
    twice = client.post("/v1/emerging/kopi-pandan:promote", headers=keys["admin"])
    assert twice.status_code == 409 and "kopi-pandan" in twice.json()["detail"]


def test_term_context_refuses_links_that_are_not_http(api: Any) -> None:
    _, client, keys = api
    response = client.post(
        "/v1/terms/context",
        json=[{"term": "kopi", "examples": ["javascript:alert(1)"]}],
        headers=keys["admin"],
    )
    assert response.status_code == 422
