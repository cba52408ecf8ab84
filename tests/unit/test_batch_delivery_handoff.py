"""Split deployments hand documents on in batches: parse workers to tag workers to index.

The real batch tasks run in this process against a SQLite store, their messages going to
Celery's in-memory transport (see test_batch_tasks.py).
"""

from __future__ import annotations

import pytest

from tasks.models import Stage, Status
from tests.unit.test_batch_delivery import bodies, received
from tests.unit.test_batch_tasks import store
from tests.unit.test_delivery_outcomes import published
from workers import pipeline
from workers.delivery import process
from workers.publish import send_batch

__all__ = ["published", "store"]


def consumes(monkeypatch: pytest.MonkeyPatch, *queues: str) -> None:
    """This process consumes only these queues, as `docflow worker --queues ...` does."""
    declared = pipeline.app.amqp.queues
    monkeypatch.setattr(declared, "_consume_from", {q: declared[q] for q in queues})


def run_batch(task: object, doc_ids: list[str], task_id: str) -> None:
    task.push_request(id=task_id, hostname="w1@host", retries=0, delivery_info={})  # type: ignore[attr-defined]
    try:
        task(doc_ids)  # type: ignore[operator]
    finally:
        task.pop_request()  # type: ignore[attr-defined]


def test_the_batch_tasks_of_every_stage_are_registered() -> None:
    assert {"docflow.parse_batch", "docflow.tag_batch", "docflow.index_batch"} <= set(
        pipeline.app.tasks
    )


def test_a_group_for_a_later_stage_is_one_batch_message_and_a_group_of_one_a_single(
    published,
) -> None:
    send_batch(["d1", "d2"], {}, stage=Stage.index)
    send_batch(["d3"], {"d3": "trace-3"}, stage=Stage.tag)
    send_batch(["d4", "d5"], {})  # the default stage stays parse
    assert [(m["task"], m["args"]) for m in published] == [
        ("docflow.index_batch", [["d1", "d2"]]),
        ("docflow.tag", ["d3"]),
        ("docflow.parse_batch", [["d4", "d5"]]),
    ]
    assert published[1]["trace_id"] == "trace-3"


def test_parse_then_tag_then_index_workers_hand_each_batch_on_as_one_message(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = received(store, *bodies(3))
    # Given a parse worker: the parsed batch goes on as one tag batch
    consumes(monkeypatch, "ingest", "parse")
    run_batch(pipeline.parse_batch, ids, "p-1")
    assert [(m["task"], m["args"]) for m in published] == [("docflow.tag_batch", [ids])]
    # When a tag-only worker takes it: the tagged batch goes on as one index batch
    published.clear()
    consumes(monkeypatch, "tag")
    run_batch(pipeline.tag_batch, ids, "t-1")
    assert [store.get_document(d).status for d in ids] == [Status.tagged] * 3
    assert [(m["task"], m["args"]) for m in published] == [("docflow.index_batch", [ids])]
    # Then an index worker indexes all three, with nothing more to send
    published.clear()
    consumes(monkeypatch, "index")
    run_batch(pipeline.index_batch, ids, "i-1")
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * 3
    assert published == []
    for doc_id in ids:
        runs = {r.stage: r.batch_id for r in store.stage_runs(doc_id)}
        assert (runs["parse"], runs["tag"], runs["index"]) == ("p-1", "t-1", "i-1")


def test_a_tag_and_index_worker_indexes_a_tag_batch_inline(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = received(store, *bodies(2))
    consumes(monkeypatch, "parse")
    run_batch(pipeline.parse_batch, ids, "p-2")
    published.clear()
    consumes(monkeypatch, "tag", "index")
    run_batch(pipeline.tag_batch, ids, "t-2")
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * 2
    assert published == []


def test_a_single_parse_message_on_a_parse_only_worker_hands_on_a_single_tag_message(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    (doc_id,) = received(store, *bodies(1))
    consumes(monkeypatch, "ingest", "parse")
    task = pipeline.parse
    task.push_request(id="s-1", hostname="w1@host", retries=0, delivery_info={})
    try:
        process(task, Stage.parse, doc_id)
    finally:
        task.pop_request()
    assert store.get_document(doc_id).status is Status.parsed
    assert [(m["task"], m["args"]) for m in published] == [("docflow.tag", [doc_id])]
