"""What a batch message becomes for Celery: each document settled alone, as a single would be.

The real `docflow.parse_batch` task runs in this process against a SQLite store, with
its messages going to Celery's in-memory transport (see test_delivery_outcomes.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasks.models import Stage, Status
from tasks.store import Store
from tests.unit.test_batch_delivery import WorkerDied, bodies, received
from tests.unit.test_delivery_outcomes import published
from workers import pipeline, resources
from workers.batch_delivery import BatchCall, deliver_batch, member_task_id
from workers.batch_tasks import process_batch
from workers.settings import get_settings

__all__ = ["published"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The store this process's tasks use (`workers.resources.get_store`)."""
    monkeypatch.setenv("DOCFLOW_STORE_URL", f"sqlite:///{tmp_path / 'docflow.db'}")
    get_settings.cache_clear()
    resources.reset()
    yield resources.get_store()
    resources.reset()
    get_settings.cache_clear()


def deliver(doc_ids: list[str], task_id: str, **request: Any) -> None:
    """Run the real batch task's delivery, as a worker does for a message with this id."""
    task = pipeline.parse_batch
    task.push_request(**{"id": task_id, "hostname": "w1@host", "retries": 0, **request})
    try:
        process_batch(task, doc_ids)
    finally:
        task.pop_request()


def _dies() -> Any:
    raise WorkerDied()


def test_a_redelivered_lost_batch_becomes_one_single_retry_message_per_document(
    store, published
) -> None:
    # Given a batch whose worker died in the model call (parse committed, its tag leases
    # stay unfinished)
    ids = received(store, *bodies(3))
    with pytest.raises(WorkerDied):
        deliver_batch(store, _dies, BatchCall("batch-9", "w1@host", tuple(ids)))
    # When the batch message comes back redelivered
    deliver(ids, "batch-9", delivery_info={"redelivered": True})
    # Then each document goes on alone: a docflow.tag message under its own task id,
    # counting one crash and one retry, carrying its trace id
    sent = {m["args"][0]: m for m in published}
    assert sorted(sent) == sorted(ids)
    for doc_id, message in sent.items():
        assert message["task"] == "docflow.tag"
        assert message["id"] == member_task_id("batch-9", doc_id, Stage.tag)
        assert message["kwargs"] == {"crashes": 1} and message["retries"] == 1
        assert message["trace_id"] == store.get_document(doc_id).trace_id


def test_the_documents_done_with_the_stages_this_worker_runs_go_on_as_one_batch(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker that consumes only the parse queue
    queues = pipeline.app.amqp.queues
    monkeypatch.setattr(queues, "_consume_from", {"parse": queues["parse"]})
    ids = received(store, *bodies(2))
    # When it runs a batch
    deliver(ids, "batch-10", delivery_info={})
    # Then both are parsed and sent on to tag together, in one tag batch message
    assert [store.get_document(d).status for d in ids] == [Status.parsed] * 2
    assert [(m["task"], m["args"]) for m in published] == [("docflow.tag_batch", [ids])]
