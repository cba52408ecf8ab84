"""Faults survived: real processes killed, real servers stopped and started again.

Every test runs real `celery worker` processes (two where the fault needs a survivor)
on a private redis-server, and a real store. Settings are lowered through the
environment to keep the suite short (DOCFLOW_STUCK_AFTER_S, DOCFLOW_SWEEP_INTERVAL_S,
time limits); docs/RELIABILITY.md shows why the defaults keep the same promises.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tasks.store import open_store
from tests.conftest import docflow, docflow_env, wait_until
from tests.fixtures.cluster import (
    article,
    at,
    docflow_background,
    done_events,
    events,
    kill_group,
    node,
    poison_env,
    sqlite_invariants,
    sqlite_store,
    start_workers,
    stop,
    summary_of,
    unfinished_runs,
    wait_final,
    wait_nodes,
    write_articles,
)
from tests.integration.test_ingest_durability import queued_ids
from workers.broker import free_port

pytestmark = pytest.mark.integration

FAST_SWEEP = {"DOCFLOW_STUCK_AFTER_S": "20", "DOCFLOW_SWEEP_INTERVAL_S": "5"}


def assert_some_were_waiting(waiting: list[list[str]], total: int) -> None:
    """The fault met messages still in Redis (`queued_ids` just before the kill): else a
    worker held every batch, finished it, and there was nothing to lose or find."""
    print(f"documents waiting in Redis when it died: {sum(map(len, waiting))} of {total}")
    assert waiting, "every batch had left Redis before the kill: nothing was lost to find"


def test_a_worker_sigkilled_mid_batch_loses_no_document_and_indexes_none_twice(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given two separate worker processes, alpha and beta, on a private Redis, with the
    # default recovery settings (DOCFLOW_STUCK_AFTER_S=60, DOCFLOW_SWEEP_INTERVAL_S=15)
    env = docflow_env(data_dir, private_redis.url)
    alpha, beta = start_workers(start_worker, env, private_redis.url, "alpha", "beta")
    # And a batch of 200 small articles sent through `docflow run`
    folder = tmp_path / "batch"
    write_articles(folder, 200)
    run_log = tmp_path / "run.log"
    run = docflow_background(env, run_log, "run", str(folder), "--no-workers", "--json")
    db = data_dir / "docflow.db"
    try:
        # When beta's whole process group is SIGKILLed while it is in the middle of a task
        assert wait_until(
            lambda: db.exists() and len(done_events([beta.log()], "tag")) >= 10,
            timeout=90,
            every=0.2,
        ), beta.log()[-3000:]
        # (in the middle of tagging, the long stage: a parse or index run takes a
        # millisecond and would often finish between this look and the kill)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            stage == "tag" for _, stage in unfinished_runs(db, node("beta"))
        ):
            time.sleep(0.005)
        kill_group(beta.proc)
        killed = time.monotonic()
        lost = unfinished_runs(db, node("beta"))
        # Then the batch completes, with no human action, within 2 minutes of the kill
        summary = summary_of(run, run_log, timeout=150)
        recovered_in = time.monotonic() - killed
    finally:
        stop(run)
    assert summary["indexed"] == 200 and summary["failed"] == 0, summary
    assert recovered_in < 120, recovered_in
    # And the task beta was running when it died was found from the store and re-sent
    assert lost, "beta was killed between two tasks"
    recovered = {
        i for e in events(alpha.log()) if e.get("event") == "documents_recovered" for i in e["ids"]
    }
    assert {doc for doc, _ in lost} <= recovered, (lost, recovered)
    # And no document was indexed twice: one index run each, one full-text row each,
    # and entity counts that match the mentions exactly
    assert max(done_events([alpha.log(), beta.log()], "index").values()) == 1
    facts = sqlite_invariants(db)
    assert facts["fts_rows"] == facts["fts_docs"] == 200, facts
    assert facts["entity_mismatch"] == [] and facts["duplicate_mentions"] == 0, facts
    assert alpha.proc.poll() is None


def test_a_redis_restart_without_persistence_mid_batch_heals_by_itself(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given two workers on a private Redis that keeps nothing on disk
    assert not private_redis.persist
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_STUCK_AFTER_S="10", DOCFLOW_SWEEP_INTERVAL_S="3"
    )
    workers = start_workers(start_worker, env, private_redis.url, "alpha", "beta")
    # And a batch long enough that most of it still waits in Redis when Redis dies (a
    # worker finishes the batch it holds, so only waiting messages can be lost: 100 short
    # articles could all have left Redis between two looks at the count)
    folder = tmp_path / "batch"
    total = 400
    write_articles(folder, total)
    run_log = tmp_path / "run.log"
    run = docflow_background(env, run_log, "run", str(folder), "--no-workers", "--json")
    store = sqlite_store(data_dir)
    try:
        # When Redis is killed mid-batch and started again, empty, on the same port
        assert wait_until(lambda: store.counts()["indexed"] >= 15, timeout=90, every=0.2)
        waiting = queued_ids(redis.Redis.from_url(private_redis.url))
        private_redis.process.kill()
        private_redis.process.wait()
        time.sleep(3)
        private_redis.start()
        restarted = time.time()
        lost_queues = redis.Redis.from_url(private_redis.url).dbsize()
        # Then the batch completes with nothing failed and no human action
        summary = summary_of(run, run_log, timeout=120)
    finally:
        stop(run)
    assert_some_were_waiting(waiting, total)
    assert summary["indexed"] == total and summary["failed"] == 0, summary
    assert lost_queues <= 1  # the restarted server came back empty: messages were lost
    # And both workers reconnected by themselves and took tasks again after the restart
    for worker in workers:
        after = [
            e
            for e in events(worker.log())
            if e.get("event") == "task_started" and at(e) > restarted
        ]
        assert after, worker.log()[-3000:]
    # And the documents whose messages were lost were found from the store and re-sent
    found = [e for w in workers for e in events(w.log()) if e.get("event") == "documents_recovered"]
    assert found and all(at(e) > restarted for e in found)
    facts = sqlite_invariants(data_dir / "docflow.db")
    assert facts["fts_docs"] == facts["fts_rows"] == total and facts["entity_mismatch"] == []


def test_docflow_up_rides_out_a_redis_restart_with_its_watcher_workers_and_sweep(
    private_redis, data_dir, tmp_path
) -> None:
    # Given `docflow up` (watcher, two worker processes, its own sweep) on a private Redis
    # that keeps nothing on disk
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_STUCK_AFTER_S="10", DOCFLOW_SWEEP_INTERVAL_S="3"
    )
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    up = docflow_background(
        env, tmp_path / "up.log", "up", "--inbox", str(inbox), "--workers", "2", "--no-flower"
    )
    store = sqlite_store(data_dir)
    before, after = 400, 20

    def drop(count: int, prefix: str) -> None:
        staging = tmp_path / f"staging-{prefix}"
        for path in write_articles(staging, count, prefix):
            os.rename(path, inbox / path.name)

    try:
        assert wait_nodes(private_redis.url, "docflow-", 1, timeout=90), (
            tmp_path / "up.log"
        ).read_text()[-3000:]
        # (enough files that most batches still wait in Redis when it dies: a worker
        # finishes the batch it is running, so only waiting messages can be lost, and 100
        # short articles could all have left Redis between two looks at the count)
        drop(before, "before")
        # When Redis is killed mid-batch and started again, empty
        assert wait_until(lambda: store.counts()["indexed"] >= 8, timeout=90, every=0.2)
        waiting = queued_ids(redis.Redis.from_url(private_redis.url))
        private_redis.process.kill()
        private_redis.process.wait()
        time.sleep(3)
        private_redis.start()
        # And more files are dropped after the restart
        drop(after, "after")
        # Then every file dropped before and after is indexed, none failed, no human action
        final = wait_final(store, before + after, timeout=150)
        assert final["indexed"] == before + after and final["failed"] == 0, final
        assert up.poll() is None
    finally:
        stop(up, timeout=30)
    assert up.returncode == 0
    # And the documents whose messages died with Redis were found by the sweep
    assert_some_were_waiting(waiting, before)
    logs = [tmp_path / "up.log", *(data_dir / "logs").glob("*.log")]
    assert any(
        e.get("event") == "documents_recovered"
        for log in logs
        for e in events(log.read_text(errors="replace"))
    )


def test_docflow_recover_resends_documents_whose_messages_were_lost(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given 20 documents recorded in the store whose parse messages were lost
    # (no worker yet; the parse queue deleted, as by a Redis restart without persistence)
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    folder = tmp_path / "batch"
    write_articles(folder, 20)
    run_log = tmp_path / "run.log"
    run = docflow_background(env, run_log, "run", str(folder), "--no-workers", "--json")
    store = sqlite_store(data_dir)
    client = redis.Redis.from_url(private_redis.url)
    try:
        # every id in a parse message (batch messages, since the intake batches)
        assert wait_until(lambda: sum(map(len, queued_ids(client))) == 20, timeout=60)
        client.delete("parse")
        # And a worker whose own sweep is turned off (DOCFLOW_SWEEP_INTERVAL_S=0)
        start_workers(start_worker, env, private_redis.url, "alpha")
        time.sleep(3)
        assert store.counts()["received"] == 20  # nothing moves by itself
        # When `docflow recover` runs with a threshold nothing has reached yet
        idle = docflow(env, "recover", "--older-than", "3600", "--json")
        # Then it leaves them alone
        assert json.loads(idle.stdout) == {"recovered": []}, idle.stderr
        # When it runs with a threshold they have passed
        result = docflow(env, "recover", "--older-than", "1", "--json")
        # Then it re-enqueues exactly the stuck documents, and they are all indexed
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["recovered"]) == 20
        summary = summary_of(run, run_log, timeout=90)
    finally:
        stop(run)
    assert summary["indexed"] == 20 and summary["failed"] == 0


def test_docflow_retry_reruns_failed_documents_from_the_stage_that_failed(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker with a (test-only) bug that fails one article at parse and one at tag
    switch = tmp_path / "bug-present"
    switch.touch()
    env = poison_env(
        data_dir,
        private_redis.url,
        switch,
    )
    start_workers(start_worker, env, private_redis.url, "alpha")
    folder = tmp_path / "batch"
    write_articles(folder, 3, "fine")
    (folder / "parse-bug.txt").write_text(article(1, "pbug", "DOCFLOW-POISON-BROKEN"))
    (folder / "tag-bug.txt").write_text(article(2, "tbug", "DOCFLOW-POISON-TAGFAIL"))
    first = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=120)
    assert json.loads(first.stdout)["failed"] == 2, first.stderr
    store = sqlite_store(data_dir)
    failed = {d.source: d for d in store.failed_documents()}
    assert (failed["parse-bug.txt"].stage, failed["tag-bug.txt"].stage) == ("parse", "tag")
    assert "test switch" in (failed["tag-bug.txt"].last_error or "")
    # And `docflow retry` with nothing to retry refuses to guess
    assert docflow(env, "retry").returncode != 0
    # When the bug is fixed and the tag failure is retried by id, then all the others
    switch.unlink()
    by_id = docflow(env, "retry", failed["tag-bug.txt"].id, "--json")
    rest = docflow(env, "retry", "--all-failed", "--json")
    # Then each runs again from the stage that failed, and both end indexed
    assert json.loads(by_id.stdout) == [{"id": failed["tag-bug.txt"].id, "from_stage": "tag"}]
    assert json.loads(rest.stdout) == [{"id": failed["parse-bug.txt"].id, "from_stage": "parse"}]
    assert wait_final(store, 5, timeout=60)["indexed"] == 5
    runs = {r.stage: r for r in store.stage_runs(failed["tag-bug.txt"].id)}
    assert runs["parse"].attempts == 1  # parse was not run again
    assert runs["tag"].attempts == 2 and runs["tag"].error is None


def test_poison_documents_that_crash_hang_or_stall_fail_with_a_reason_and_block_nothing(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker with two processes, short time limits (soft 2 s, hard 6 s), and
    # (test only) articles that kill their process, hang past the hard limit, or stall
    env = poison_env(
        data_dir,
        private_redis.url,
        DOCFLOW_TASK_SOFT_TIME_LIMIT_S="2",
        DOCFLOW_TASK_TIME_LIMIT_S="6",
        DOCFLOW_STUCK_AFTER_S="10",
        DOCFLOW_SWEEP_INTERVAL_S="3",
    )
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha", concurrency=2)
    folder = tmp_path / "batch"
    write_articles(folder, 6, "good")
    kinds = ("CRASH", "HANG", "SLOW", "TAGCRASH", "TAGHANG")
    for i, kind in enumerate(kinds):
        (folder / f"{kind.lower()}.txt").write_text(article(i, kind, f"DOCFLOW-POISON-{kind}"))
    # When they go through the pipeline with good articles
    result = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=150)
    # Then the good ones are indexed and each poison one is failed with its reason
    assert json.loads(result.stdout) | {"seconds": 0, "entities": 0} == {
        "documents": 11,
        "indexed": 6,
        "failed": 5,
        "rejected_files": 0,
        "seconds": 0,
        "entities": 0,
    }, result.stderr
    store = sqlite_store(data_dir)
    failed = {d.source: d for d in store.failed_documents()}
    expected = {
        "crash.txt": ("parse", "the worker process running it died"),
        "hang.txt": ("parse", "killed at the hard time limit of 6 s"),
        "slow.txt": ("parse", "took longer than the soft time limit of 2 s"),
        # tag runs inline, in the parse task: its lost runs are counted all the same
        "tagcrash.txt": ("tag", "the worker process running it died"),
        "taghang.txt": ("tag", "killed at the hard time limit of 6 s"),
    }
    for source, (stage, reason) in expected.items():
        doc = failed[source]
        assert doc.stage == stage and reason in (doc.last_error or ""), doc.last_error
        assert "gave up after 3 tries" in (doc.last_error or "")
        runs = {r.stage: r for r in store.stage_runs(doc.id)}
        assert runs[stage].attempts == 3  # retried a bounded number of times, no loop
        if stage == "tag":
            # its parse is not rerun by its own crashes; a batch-mate's crash (the batch
            # split, docflow's rule for poison in a batch) costs it one retry at most
            assert runs["parse"].attempts <= 2 and runs["parse"].error is None
    # And the worker is alive and a good article dropped afterwards is indexed at once
    assert worker.proc.poll() is None
    late = tmp_path / "late"
    write_articles(late, 2, "late")
    started = time.monotonic()
    again = docflow(env, "run", str(late), "--no-workers", "--json", timeout=60)
    assert json.loads(again.stdout)["indexed"] == 2
    assert time.monotonic() - started < 30


def test_a_sqlite_store_locked_for_over_30_seconds_delays_the_batch_but_fails_nothing(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker with two processes and a batch in progress on the SQLite store
    # (long enough that the lock below lands while most of it is still to do: 40 short
    # articles could all be indexed between two looks at the count)
    env = docflow_env(data_dir, private_redis.url, **FAST_SWEEP)
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha", concurrency=2)
    folder = tmp_path / "batch"
    total = 400
    write_articles(folder, total)
    run_log = tmp_path / "run.log"
    run = docflow_background(env, run_log, "run", str(folder), "--no-workers", "--json")
    store = sqlite_store(data_dir)
    try:
        assert wait_until(lambda: store.counts()["indexed"] >= 5, timeout=90, every=0.2)
        # When another process holds an exclusive lock on the store for 32 s
        # (a little longer than the 30 s the store itself waits for a lock)
        lock = sqlite3.connect(data_dir / "docflow.db", timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        before = store.counts()["indexed"]
        time.sleep(32)
        during = store.counts()["indexed"]
        lock.execute("ROLLBACK")
        lock.close()
        # Then nothing was written meanwhile, and afterwards the batch completes
        summary = summary_of(run, run_log, timeout=120)
    finally:
        stop(run)
    print(f"indexed when the lock was taken: {before} of {total}")
    assert during == before < total
    assert summary["indexed"] == total and summary["failed"] == 0, summary
    # And the tasks that met the lock retried with backoff instead of failing
    retried = [
        e
        for e in events(worker.log())
        if e.get("event") in ("store_unavailable", "stage_retry") and "locked" in e.get("error", "")
    ]
    assert retried, worker.log()[-3000:]


# ---- PostgreSQL: a private cluster of our own, stopped and started ---------------------

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port (never the shared one)."""

    def __init__(self) -> None:
        assert PG_BIN is not None
        self.root = Path(tempfile.mkdtemp(prefix="docflow-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        assert PG_BIN is not None
        subprocess.run(
            [*self.as_user, str(PG_BIN / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) to run a private cluster")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("initdb refuses root and runuser is missing")
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


def test_a_postgresql_store_stopped_for_30_seconds_delays_the_batch_but_fails_nothing(
    private_redis, private_postgres, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker storing into a private PostgreSQL cluster, and a batch on its way
    # (long enough that the outage lands while most of it is still to do)
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_STORE_URL=private_postgres.url, **FAST_SWEEP
    )
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha", concurrency=2)
    folder = tmp_path / "batch"
    total = 400
    write_articles(folder, total)
    sent = docflow(env, "ingest", str(folder), "--json")
    assert len(json.loads(sent.stdout)) == total, sent.stderr
    store = open_store(private_postgres.url)
    assert wait_until(lambda: store.counts()["indexed"] >= 5, timeout=90, every=0.2)
    # When PostgreSQL is stopped for 30 s and started again
    before = store.counts()["indexed"]
    private_postgres.stop()
    print(f"indexed when the store stopped: {before} of {total}")
    time.sleep(30)
    private_postgres.start()
    # Then every document is indexed and none is failed
    final = wait_final(store, total, timeout=120)
    assert before < total  # the outage met the batch on its way
    assert final["indexed"] == total and final["failed"] == 0, final
    assert store.rejected_files() == []
    # And the tasks that met the outage retried with backoff
    retried = [
        e
        for e in events(worker.log())
        if e.get("event") in ("store_unavailable", "stage_retry")
        and "unavailable" in e.get("error", "")
    ]
    assert retried, worker.log()[-3000:]
    store.close()
