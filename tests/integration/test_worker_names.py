"""Worker node names are unique per process, and a duplicate is refused.

Two workers sharing a node name on one host keep each other's leases alive: after one is
SIGKILLed, the survivor's heartbeat vouches for the dead one's runs, and its in-flight
document waits for the hard-time-limit lease. Real workers on a private redis-server.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import redis

from tests.conftest import docflow_env, wait_until
from tests.fixtures.cluster import (
    HOST,
    docflow_background,
    done_events,
    events,
    kill_group,
    live_nodes,
    sqlite_invariants,
    stop,
    summary_of,
    unfinished_runs,
    wait_nodes,
    write_articles,
)

pytestmark = pytest.mark.integration


def test_two_docflow_workers_on_one_machine_get_different_names_and_a_duplicate_is_refused(
    private_redis, data_dir, tmp_path
) -> None:
    """Given two `docflow worker` commands with default settings on one machine,
    Then each gets its own node name (with its pid),
    When a third starts with --name forced to the first one's node name,
    Then it refuses to start with one clear line, and the first keeps its heartbeat."""
    env = docflow_env(data_dir, private_redis.url)
    first = docflow_background(env, tmp_path / "w1.log", "worker", "--queues", "parse,index")
    second = docflow_background(env, tmp_path / "w2.log", "worker", "--queues", "parse,index")
    try:
        names = wait_nodes(private_redis.url, "docflow-", 2)
        assert names == sorted(f"docflow-parse.index-{p.pid}@{HOST}" for p in (first, second)), (
            names
        )
        forced = docflow_background(
            env, tmp_path / "w3.log", "worker", "--queues", "parse,index", "--name", names[0]
        )
        try:
            forced.wait(60)
        finally:
            stop(forced)
        said = [line for line in (tmp_path / "w3.log").read_text().splitlines() if "error" in line]
        assert forced.returncode == 2, said
        assert len(said) == 1 and f"{names[0]} is already in use by pid" in said[0], said
        client = redis.Redis.from_url(private_redis.url)
        owner = client.get(f"docflow:worker:{names[0]}")
        owner_pid = int(names[0].rsplit("@", 1)[0].rsplit("-", 1)[1])
        assert owner is not None and json.loads(owner)["pid"] == owner_pid
        assert live_nodes(private_redis.url, "docflow-") == names
    finally:
        stop(first)
        stop(second)


def test_two_default_named_workers_sigkill_one_mid_batch_its_document_is_resent_within_75s(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    """Given two worker processes on one host started with docflow's default node name
    and the default lease settings (heartbeat TTL 20 s, DOCFLOW_STUCK_AFTER_S=60,
    DOCFLOW_SWEEP_INTERVAL_S=15), and a batch of 120 articles,
    When one is SIGKILLed while it is tagging a document,
    Then that document is re-sent by the survivor's sweep within about 75 s of the kill
    (not after the 210 s hard-time-limit lease), and the batch ends with every document
    indexed once."""
    env = docflow_env(data_dir, private_redis.url)
    alpha = start_worker(env, name=None)
    beta = start_worker(env, name=None)
    names = wait_nodes(private_redis.url, "docflow-all-", 2)
    beta_node = f"docflow-all-{beta.proc.pid}@{HOST}"
    assert len(names) == 2 and beta_node in names, names
    folder = tmp_path / "batch"
    write_articles(folder, 120)
    run_log = tmp_path / "run.log"
    run = docflow_background(env, run_log, "run", str(folder), "--no-workers", "--json")
    db = data_dir / "docflow.db"
    try:

        def beta_is_tagging() -> bool:
            try:
                runs = unfinished_runs(db, beta_node) if db.exists() else []
            except sqlite3.OperationalError:  # the schema is not there yet
                return False
            return any(stage == "tag" for _, stage in runs)

        # Any moment beta holds a tag run is mid-batch; poll finely so the kill lands
        # inside one (a batch takes seconds), not after beta's last batch has committed.
        assert wait_until(beta_is_tagging, timeout=120, every=0.005), beta.log()[-3000:]
        kill_group(beta.proc)
        killed = time.time()
        lost = {doc for doc, _ in unfinished_runs(db, beta_node)}
        assert lost, "beta was killed between two tasks"

        def resent() -> set[str]:
            return {
                i
                for e in events(alpha.log())
                if e.get("event") == "documents_recovered"
                for i in e["ids"]
            }

        assert wait_until(lambda: lost <= resent(), timeout=100, every=1), (
            lost,
            resent(),
            alpha.log()[-2000:],
        )
        took = time.time() - killed
        summary = summary_of(run, run_log, timeout=150)
    finally:
        stop(run)
    assert took < 80, f"re-sent {took:.0f} s after the kill"
    assert summary["indexed"] == 120 and summary["failed"] == 0, summary
    assert max(done_events([alpha.log(), beta.log()], "index").values()) == 1
    facts = sqlite_invariants(db)
    assert facts["fts_rows"] == facts["fts_docs"] == 120, facts
    assert alpha.proc.poll() is None
