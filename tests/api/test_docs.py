"""`/docs` and `/redoc` load every script, style and icon from this server, never a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from shared.settings import ApiSettings

EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ApiSettings(database_url=f"sqlite:///{tmp_path}/docs.db", require_api_keys=False)
    with TestClient(create_app(settings, None)) as client:
        yield client


def referenced_urls(html: str) -> list[str]:
    """Every URL the page loads: src and href attributes, and Swagger UI's spec `url`."""
    attributes = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    spec = re.findall(r"""\burl:\s*["']([^"']+)["']""", html)
    return attributes + spec


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_this_server(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    urls = referenced_urls(response.text)
    assert any(u.endswith(".js") for u in urls), urls
    remote = [u for u in urls if not u.startswith("/") or u.startswith("//")]
    assert not remote, f"{page} loads {remote}"
    assert "fonts.googleapis" not in response.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = Path(url).suffix
        if suffix in EXPECTED_TYPES:
            assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], url
            assert len(asset.content) > 1_000, url


def test_swagger_ui_reads_openapi_3_1(client: TestClient) -> None:
    # Swagger UI 4 cannot render the OpenAPI 3.1 document FastAPI writes; 5 can.
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    bundle = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle and re.search(r'"5\.\d+\.\d+"', bundle)


def test_docs_pages_stay_out_of_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
