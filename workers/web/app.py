"""The app factory: `create_app(settings)` builds the API, the pages and their errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from tasks.store import Store
from workers.settings import Settings
from workers.web import api_read, api_write, errors, pages, pages_ops
from workers.web.state import HERE, StoreSource, WebState

DESCRIPTION = """The read side of docflow (search, documents, entities, status, failures)
and its writes (upload, retry, entity rules). Reads are open; writes need
`Authorization: Bearer <DOCFLOW_WRITE_TOKEN>`, or, with no token configured, a client on
127.0.0.1. Errors answer `{"error": ..., "hint": ...}`."""


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """The web app for these settings; `store` (tests) is used instead of opening one."""
    stores = StoreSource(settings, store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        stores.close()

    app = FastAPI(
        title="docflow",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = WebState(settings, stores)
    errors.install(app)
    app.include_router(api_read.router)
    app.include_router(api_write.router)
    app.include_router(pages.router)
    app.include_router(pages_ops.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        refused = small_body_refusal(request)
        if refused is not None:
            return errors.error_response(request, *refused)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        html = response.headers.get("content-type", "").startswith("text/html")
        if html and request.url.path != app.docs_url:  # Swagger UI loads its own scripts
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    return app


#: the two routes that take files; every other write takes a small form or JSON body
UPLOAD_PATHS = frozenset({"/api/documents", "/upload"})
#: the largest body a write other than an upload may send
SMALL_BODY_BYTES = 64 * 1024


def small_body_refusal(request: Request) -> tuple[int, str, str] | None:
    """(status, error, hint) for a body that only an upload route may send: a multipart
    form (its files would be spooled to the system's temporary folder) or a large one."""
    if request.method != "POST" or request.url.path in UPLOAD_PATHS:
        return None
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/"):
        return 415, "only uploads take multipart forms", "send a form or JSON body"
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > SMALL_BODY_BYTES:
        return 413, f"a body over {SMALL_BODY_BYTES // 1024} KB", "send less"
    return None


#: pages load their own stylesheet only: no script, no inline script, no framing
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
