"""Re-tagging stored documents after an edit of the user's entity rules."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SEED, docflow, docflow_env, wait_until

pytestmark = pytest.mark.integration


def entity_names(env: dict[str, str]) -> set[str] | None:
    """Canonical names in the one exported document; None while it is being re-indexed."""
    lines = docflow(env, "export").stdout.splitlines()
    if len(lines) != 1:
        return None
    return {e["canonical"] for e in json.loads(lines[0])["entities"]}


def test_reprocess_re_tags_only_documents_tagged_under_older_rules(
    private_redis, data_dir, start_worker
) -> None:
    # Given the seed indexed by a real worker, with Syria among its entities
    env = docflow_env(data_dir, private_redis.url)
    start_worker(env)
    assert docflow(env, "run", str(SEED), "--no-workers", timeout=180).returncode == 0
    assert "Syria" in (entity_names(env) or set())
    # When nothing changed, reprocess has nothing to do
    idle = json.loads(docflow(env, "reprocess", "--stage", "tag", "--json").stdout)
    assert idle["documents"] == []
    # When the user blocks Syria and reprocesses
    assert docflow(env, "entities", "block", "Syria").returncode == 0
    redo = json.loads(docflow(env, "reprocess", "--stage", "tag", "--json").stdout)
    assert len(redo["documents"]) == 1
    # Then the document is re-tagged and indexed again without Syria
    assert wait_until(lambda: "Syria" not in (entity_names(env) or {"Syria"}), timeout=60)
    status = json.loads(docflow(env, "status", "--json").stdout)["documents"]
    assert status["indexed"] == 1
    syria = json.loads(docflow(env, "entities", "--json", "--limit", "500").stdout)
    assert "Syria" not in {e["name"] for e in syria}
