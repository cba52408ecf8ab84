"""`docflow serve`: the HTTP API and web pages (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from workers.cli_app import app
from workers.commands import setup, store_for


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", help="interface to listen on (default: DOCFLOW_SERVE_HOST)"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="port to listen on (default: DOCFLOW_SERVE_PORT)"
        ),
    ] = None,
) -> None:
    """The web pages and HTTP API: search, documents, entities, pipeline, upload.

    Pages at / (search, entities, pipeline, upload; by default on
    http://127.0.0.1:8000/), the API under
    /api with its OpenAPI spec at /api/openapi.json and docs at /api/docs. Reads are
    open; writes (upload, retry, entity rules) need DOCFLOW_WRITE_TOKEN as a bearer
    token, or come from 127.0.0.1 when no token is set. Listening beyond 127.0.0.1
    without a token is refused. Uploads need a broker (DOCFLOW_BROKER_URL, or `docflow
    up` on the same data dir); everything else reads the store only.
    """
    import structlog
    import uvicorn

    from workers.web.app import create_app
    from workers.web.security import check_bind

    settings = setup()
    bind = host or settings.serve_host
    check_bind(settings, bind)
    store_for(settings).close()  # a store that cannot be opened fails here, in one line
    listen = port or settings.serve_port
    structlog.get_logger("docflow.web").info(
        "serve_started",
        url=f"http://{bind}:{listen}/",
        writes_need_token=bool(settings.write_token),
    )
    uvicorn.run(
        create_app(settings),
        host=bind,
        port=listen,
        log_config=None,
        access_log=False,
        server_header=False,
    )
