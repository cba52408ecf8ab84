"""Property-based fuzzing of the HTTP API from its own OpenAPI spec (schemathesis): no input
makes it answer 500. Writes are fuzzed too, with the write token, on a throwaway store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.integration.web_support import filled_backend
from workers.settings import Settings
from workers.web.app import create_app

pytestmark = pytest.mark.integration
TOKEN = "fuzz-token-0123456789abcdef"
#: cases per operation (nine operations, two stores: the run stays well under a minute)
EXAMPLES = 50


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_schema(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[schemathesis.BaseSchema]:
    tmp: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with filled_backend(request.param, tmp) as b:
        app = create_app(
            Settings(data_dir=b.data, broker_url=b.redis.url, write_token=TOKEN, max_file_mb=0.05),
            store=b.store,
        )
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app)


def fuzz(operation: schemathesis.APIOperation) -> int:
    """Hypothesis over one operation's cases; raises on the first 500 (shrunk). Returns
    how many statuses were seen."""
    seen: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error]
        )
        seen.append(response.status_code)

    run()
    return len(seen)


def test_no_input_makes_any_api_operation_answer_with_a_server_error(
    web_schema: schemathesis.BaseSchema,
) -> None:
    # Given every operation of the API's own OpenAPI spec
    operations = [result.ok() for result in web_schema.get_all_operations()]
    assert len(operations) >= 9
    # When each is fed generated input (valid and invalid), Then none answers 500
    failures, calls = [], {}
    for operation in operations:
        try:
            calls[operation.label] = fuzz(operation)
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert min(calls.values()) >= 1 and calls["GET /api/search"] >= EXAMPLES // 2, calls
