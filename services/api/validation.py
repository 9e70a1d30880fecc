"""422 answers in FastAPI's own validation-error shape, so every 422 matches one schema."""

from __future__ import annotations

from fastapi import HTTPException


def invalid(loc: tuple[str, ...], message: str, kind: str = "value_error") -> HTTPException:
    """A 422 whose `detail` is a list of {loc, msg, type}, like request validation errors."""
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": kind}])
