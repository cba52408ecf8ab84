"""`docflow bench --search-only` times the API's search and the search page over real HTTP.

No assertion on speed: figures come from the command, never from a timed test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, docflow, docflow_env

pytestmark = pytest.mark.integration

HTTP_KEYS = ("api_search_p50_ms", "api_search_p95_ms", "page_p50_ms", "page_p95_ms")


def _postgres() -> str:
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_search_only_bench_reports_api_and_page_latency_over_http(
    tmp_path: Path, backend: str
) -> None:
    # Given a private environment (on PostgreSQL, the app opens its own shared store)
    env = docflow_env(tmp_path / "data")
    store = ["--store-url", _postgres()] if backend == "postgres" else []
    # When the search bench fills 60 documents and times 10 queries
    result = docflow(
        env,
        "bench",
        "--search-only",
        "--docs",
        "60",
        "--queries",
        "10",
        *store,
        "--json",
        timeout=180,
    )
    # Then it searched all 60, and timed the API and the page over HTTP
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout)  # the figures, shown with -s or on failure
    figures = json.loads(result.stdout)
    assert figures["documents"] == 60
    for key in HTTP_KEYS:
        value = figures.get(key)
        assert isinstance(value, int | float) and value > 0, (key, value)
    assert figures["api_search_p50_ms"] <= figures["api_search_p95_ms"]
    assert figures["page_p50_ms"] <= figures["page_p95_ms"]
