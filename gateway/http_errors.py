"""The one place where domain errors become HTTP answers: ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from gateway import errors

STATUS: dict[type[errors.CordonError], int] = {
    errors.BadRequest: 400,
    errors.NotAuthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.QuotaExceeded: 429,
    errors.BudgetExhausted: 429,
    errors.PeerError: 502,
    errors.ConfigError: 500,
    errors.ManifestError: 500,
}


def _status(exc: errors.CordonError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _cordon_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.CordonError):  # pragma: no cover - registered for CordonError
        raise exc
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, errors.NotAuthenticated) else None
    return JSONResponse(
        {"error": exc.code, "detail": exc.detail}, status_code=_status(exc), headers=headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{location or 'body'}: {error.get('msg', 'invalid')}")
    return JSONResponse({"error": "bad_request", "detail": "; ".join(problems)}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.CordonError, _cordon_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
