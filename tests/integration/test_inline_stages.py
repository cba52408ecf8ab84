"""Inline stages: a worker that consumes the next stage's queue runs it in the same task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tasks.models import Stage, StageRun
from tasks.store import open_store
from tests.conftest import docflow, docflow_env
from workers.batch_delivery import member_task_id
from workers.delivery import inline_task_id

pytestmark = pytest.mark.integration

CITIES = ("Lagos", "Quito", "Hanoi", "Tunis", "Accra")


def write_batch(folder: Path) -> None:
    folder.mkdir()
    for i, city in enumerate(CITIES):
        (folder / f"story-{i}.txt").write_text(
            f"Talks in {city}\n\n{city.upper()}\n\nOfficials in {city} said on Monday that "
            f"talks with the United Nations had ended. Minister Ana Silva thanked the World "
            f"Bank for its help with round {i}.\n",
            encoding="utf-8",
        )


def messages_sent(url: str) -> int:
    """Messages put on the queues so far (Celery's Redis transport LPUSHes each one)."""
    stats = redis.Redis.from_url(url).info("commandstats")
    return int(stats.get("cmdstat_lpush", {}).get("calls", 0))


def run_batch(env: dict[str, str], folder: Path) -> dict:
    result = docflow(env, "run", str(folder), "--no-workers", "--json", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def parse_messages(runs: dict[str, dict[str, StageRun]]) -> int:
    """The parse messages the intake published: one per batch (its id), a lone one alone."""
    return len({r["parse"].batch_id or r["parse"].task_id for r in runs.values()})


def inline_id(doc_id: str, parse: StageRun, stage: Stage) -> str:
    """The task id a stage run inline after `parse` gets: derived from its batch message
    and document inside a batch, from the parse message alone otherwise."""
    if parse.batch_id:
        return member_task_id(parse.batch_id, doc_id, stage)
    return inline_task_id(str(parse.task_id), stage)


def stage_runs(data_dir: Path) -> dict[str, dict[str, StageRun]]:
    """Each document's runs, by stage, by document id."""
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    try:
        return {
            doc.id: {run.stage: run for run in store.stage_runs(doc.id)}
            for doc in store.iter_documents()
        }
    finally:
        store.close()


def test_a_worker_on_every_queue_runs_each_batch_of_documents_in_one_message(
    private_redis, data_dir, tmp_path, start_worker
) -> None:
    # Given one worker that consumes every stage's queue
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    worker = start_worker(env, name="solo")
    assert worker.ready(), worker.log()
    write_batch(tmp_path / "batch")
    before = messages_sent(private_redis.url)
    # When a batch goes through
    assert run_batch(env, tmp_path / "batch")["indexed"] == len(CITIES)
    # Then the intake sent the documents in batch messages, and nothing else went through
    # Redis: tag and index ran inline
    runs_by_doc = stage_runs(data_dir)
    batches = parse_messages(runs_by_doc)
    assert messages_sent(private_redis.url) - before == batches < len(CITIES)
    # and every stage is still recorded on its own, under its own task id
    for doc_id, runs in runs_by_doc.items():
        parse, tag, index = runs["parse"], runs["tag"], runs["index"]
        assert parse.worker and parse.worker.startswith("solo@")
        assert parse.worker == tag.worker == index.worker
        assert tag.task_id == inline_id(doc_id, parse, Stage.tag)
        assert index.task_id == inline_id(doc_id, parse, Stage.index)
        assert all(r.attempts == 1 and r.error is None for r in runs.values())
    # and each batch logged as the one task it was, naming its documents
    log = worker.log()
    finished = [json.loads(line) for line in log.splitlines() if '"task_finished"' in line]
    batch_ids = {r["parse"].batch_id for r in runs_by_doc.values() if r["parse"].batch_id}
    assert batch_ids
    assert {r["task_id"] for r in finished if r["stage"] == "parse_batch"} == batch_ids
    assert all(doc_id in log for doc_id in runs_by_doc)


def test_with_inline_stages_off_every_stage_gets_a_message_of_its_own(
    private_redis, data_dir, tmp_path, start_worker
) -> None:
    # Given the same worker with DOCFLOW_INLINE_STAGES=false
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0", DOCFLOW_INLINE_STAGES="false"
    )
    worker = start_worker(env, name="staged")
    assert worker.ready(), worker.log()
    write_batch(tmp_path / "batch")
    before = messages_sent(private_redis.url)
    # When a batch goes through
    assert run_batch(env, tmp_path / "batch")["indexed"] == len(CITIES)
    # Then parse took the intake's batch messages, and each batch went on to tag and then
    # to index as one message each (a batch is handed on whole), each run with its own
    # task id
    runs_by_doc = stage_runs(data_dir)
    batches = parse_messages(runs_by_doc)
    assert messages_sent(private_redis.url) - before == 3 * batches
    assert batches < len(CITIES)
    for doc_id, runs in runs_by_doc.items():
        ids = {run.task_id for run in runs.values() if run.stage != "ingest"}
        assert len(ids) == 3
        assert runs["tag"].task_id != inline_id(doc_id, runs["parse"], Stage.tag)


def test_split_workers_hand_each_stage_to_the_worker_that_consumes_its_queue(
    private_redis, data_dir, tmp_path, start_worker
) -> None:
    # Given a light worker on parse and an NER worker on tag and index
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    light = start_worker(env, name="light", queues="ingest,parse")
    heavy = start_worker(env, name="heavy", queues="tag,index")
    assert light.ready() and heavy.ready(), light.log() + heavy.log()
    write_batch(tmp_path / "batch")
    before = messages_sent(private_redis.url)
    # When a batch goes through
    assert run_batch(env, tmp_path / "batch")["indexed"] == len(CITIES)
    # Then parse ran on the light worker (the intake's batch messages), which handed tag
    # over by one message per batch; the heavy worker ran index straight after tag
    runs_by_doc = stage_runs(data_dir)
    batches = parse_messages(runs_by_doc)
    assert messages_sent(private_redis.url) - before == 2 * batches
    assert batches < len(CITIES)
    for doc_id, runs in runs_by_doc.items():
        assert str(runs["parse"].worker).startswith("light@")
        assert str(runs["tag"].worker).startswith("heavy@")
        assert str(runs["index"].worker).startswith("heavy@")
        assert runs["tag"].batch_size == runs["parse"].batch_size  # handed on whole
        assert runs["index"].task_id == inline_id(doc_id, runs["tag"], Stage.index)
