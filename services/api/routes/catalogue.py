"""/v1/catalogue: the products a cooperative or office watches, read by the connectors.

Reading needs the `read` scope, changing it `admin`. Every change raises the catalogue's
version; GET answers with the version as its ETag and `304` when `If-None-Match` still
names it, so a connector polls for changes at the cost of one row read.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from services.api.auth import REFUSALS
from services.api.catalogue_store import (
    Change,
    apply_products,
    catalogue_version,
    delete_product,
    load_catalogue,
)
from services.api.deps import ADMIN, READ, SessionDep
from services.api.routes import emerging
from services.api.routes.catalogue_schemas import (
    CATALOGUE_ID,
    CONFLICT,
    NOT_JSON,
    CatalogueBody,
    ImportResult,
    ProductFields,
    Responses,
    Written,
    product_body,
    write,
)
from services.api.web.transfer import matches
from shared.catalogue import (
    Catalogue,
    CatalogueError,
    CatalogueProduct,
    catalogue_csv,
    parse_catalogue_csv,
)

router = APIRouter(tags=["catalogue"])
router.include_router(emerging.router)
MAX_IMPORT_BYTES = 5_000_000
NOT_MODIFIED: Responses = {304: {"description": "`If-None-Match` names the current version"}}
ProductIdPath = Annotated[str, Path(pattern=CATALOGUE_ID, examples=["kopi-aren-literan"])]
IfNoneMatch = Annotated[str | None, Header(include_in_schema=False)]


def etag_of(version: int) -> str:
    return f'"{version}"'


def _read(
    session: Session,
    if_none_match: str | None,
    render: Callable[[Catalogue], str],
    media_type: str,
) -> Response:
    """The catalogue rendered by `render`, or 304 when the client holds its version."""
    tag = etag_of(catalogue_version(session))
    if matches(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    catalogue = load_catalogue(session)
    body = render(catalogue)
    return Response(body, media_type=media_type, headers={"ETag": etag_of(catalogue.version)})


@router.get(
    "/v1/catalogue",
    response_model=CatalogueBody,
    summary="Every catalogue product and the catalogue's version (ETag)",
    dependencies=[READ],
    responses={**REFUSALS, **NOT_MODIFIED},
)
def get_catalogue(session: SessionDep, if_none_match: IfNoneMatch = None) -> Response:
    """Products by id. Send the last ETag as `If-None-Match`: an unchanged catalogue is a
    304 without a body."""
    return _read(
        session,
        if_none_match,
        lambda c: CatalogueBody(
            version=c.version, products=[product_body(p) for p in c.products]
        ).model_dump_json(),
        "application/json",
    )


@router.get(
    "/v1/catalogue.csv",
    summary="The catalogue as CSV (the format `pantau catalogue import` reads)",
    dependencies=[READ],
    response_class=Response,
    responses={
        **REFUSALS,
        **NOT_MODIFIED,
        200: {
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "product_id,name,category,aliases,keywords,hashtags\n"
                    "kopi-aren-literan,Kopi Susu Gula Aren Literan,minuman,"
                    "es kopi susu aren,kopi|aren|literan,kopiaren|kopisusu\n",
                }
            }
        },
    },
)
def export_catalogue(session: SessionDep, if_none_match: IfNoneMatch = None) -> Response:
    response = _read(
        session, if_none_match, lambda c: catalogue_csv(c.products), "text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="catalogue.csv"'
    return response


def _items(items: list[str]) -> tuple[str, ...]:
    """Trimmed, blanks dropped: what the CSV format would read back."""
    return tuple(item.strip() for item in items if item.strip())


def _product(product_id: str, fields: ProductFields) -> CatalogueProduct:
    try:
        return CatalogueProduct(
            product_id=product_id,
            name=fields.name.strip(),
            category=fields.category.strip(),
            aliases=_items(fields.aliases),
            keywords=_items(fields.keywords),
            hashtags=tuple(dict.fromkeys(h.lstrip("#").lower() for h in fields.hashtags)),
        )
    except CatalogueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.put(
    "/v1/catalogue/{product_id}",
    response_model=Written,
    summary="Create or replace one catalogue product",
    dependencies=[ADMIN],
    responses={
        **REFUSALS,
        201: {"description": "created", "model": Written},
        **CONFLICT,
        **NOT_JSON,
    },
)
def put_product(
    session: SessionDep, response: Response, product_id: ProductIdPath, fields: ProductFields
) -> Written:
    """200 when it replaced a product, 201 when it created one; the version rises only
    when something changed."""
    product = _product(product_id, fields)
    change: Change = write(session, lambda s: apply_products(s, (product,)))
    if change.created:
        response.status_code = 201
    return Written(version=change.version, product=product_body(product))


@router.delete(
    "/v1/catalogue/{product_id}",
    response_model=Written,
    summary="Delete one catalogue product",
    dependencies=[ADMIN],
    responses={**REFUSALS, 404: {"description": "no such catalogue product"}},
)
def remove_product(session: SessionDep, product_id: ProductIdPath) -> Written:
    version: int | None = write(session, lambda s: delete_product(s, product_id))
    if version is None:
        raise HTTPException(404, f"no catalogue product {product_id!r}")
    return Written(version=version)


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "The CSV format: a header with at least product_id and name; "
        "aliases, keywords and hashtags separated by `|` (UTF-8, a BOM is fine).",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "product_id,name,category,aliases,keywords,hashtags\n"
                "keripik-pisang-pedas,Keripik Pisang Pedas,makanan_ringan,"
                "kripik pisang pedas,keripik|pisang|pedas,keripikpisang\n",
            }
        },
    }
}


@router.post(
    "/v1/catalogue:import",
    response_model=ImportResult,
    summary="Import a catalogue CSV: merge into the catalogue or replace it",
    dependencies=[ADMIN],
    openapi_extra=_CSV_BODY,
    responses={
        **REFUSALS,
        400: {"description": "the body is not UTF-8 text"},
        **CONFLICT,
        413: {"description": f"the body is over {MAX_IMPORT_BYTES} bytes"},
        415: {"description": "the body is not text/csv"},
        422: {"description": "a bad row or header; the message names its line"},
    },
)
async def import_catalogue(
    request: Request,
    session: SessionDep,
    mode: Annotated[
        Literal["merge", "replace"],
        Query(
            description="merge: create or replace the file's products and keep the "
            "others; replace: the file becomes the whole catalogue"
        ),
    ] = "merge",
) -> ImportResult:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("text/csv", "text/plain"):
        raise HTTPException(415, "send the CSV with Content-Type: text/csv")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_IMPORT_BYTES:
            raise HTTPException(413, f"a catalogue CSV is at most {MAX_IMPORT_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"the CSV is not UTF-8 (byte {exc.start})") from None
    if "\x00" in text:  # PostgreSQL cannot store it; the csv module lets it through
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise HTTPException(422, f"catalogue CSV: line {line}: a NUL character")
    try:
        catalogue = parse_catalogue_csv(text)
    except CatalogueError as exc:
        raise HTTPException(422, f"catalogue CSV: {exc}") from None
    except csv.Error as exc:  # the csv module's own (a NUL byte, a field over its limit)
        raise HTTPException(422, f"catalogue CSV: {exc}") from None
    change: Change = await run_in_threadpool(
        write, session, lambda s: apply_products(s, catalogue.products, mode == "replace")
    )
    return ImportResult(
        version=change.version,
        created=change.created,
        updated=change.updated,
        deleted=change.deleted,
        unchanged=change.unchanged,
    )
