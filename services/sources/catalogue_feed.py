"""The catalogue as a connector sees it: fetched from the API, so a change made there
(`PUT /v1/catalogue/…`, `pantau catalogue import`) reaches a running connector without a
restart.

`CatalogueFeed.current()` asks the API at most every `refresh_s` seconds, with the last
ETag in `If-None-Match`, so an unchanged catalogue costs a 304 without a body. When the
API is down or answers nonsense the connector keeps matching with the last good
catalogue (the empty one until a first fetch succeeds) and tries again after
`refresh_s`: a catalogue a few minutes old is better than a connector that stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from services.sources.posts import PostText
from shared.catalogue import Catalogue, CatalogueError, CatalogueProduct
from shared.logs import log_event
from shared.text.terms import MIN_SUPPORT

log = logging.getLogger(__name__)


class CatalogueFeed:
    """The latest catalogue the API served, refreshed at most every `refresh_s` seconds."""

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        refresh_s: float = 60.0,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_s < 0:
            raise ValueError("refresh_s must be >= 0")
        self.url = api_url.rstrip("/") + "/v1/catalogue"
        self.refresh_s = refresh_s
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.Client(timeout=timeout_s)
        self._clock = clock
        self._catalogue = Catalogue()
        self._etag: str | None = None
        self._checked_at: float | None = None
        self.failures = 0  # consecutive failed refreshes
        self.last_error: str | None = None

    def current(self) -> Catalogue:
        """The catalogue to match with now; may ask the API first (never raises)."""
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self.refresh_s:
            self._checked_at = now
            self.refresh()
        return self._catalogue

    def refresh(self) -> bool:
        """Ask the API now; True if it answered (changed or not), False if the last good
        catalogue is kept because of an error."""
        headers = dict(self._headers)
        if self._etag:
            headers["If-None-Match"] = self._etag
        try:
            response = self._client.get(self.url, headers=headers)
            if response.status_code == 304:
                return self._answered()
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
            catalogue = _catalogue_of(response.json())
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # CatalogueError and JSON errors are ValueErrors: a body this code cannot use.
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log_event(
                log,
                "catalogue refresh failed, keeping the last one",
                level=logging.WARNING,
                url=self.url,
                failures_in_a_row=self.failures,
                version=self._catalogue.version,
                error=self.last_error,
            )
            return False
        if catalogue.version != self._catalogue.version:
            log_event(
                log, "catalogue loaded", version=catalogue.version, products=len(catalogue.products)
            )
        self._catalogue = catalogue
        self._etag = response.headers.get("etag")
        return self._answered()

    def _answered(self) -> bool:
        self.failures = 0
        self.last_error = None
        return True

    def close(self) -> None:
        self._client.close()


class LiveText:
    """The `PostText` of the feed's latest catalogue: a new matcher when the version
    changes, the same one otherwise (building one costs milliseconds per 100 products,
    asking for it every poll costs a 304)."""

    def __init__(
        self, feed: CatalogueFeed, terms: bool = True, min_term_posts: int = MIN_SUPPORT
    ) -> None:
        self.feed, self.terms, self.min_term_posts = feed, terms, min_term_posts
        self._text: PostText | None = None

    def current(self) -> PostText:
        catalogue = self.feed.current()
        if self._text is None or self._text.matcher.catalogue.version != catalogue.version:
            self._text = PostText.of(catalogue, self.terms, self.min_term_posts)
        return self._text


def _catalogue_of(body: Any) -> Catalogue:
    """GET /v1/catalogue's body as a `Catalogue` (the API's validation, once more)."""
    products = tuple(
        CatalogueProduct(
            product_id=str(p["product_id"]),
            name=str(p["name"]),
            category=str(p.get("category") or ""),
            aliases=tuple(map(str, p.get("aliases") or ())),
            keywords=tuple(map(str, p.get("keywords") or ())),
            hashtags=tuple(map(str, p.get("hashtags") or ())),
        )
        for p in body["products"]
    )
    version = body["version"]
    if not isinstance(version, int) or version < 0:
        raise CatalogueError(f"version {version!r} is not a whole number >= 0")
    return Catalogue(products, version)
