"""The page as an installable web app: its manifest and its service worker.

The worker is served from the site root (`/sw.js`), not under `/static/`, because a
worker's scope is at most its own path: only at the root does it cover every page, and
with it the notifications that open a product page. It is revalidated on every check
(`no-cache`) so a changed worker reaches browsers at once.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from services.api.web import assets, transfer

router = APIRouter(include_in_schema=False)

MANIFEST = json.dumps(
    {
        "name": "Pantau: produk yang sedang naik",
        "short_name": "Pantau",
        "description": "Peringatan dini produk yang mulai viral, untuk UMKM.",
        "lang": "id",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5d3b",
        "icons": [
            {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {
                "src": "/static/icon.svg",
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "maskable",
            },
        ],
    },
    ensure_ascii=False,
).encode()
MANIFEST_TYPE = "application/manifest+json"
_REVALIDATE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


@router.get("/manifest.webmanifest")
def manifest(request: Request) -> Response:
    return transfer.respond(request, MANIFEST, MANIFEST_TYPE, _REVALIDATE)


@router.get("/sw.js")
def service_worker(request: Request) -> Response:
    worker = assets.ASSETS["sw.js"]
    return transfer.respond(request, worker.body, worker.media_type, _REVALIDATE, tag=worker.etag)
