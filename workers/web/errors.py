"""One error shape for users: JSON `{"error", "hint"}` on the API, an error page elsewhere.

docflow's own errors map to statuses by kind (a query that cannot be read 400, nothing
found 404, bad input 422, a store or broker that is down 503); anything unexpected is
logged and answered 500 without internals.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from tasks.errors import (
    ConfigError,
    DocflowError,
    DocumentNotFound,
    PermanentError,
    QuerySyntaxError,
    RetryableError,
)

log = structlog.get_logger("docflow.web")


class NotFound(PermanentError):
    """No entity (or other thing) under the name or id asked for."""


class Unavailable(DocflowError):
    """Something the request needs is not there (no broker to send work to)."""


def status_of(exc: DocflowError) -> int:
    if isinstance(exc, QuerySyntaxError):
        return 400
    if isinstance(exc, DocumentNotFound | NotFound):
        return 404
    if isinstance(exc, PermanentError):
        return 422
    if isinstance(exc, RetryableError | ConfigError | Unavailable):
        return 503
    return 400


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api")


def error_response(request: Request, status: int, error: str, hint: str = "") -> Response:
    if _wants_json(request):
        return JSONResponse({"error": error, "hint": hint}, status_code=status)
    from workers.web.state import web

    return web(request).templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "error": error, "hint": hint},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(DocflowError)
    async def docflow_error(request: Request, exc: DocflowError) -> Response:
        return error_response(request, status_of(exc), exc.message, exc.hint)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        response = error_response(request, exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        message = f"{where}: {msg}" if where else msg
        if _wants_json(request):
            body: dict[str, object] = {
                "error": message,
                "hint": "see /api/docs for what this endpoint takes",
                "detail": exc.errors(),
            }
            return JSONResponse(_jsonable(body), status_code=422)
        return error_response(request, 422, message, "fix the form and try again")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("request_failed", path=request.url.path, error=f"{type(exc).__name__}: {exc}")
        return error_response(
            request, 500, "internal error", "the server log has the details (request_failed)"
        )


def _jsonable(body: dict[str, object]) -> dict[str, object]:
    from fastapi.encoders import jsonable_encoder

    return dict(jsonable_encoder(body, custom_encoder={Exception: str}))
