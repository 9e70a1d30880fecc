"""The page's stylesheet, script, service worker and icon, served with long caching and a
content hash (the service worker also at `/sw.js`, see `pwa.py`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str

    @property
    def etag(self) -> str:
        """Weak: the plain and the gzipped body are the same file."""
        return f'W/"{self.version}"'


def _load() -> dict[str, Asset]:
    assets = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.suffix in MEDIA_TYPES:
            body = path.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            assets[path.name] = Asset(body, MEDIA_TYPES[path.suffix], version)
    return assets


ASSETS = _load()


def url(name: str) -> str:
    """The asset's URL with its content hash, so a changed file is fetched again at once."""
    return f"/static/{name}?v={ASSETS[name].version}"
