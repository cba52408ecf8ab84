"""Structured logs and tracing on real workers: one trace_id per document, through retries."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

import pytest

from tasks.models import RawArticle, Stage
from tasks.store import StageResult, open_store
from tests.conftest import SEED, docflow, docflow_env, wait_until
from tests.integration.observing import json_lines

pytestmark = pytest.mark.integration

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
BRUSSELS = (
    "# EU ministers meet in Brussels\n\nBRUSSELS\n\nForeign ministers of the European "
    "Union met in Brussels on Monday to discuss sanctions on Russia, officials said.\n"
)


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / SEED.name).write_bytes(SEED.read_bytes())
    (folder / "brussels.md").write_text(BRUSSELS, encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


def test_every_log_event_of_a_document_carries_its_trace_id_through_the_whole_chain(
    private_redis, data_dir, articles, start_worker
) -> None:
    # Given a real worker (JSON logs) on a private Redis
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    worker = start_worker(env, name="tracer")
    assert worker.ready(), worker.log()
    # When files are ingested through the broker and processed
    sent = docflow(env, "ingest", str(articles), "--json")
    assert sent.returncode == 0, sent.stderr
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    assert wait_until(lambda: store.counts()["indexed"] == 2, timeout=45), worker.log()[-3000:]
    time.sleep(0.5)  # the last task_finished line
    records = json_lines(worker.log())

    # Then Celery's own records are JSON lines too, with the worker's node name
    ready = [r for r in records if r["event"].endswith(" ready.")]
    assert ready and ready[0]["logger"] == "celery.apps.worker"
    node = ready[0]["worker"]
    assert node.startswith("tracer@")
    # and every record of each document carries its trace_id from the store
    for doc in store.iter_documents():
        mine = [r for r in records if r.get("doc_id") == doc.id]
        assert mine, f"no log lines for {doc.id}"
        for record in mine:
            assert record["trace_id"] == doc.trace_id, record
            assert record["task_id"] and record["stage"] and record["worker"] == node, record
        # the header arrived at every stage: task_started is logged before the store is read
        started = {r["stage"]: r for r in mine if r["event"] == "task_started"}
        assert set(started) == {"parse", "tag", "index"}
        finished = [r for r in mine if r["event"] == "task_finished"]
        assert {r["stage"] for r in finished} == {"parse", "tag", "index"}
        assert all(r["state"] == "success" and r["duration_ms"] > 0 for r in finished)
    # and docflow's own event names are snake_case
    ours = [r for r in records if r.get("logger", "").startswith("docflow")]
    assert ours and all(SNAKE.match(r["event"]) for r in ours), [r["event"] for r in ours]
    # and neither article text nor the broker password appears anywhere in the log
    text = worker.log()
    assert "Foreign ministers of the European Union" not in text
    assert private_redis.password not in text


def test_trace_status_and_failed_read_the_journey_back_from_the_store(
    private_redis, data_dir, articles, start_worker
) -> None:
    # Given documents processed by a real worker, and one file that is rejected
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    worker = start_worker(env, name="journey")
    assert docflow(env, "ingest", str(articles)).returncode == 0
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    assert wait_until(lambda: store.counts()["indexed"] == 2, timeout=45), worker.log()[-3000:]
    doc = next(d for d in store.iter_documents() if d.source == "brussels.md")

    # When `docflow trace` is asked about it by id prefix
    result = docflow(env, "trace", doc.id[:8], "--json")
    # Then it lists every stage in order, with worker, start, duration and attempts
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["id"], data["trace_id"]) == (doc.id, doc.trace_id)
    assert [s["stage"] for s in data["stages"]] == ["ingest", "parse", "tag", "index"]
    for stage in data["stages"]:
        # (ingest ran in `docflow ingest` itself, on this host: it records, then sends ids)
        by = socket.gethostname() if stage["stage"] == "ingest" else "journey@"
        assert stage["worker"].startswith(by), stage
        assert stage["started"] and stage["duration_ms"] >= 0
        # (a busy store can cost a retry under load: attempts counts it, the error clears)
        assert stage["attempts"] >= 1 and stage["error"] is None, data
    table = docflow(env, "trace", doc.id)
    assert doc.trace_id in table.stdout and "index" in table.stdout

    # When `docflow status --json` runs against the live broker
    status = json.loads(docflow(env, "status", "--json").stdout)
    # Then it shows the counts, empty queues, the worker online and the pace
    assert status["documents"]["indexed"] == 2
    assert status["queues"] == {s.value: 0 for s in Stage}
    assert any(w.startswith("journey@") for w in status["workers"])
    assert status["broker"].startswith("up") and private_redis.password not in status["broker"]
    assert status["throughput_per_min"] == 2 and status["eta_s"] == 0

    # When `docflow failed --json` runs
    failed = json.loads(docflow(env, "failed", "--json").stdout)
    # Then the empty file is there with its reason
    assert [(f["source"], f["stage"]) for f in failed] == [("empty.txt", "ingest")]
    assert "empty" in failed[0]["error"] and failed[0]["at"]


def test_retries_of_a_task_keep_the_trace_id_from_the_message_header(
    private_redis, data_dir, tmp_path, start_worker
) -> None:
    # Given a document in a store, and a worker whose store is unreadable for now
    real = tmp_path / "real.db"
    store = open_store(f"sqlite:///{real}")
    raw = RawArticle(
        source="geneva.txt",
        format="text",
        content="Talks resumed in Geneva on Monday, officials said.",
    )
    ingest_run = StageResult(
        stage=Stage.ingest, worker="test", task_id=None, started=time.time(), duration_ms=1.0
    )
    doc_id, _ = store.add_document(raw, "ab" * 32, "trace-retry-42", ingest_run)
    store.close()
    broken = tmp_path / "store.db"
    broken.write_bytes(b"not a database " * 100)
    env = docflow_env(
        data_dir,
        private_redis.url,
        DOCFLOW_SWEEP_INTERVAL_S="0",
        DOCFLOW_STORE_URL=f"sqlite:///{broken}",
        DOCFLOW_RETRY_BACKOFF_MAX_S="0.3",
    )
    worker = start_worker(env, queues="parse", name="retrier")

    # When a parse message with a trace_id header is sent, and the store comes back
    # after a few retries
    from workers.app import create_app
    from workers.settings import Settings

    sender = create_app(Settings(broker_url=private_redis.url, data_dir=data_dir))
    try:
        sender.send_task("docflow.parse", args=[doc_id], headers={"trace_id": "trace-retry-42"})
    finally:
        sender.close()
    assert wait_until(lambda: worker.log().count('"store_unavailable"') >= 2, timeout=30), (
        worker.log()[-3000:]
    )
    os.replace(real, broken)
    assert wait_until(lambda: '"parse_done"' in worker.log(), timeout=30), worker.log()[-3000:]
    time.sleep(0.3)

    # Then every attempt started with the trace_id from the header, and so did every line
    records = [r for r in json_lines(worker.log()) if r.get("doc_id") == doc_id]
    attempts = [r["attempt"] for r in records if r["event"] == "task_started"]
    assert len(attempts) >= 3 and attempts == list(range(1, len(attempts) + 1))
    assert all(r["trace_id"] == "trace-retry-42" for r in records)
    states = [r["state"] for r in records if r["event"] == "task_finished"]
    assert states[-1] == "success" and set(states[:-1]) == {"retry"}
    done = next(r for r in records if r["event"] == "parse_done")
    assert done["duration_ms"] > 0
