"""Batches: several documents in one task, one model call, every guarantee kept per document.

The documents are recorded first, as every intake does, then published as one
`docflow.parse_batch` message (`workers.publish.send_batch`) to real workers on a private
Redis. (Publishers do not group bursts into batches yet: that is the next step.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kombu import Connection

from tasks.ingest import ingest_file
from tasks.models import Stage
from tests.conftest import docflow_env
from tests.fixtures.cluster import (
    article,
    poison_env,
    sqlite_store,
    start_workers,
    wait_final,
)
from workers.batch_delivery import member_task_id
from workers.publish import send_batch

pytestmark = pytest.mark.integration


def record(data_dir: Path, texts: list[str]) -> tuple[list[str], dict[str, str]]:
    """Record each text as a received document (as intake does); ids and trace ids."""
    store = sqlite_store(data_dir)
    ids: list[str] = []
    traces: dict[str, str] = {}
    try:
        for i, text in enumerate(texts):
            result = ingest_file(store, f"b-{i:03d}.txt", text.encode(), max_bytes=1 << 20)
            ids += result.new_ids
            traces |= result.traces
    finally:
        store.close()
    return ids, traces


def publish(url: str, ids: list[str], traces: dict[str, str]) -> None:
    with Connection(url) as connection:
        send_batch(ids, traces, connection=connection)


def test_a_batch_message_indexes_every_document_with_one_model_call(
    private_redis, data_dir, start_worker
) -> None:
    # Given one worker on every queue, and 8 recorded documents
    env = docflow_env(data_dir, private_redis.url, DOCFLOW_SWEEP_INTERVAL_S="0")
    (worker,) = start_workers(start_worker, env, private_redis.url, "solo")
    ids, traces = record(data_dir, [article(i, "burst") for i in range(8)])
    # When they are published as one batch message
    publish(private_redis.url, ids, traces)
    # Then every one is indexed, each with its own runs under its own task id
    store = sqlite_store(data_dir)
    assert wait_final(store, 8, timeout=90)["indexed"] == 8
    for doc_id in ids:
        runs = {r.stage: r for r in store.stage_runs(doc_id)}
        for stage in (Stage.parse, Stage.tag, Stage.index):
            assert runs[stage.value].task_id != member_task_id("x", doc_id, stage)
        stages = [runs[s] for s in ("parse", "tag", "index")]
        assert len({r.task_id for r in stages}) == 3
        assert all(r.attempts == 1 and r.error is None for r in stages)
    # and the model was called once for the batch
    lines = [json.loads(x) for x in worker.log().splitlines() if '"batch_tagged"' in x]
    assert [(r["docs"]) for r in lines] == [8]


def test_a_poison_document_in_a_batch_of_32_costs_its_mates_one_retry_at_most(
    private_redis, data_dir, start_worker
) -> None:
    # Given a worker and (test only) a document that kills the worker process at parse,
    # recorded with 31 good ones
    env = poison_env(
        data_dir,
        private_redis.url,
        DOCFLOW_SWEEP_INTERVAL_S="0",
    )
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha")
    texts = [article(i, "mate") for i in range(31)]
    texts.insert(13, article(99, "poison", "DOCFLOW-POISON-CRASH"))
    ids, traces = record(data_dir, texts)
    poison = ids[13]
    # When the 32 go as one batch message and the poison kills the worker process
    publish(private_redis.url, ids, traces)
    # Then the redelivered batch is split: the 31 are indexed, the poison fails alone
    store = sqlite_store(data_dir)
    final = wait_final(store, 32, timeout=150)
    assert (final.get("indexed"), final.get("failed")) == (31, 1), final
    doc = store.get_document(poison)
    assert "gave up after 3 tries" in (doc.last_error or "")
    assert "the worker process running it died" in (doc.last_error or "")
    for doc_id in ids:
        if doc_id == poison:
            continue
        parse = {r.stage: r for r in store.stage_runs(doc_id)}["parse"]
        assert parse.attempts <= 2  # one retry at most
    assert {r.stage: r for r in store.stage_runs(poison)}["parse"].attempts == 3
    # and the batch ran once, was split once, and never ran as a whole again
    log = worker.log()
    split = [json.loads(x) for x in log.splitlines() if '"batch_split"' in x]
    assert [(r["lost"], r["size"]) for r in split] == [(32, 32)]


def test_a_document_that_hangs_its_batch_is_isolated_and_fails_at_its_own_time_limit(
    private_redis, data_dir, start_worker
) -> None:
    # Given short time limits (a single document: soft 2 s, hard 6 s; a batch of 4 gets
    # more) and (test only) a document that hangs its worker process past any limit
    env = poison_env(
        data_dir,
        private_redis.url,
        DOCFLOW_TASK_SOFT_TIME_LIMIT_S="2",
        DOCFLOW_TASK_TIME_LIMIT_S="6",
        DOCFLOW_SWEEP_INTERVAL_S="0",
    )
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha")
    texts = [article(i, "mate") for i in range(3)] + [article(9, "hang", "DOCFLOW-POISON-HANG")]
    ids, traces = record(data_dir, texts)
    # When the 4 go as one batch message
    publish(private_redis.url, ids, traces)
    # Then the batch is killed at its (scaled) hard limit, split, its mates indexed after
    # one retry, and the hanging document failed alone after its own crash budget
    store = sqlite_store(data_dir)
    final = wait_final(store, 4, timeout=120)
    assert (final.get("indexed"), final.get("failed")) == (3, 1), worker.log()[-6000:]
    doc = store.get_document(ids[3])
    assert "killed at the hard time limit of 6 s" in (doc.last_error or ""), doc.last_error
    assert "gave up after 3 tries" in (doc.last_error or "")
    for doc_id in ids[:3]:
        assert {r.stage: r for r in store.stage_runs(doc_id)}["parse"].attempts == 2
    split = [json.loads(x) for x in worker.log().splitlines() if '"batch_split"' in x]
    assert len(split) == 1 and "hard time limit of 10.5 s" in split[0]["reason"], split
