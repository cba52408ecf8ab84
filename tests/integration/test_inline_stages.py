"""Inline stages: a worker that consumes the next stage's queue runs it in the same task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from tasks.models import Stage, StageRun
from tasks.store import open_store
from tests.conftest import docflow, docflow_env
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


def stage_runs(data_dir: Path) -> list[dict[str, StageRun]]:
    """Each document's runs, by stage."""
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    try:
        return [
            {run.stage: run for run in store.stage_runs(doc.id)} for doc in store.iter_documents()
        ]
    finally:
        store.close()


def test_a_worker_on_every_queue_runs_each_document_in_one_message(
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
    # Then one message per document went through Redis: tag and index ran inline
    assert messages_sent(private_redis.url) - before == len(CITIES)
    # and every stage is still recorded on its own, under its own task id
    for runs in stage_runs(data_dir):
        parse, tag, index = runs["parse"], runs["tag"], runs["index"]
        assert parse.worker and parse.worker.startswith("solo@")
        assert parse.worker == tag.worker == index.worker
        assert tag.task_id == inline_task_id(parse.task_id, Stage.tag)
        assert index.task_id == inline_task_id(parse.task_id, Stage.index)
        assert all(r.attempts == 1 and r.error is None for r in runs.values())
    # and logged as the tasks they would have been
    log = worker.log()
    inline = [json.loads(line) for line in log.splitlines() if '"inline": true' in line]
    finished = [r for r in inline if r["event"] == "task_finished"]
    assert sorted(r["stage"] for r in finished) == sorted(["tag", "index"] * len(CITIES))


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
    # Then each document took three messages, one per stage, each with its own task id
    assert messages_sent(private_redis.url) - before == 3 * len(CITIES)
    for runs in stage_runs(data_dir):
        ids = {run.task_id for run in runs.values() if run.stage != "ingest"}
        assert len(ids) == 3
        assert runs["tag"].task_id != inline_task_id(runs["parse"].task_id, Stage.tag)


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
    # Then parse ran on the light worker, which handed tag over by a message; the heavy
    # worker ran index straight after tag: two messages per document
    assert messages_sent(private_redis.url) - before == 2 * len(CITIES)
    for runs in stage_runs(data_dir):
        assert str(runs["parse"].worker).startswith("light@")
        assert str(runs["tag"].worker).startswith("heavy@")
        assert str(runs["index"].worker).startswith("heavy@")
        assert runs["index"].task_id == inline_task_id(runs["tag"].task_id, Stage.index)
    assert "stage_handed_off" in light.log()
