"""A worker frozen past its lease wakes up after another worker indexed its document.

Real `celery worker` processes on a private redis-server and a SQLite store; the frozen
worker's model call is made slow by the test-only poison package (tests/fixtures/poison).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tasks.models import Status
from tests.conftest import docflow_env, wait_until
from tests.fixtures.cluster import (
    article,
    docflow_background,
    events,
    node,
    poison_env,
    sqlite_store,
    start_workers,
    stop,
)

pytestmark = pytest.mark.integration

#: soft limit short, hard limit longer than the freeze: on SIGCONT the soft limit is
#: raised inside the model call, as in the field (hard limit 180 s, frozen for minutes)
LIMITS = {
    "DOCFLOW_TASK_SOFT_TIME_LIMIT_S": "4",
    "DOCFLOW_TASK_TIME_LIMIT_S": "90",
    "DOCFLOW_STUCK_AFTER_S": "3",
    "DOCFLOW_SWEEP_INTERVAL_S": "2",
}


def tag_run(db: Path) -> tuple[str, str, float | None] | None:
    """(worker, task id, duration) of the document's current tag run, if one started."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        row = conn.execute(
            "SELECT worker, task_id, duration_ms FROM stage_runs WHERE stage = 'tag'"
        ).fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None
    finally:
        conn.close()
    return (row[0], row[1], row[2]) if row else None


def test_a_frozen_worker_that_wakes_after_its_document_was_indexed_elsewhere_changes_nothing(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    """Given worker alpha tagging a document (its model call is slow), soft limit 4 s.

    When alpha's whole process group is frozen (SIGSTOP) past its lease, the recovery
    sweep of a second worker, beta, resends the document and beta indexes it, and then
    alpha is woken (SIGCONT) so its soft time limit is raised inside the model call,
    Then the document stays indexed, its tag stage is beta's run with no error, and
    alpha logs one `stage_superseded` line naming beta's run, and fails nothing.
    """
    poisoned = poison_env(
        data_dir,
        private_redis.url,
        **LIMITS,
    )
    (alpha,) = start_workers(start_worker, poisoned, private_redis.url, "alpha")
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "frozen.txt").write_text(article(1, "frozen", "DOCFLOW-POISON-MODELSLOW"))
    run = docflow_background(
        docflow_env(data_dir, private_redis.url, **LIMITS),
        tmp_path / "run.log",
        "run",
        str(folder),
        "--no-workers",
        "--json",
    )
    db = data_dir / "docflow.db"
    frozen = False
    try:
        assert wait_until(
            lambda: (tag_run(db) or ("", "", 0))[0] == node("alpha"), timeout=60, every=0.1
        ), alpha.log()[-3000:]
        _, alpha_task, _ = tag_run(db) or ("", "", None)
        time.sleep(0.5)  # inside the (slow) model call now
        # When alpha's whole process group is frozen past its lease
        os.killpg(alpha.proc.pid, signal.SIGSTOP)
        frozen = True
        (beta,) = start_workers(
            start_worker,
            docflow_env(data_dir, private_redis.url, **LIMITS),
            private_redis.url,
            "beta",
        )
        store = sqlite_store(data_dir)
        (doc,) = list(store.iter_documents())
        # the sweep resends it once alpha's heartbeat lapses (20 s); beta indexes it
        assert wait_until(
            lambda: store.get_document(doc.id).status is Status.indexed, timeout=60, every=0.5
        ), beta.log()[-3000:]
        beta_run = tag_run(db)
        assert beta_run is not None and beta_run[0] == node("beta"), beta_run
        # And alpha wakes up: its soft time limit is raised inside the model call
        os.killpg(alpha.proc.pid, signal.SIGCONT)
        frozen = False

        def superseded() -> list[dict]:
            return [e for e in events(alpha.log()) if e.get("event") == "stage_superseded"]

        wait_until(lambda: bool(superseded()), timeout=30, every=0.3)
        time.sleep(1.0)  # anything alpha would still write lands by now
    finally:
        if frozen:
            os.killpg(alpha.proc.pid, signal.SIGCONT)
        stop(run)
    # Then the document stays indexed, and its tag stage is beta's run, without an error
    after = store.get_document(doc.id)
    assert (after.status, after.last_error) == (Status.indexed, None), after.last_error
    runs = {r.stage: r for r in store.stage_runs(doc.id)}
    assert runs["tag"].worker == node("beta") and runs["tag"].error is None, runs["tag"]
    assert runs["tag"].task_id == beta_run[1] != alpha_task
    # And alpha logged one line saying it lost to beta's run, and failed nothing
    lines = superseded()
    assert len(lines) == 1, alpha.log()[-3000:]
    (line,) = lines
    assert (line["doc_id"], line["task_id"], line["owner_task_id"]) == (
        doc.id,
        alpha_task,
        beta_run[1],
    ), line
    assert not [e for e in events(alpha.log()) if e.get("event") == "document_failed"]
    assert alpha.proc.poll() is None
