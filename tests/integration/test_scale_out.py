"""Scale out: two worker "hosts" share one Redis and one PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tasks.models import Status
from tasks.store import open_store
from tests.conftest import POSTGRES_URL, REPO, docflow_env, wait_until

pytestmark = pytest.mark.integration

CITIES = ["Lagos", "Quito", "Oslo", "Hanoi", "Perth", "Tunis", "Riga", "Lima", "Accra", "Doha"]


@pytest.fixture
def postgres_db() -> Iterator[str]:
    """A throwaway database on the local PostgreSQL, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    name = f"docflow_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    admin.execute(f"CREATE DATABASE {name}")
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def test_two_worker_hosts_share_the_work_and_index_every_document_once(
    private_redis, data_dir, tmp_path, start_worker, postgres_db
) -> None:
    # Given two worker hosts with distinct node names, one Redis, one PostgreSQL
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_STORE_URL=postgres_db)
    host_a = start_worker(env, name="host-a", concurrency=1)
    host_b = start_worker(env, name="host-b", concurrency=1)
    batch = tmp_path / "batch"
    batch.mkdir()
    for i in range(40):
        city = CITIES[i % len(CITIES)]
        (batch / f"story-{i:03}.txt").write_text(
            f"Story {i} from {city}\n\n{city.upper()}\n\nOfficials in {city} said on Monday that "
            f"talks number {i} with the United Nations had ended. Minister Ana Silva {i} "
            f"thanked the World Bank.\n",
            encoding="utf-8",
        )
    # When the batch is pushed through from a third process
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "run", str(batch), "--no-workers", "--json"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary = json.loads(result.stdout)
    # Then every document is indexed exactly once
    assert summary["indexed"] == 40, result.stderr[-2000:]
    store = open_store(postgres_db)
    assert store.counts()[Status.indexed.value] == 40
    assert len(list(store.iter_documents())) == 40
    # And both hosts took work: every stage run names the worker that ran it
    workers_seen = {
        run.worker
        for doc in store.iter_documents()
        for run in store.stage_runs(doc.id)
        if run.stage == "tag"
    }
    assert any(w and w.startswith("host-a@") for w in workers_seen), workers_seen
    assert any(w and w.startswith("host-b@") for w in workers_seen), workers_seen
    assert wait_until(lambda: "tag_done" in host_a.log() and "tag_done" in host_b.log(), 5)
    store.close()
