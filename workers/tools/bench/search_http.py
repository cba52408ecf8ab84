"""Search latency over real HTTP: the API's search with facets and the search page.

`time_http` serves the real app (`create_app`) with a real uvicorn server on a free port
of 127.0.0.1, in a thread of this process, and times `GET /api/search` and `GET /` (the
HTML search page) for each query over one keep-alive connection: what a client waits
for, routing, validation, JSON or template rendering and the store's search included.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import uvicorn

from tasks.errors import DocflowError
from workers.broker import free_port
from workers.settings import Settings
from workers.tools.bench.config import percentile, rounded

#: seconds to wait for the server to start, and to stop
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
#: seconds one request may take before the run fails
REQUEST_TIMEOUT_S = 60.0


class BenchHTTPError(DocflowError):
    """The app did not start, or answered a timed request with something other than 200."""


def time_http(settings: Settings, queries: list[str], per_page: int = 10) -> dict[str, Any]:
    """p50/p95 in ms of the API's search (facets on, as by default) and of the search page
    over these queries, each after one warm-up request; {} for no queries."""
    if not queries:
        return {}
    api: list[float] = []
    pages: list[float] = []
    with _serving(settings) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        try:
            _get(conn, _api_path(queries[0], per_page))  # warm-ups: templates, caches
            _get(conn, _page_path(queries[0]))
            for query in queries:
                api.append(_get(conn, _api_path(query, per_page)))
                pages.append(_get(conn, _page_path(query)))
        finally:
            conn.close()
    return {
        "api_search_p50_ms": rounded(percentile(api, 50), 2),
        "api_search_p95_ms": rounded(percentile(api, 95), 2),
        "page_p50_ms": rounded(percentile(pages, 50), 2),
        "page_p95_ms": rounded(percentile(pages, 95), 2),
    }


def _api_path(query: str, per_page: int) -> str:
    return "/api/search?" + urlencode({"q": query, "per_page": per_page})


def _page_path(query: str) -> str:
    return "/?" + urlencode({"q": query})


def _get(conn: http.client.HTTPConnection, path: str) -> float:
    """Milliseconds from sending `GET path` to the last byte of a 200 answer."""
    began = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - began) * 1000
    if response.status != 200:
        snippet = body[:300].decode("utf-8", "replace")
        raise BenchHTTPError(
            f"GET {path} answered {response.status}, not 200: {snippet}",
            hint="run the same request against `docflow serve` to see why",
        )
    return elapsed


@contextmanager
def _serving(settings: Settings) -> Iterator[int]:
    """The app for `settings` served on a free port of 127.0.0.1 (yielded) until exit."""
    from workers.web.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    # uvicorn binds the port itself: its sockets get TCP_NODELAY (a socket handed to it
    # made without IPPROTO_TCP would not, and each answer would wait ~40 ms for an ACK)
    thread = threading.Thread(target=server.run, name="bench-http", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise BenchHTTPError(
                    "the web app did not start for the HTTP search timings",
                    hint="see the log above; `docflow serve` on the same store shows the error",
                )
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
