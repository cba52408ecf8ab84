"""`docflow ingest` records first, then publishes ids: a broker that loses everything loses no file.

Real processes on a private redis-server that keeps nothing on disk, a real SQLite store.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import redis

from tests.conftest import docflow, docflow_env
from tests.fixtures.cluster import (
    done_events,
    sqlite_invariants,
    sqlite_store,
    start_workers,
    wait_final,
    write_articles,
)

pytestmark = pytest.mark.integration


def queued_ids(client: redis.Redis) -> list[list[str]]:
    """The document ids of each message waiting in the parse queue (a batch, or one id)."""
    messages = []
    for raw in client.lrange("parse", 0, -1):
        envelope = json.loads(raw)
        args = json.loads(base64.b64decode(envelope["body"]))[0]
        messages.append(list(args[0]) if isinstance(args[0], list) else [args[0]])
    return messages


def test_docflow_ingest_then_a_redis_restart_without_persistence_loses_no_file(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    """Given 50 files sent with `docflow ingest` while no worker runs,
    When Redis is killed and started again, empty, and only then a worker starts
    (its recovery sweep on, DOCFLOW_STUCK_AFTER_S lowered to 5 s),
    Then all 50 are indexed, none twice, and `ingest` said what it recorded."""
    assert not private_redis.persist
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_STUCK_AFTER_S="5", DOCFLOW_SWEEP_INTERVAL_S="2"
    )
    folder = tmp_path / "batch"
    write_articles(folder, 50)
    sent = docflow(env, "ingest", str(folder), "--json")
    assert sent.returncode == 0, sent.stderr
    queued = queued_ids(redis.Redis.from_url(private_redis.url))
    store = sqlite_store(data_dir)
    recorded = store.counts().get("received", 0)
    files = json.loads(sent.stdout)

    private_redis.process.kill()
    private_redis.process.wait()
    time.sleep(1)
    private_redis.start()
    assert redis.Redis.from_url(private_redis.url).dbsize() == 0  # every message is gone
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha")

    final = wait_final(store, 50, timeout=150)
    assert final["indexed"] == 50 and final["failed"] == 0, (final, worker.log()[-3000:])
    assert max(done_events([worker.log()], "index").values()) == 1
    facts = sqlite_invariants(data_dir / "docflow.db")
    assert facts["fts_rows"] == facts["fts_docs"] == 50, facts
    assert facts["entity_mismatch"] == [] and facts["duplicate_mentions"] == 0, facts
    store.close()
    # And `ingest` had recorded every file before publishing them in a few batch
    # messages that carry only ids: every document once, fewer messages than files
    assert recorded == 50
    assert sorted(i for ids in queued for i in ids) == sorted(f["documents"][0] for f in files)
    assert 1 <= len(queued) < 50 and max(len(ids) for ids in queued) > 1
    assert len(files) == 50 and all(len(f["documents"]) == 1 for f in files)


def test_docflow_ingest_refuses_in_one_line_when_the_store_does_not_answer(
    private_redis, data_dir, tmp_path
) -> None:
    """Given a broker that answers and a PostgreSQL store URL where nothing listens,
    When `docflow ingest` runs,
    Then it exits non-zero saying the store does not answer and that ingest records
    files there, and nothing is published."""
    folder = tmp_path / "batch"
    write_articles(folder, 2)
    env = docflow_env(
        data_dir,
        private_redis.url,
        DOCFLOW_STORE_URL="postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2",
    )
    result = docflow(env, "ingest", str(folder))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert "records each file in the store" in result.stderr, result.stderr
    assert redis.Redis.from_url(private_redis.url).llen("parse") == 0
