"""A batch when its write transaction crashes or the store stays down: nothing is lost.

`deliver_batch` and the real batch task run in this process against a SQLite store (the
one `workers.resources.get_store` gives), messages going to Celery's in-memory transport.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.exceptions import Retry as CeleryRetry

from tasks.errors import StoreUnavailable
from tasks.models import RawArticle, Stage, Status
from tasks.store import StageResult, Store
from tests.unit.test_batch_delivery import bodies, received, tagger_of
from tests.unit.test_batch_tasks import deliver, store
from tests.unit.test_delivery_outcomes import published
from tests.unit.tripwire import tripwired_tagger
from workers import pipeline
from workers.batch_delivery import BatchCall, BatchStoreDown, deliver_batch, member_task_id
from workers.budgets import STORE_DOWN_RETRIES
from workers.delivery import process
from workers.stage_runs import Done, Failed, Retry

__all__ = ["published", "store"]


@pytest.fixture(scope="module")
def real_tagger() -> Any:
    return tripwired_tagger()


def crash_on(store: Store, monkeypatch: pytest.MonkeyPatch, doc_id: str, error: Exception) -> None:
    """`save_tags` raises `error` for this one document (a bug in its write, say)."""
    real = store.save_tags

    def save_tags(doc: str, *args: Any) -> None:
        if doc == doc_id:
            raise error
        real(doc, *args)

    monkeypatch.setattr(store, "save_tags", save_tags)


def test_a_crash_inside_the_write_transaction_counts_one_crash_per_document(
    store, real_tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of 4 whose write transaction crashes on one document's tags, and a
    # fifth document that cannot be parsed
    ids = received(store, *bodies(4))
    raw = RawArticle(source="bad.json", format="json", content="{not json")
    bad = store.add_document(raw, "f" * 64, "trace-bad", _ingest_run())[0]
    crash_on(store, monkeypatch, ids[2], RuntimeError("a bug in one document's write"))
    # When the batch runs
    ended = deliver_batch(store, tagger_of(real_tagger), BatchCall("b-1", "w@h", (*ids, bad)))
    # Then nothing of the crashed transaction (the tag phase's: parse committed before
    # the model call) is written: each document counts one crash on its tag run and goes
    # on alone, under its own task id
    for doc_id in ids:
        end = ended[doc_id]
        assert isinstance(end.outcome, Retry) and end.outcome.crashes == 1
        assert end.call.task_id == member_task_id("b-1", doc_id, Stage.tag)
        doc = store.get_document(doc_id)
        assert doc.status is Status.parsed and not doc.mentions
        assert "a bug in one document's write" in (doc.last_error or "")
    # and the document with its own permanent error still fails alone
    assert isinstance(ended[bad].outcome, Failed)
    assert store.get_document(bad).status is Status.failed


def test_the_store_going_down_inside_the_writes_retries_the_batch_with_nothing_written(
    store, real_tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = received(store, *bodies(3))
    crash_on(store, monkeypatch, ids[1], StoreUnavailable("database is locked"))
    with pytest.raises(BatchStoreDown):
        deliver_batch(store, tagger_of(real_tagger), BatchCall("b-2", "w@h", tuple(ids)))
    # (the tag phase's writes: parse was committed before the model call)
    assert [store.get_document(d).status for d in ids] == [Status.parsed] * 3
    assert all(not store.get_document(d).mentions for d in ids)


def test_the_retry_after_an_outage_in_the_tag_writes_carries_the_parsed_documents_on(
    store, real_tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch whose tag writes met the store down (parse committed before them)
    ids = received(store, *bodies(3))
    with monkeypatch.context() as patch:
        crash_on(store, patch, ids[1], StoreUnavailable("database is locked"))
        with pytest.raises(BatchStoreDown):
            deliver_batch(store, tagger_of(real_tagger), BatchCall("b-3", "w@h", tuple(ids)))
    assert [store.get_document(d).status for d in ids] == [Status.parsed] * 3
    # When the batch message is retried (not redelivered) with the store back
    retry = BatchCall("b-3", "w@h", tuple(ids), retried=True)
    ended = deliver_batch(store, tagger_of(real_tagger), retry)
    # Then the documents it parsed go on: tagged and indexed, none left behind `parsed`
    assert all(isinstance(ended[d].outcome, Done) for d in ids)
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * 3


def store_down(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(*_: Any) -> Any:
        raise StoreUnavailable("the store does not answer")

    monkeypatch.setattr(store, "get_document", unavailable)


def test_a_store_outage_within_the_budget_retries_the_batch_message_as_a_whole(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = received(store, *bodies(3))
    store_down(store, monkeypatch)
    with pytest.raises(CeleryRetry):
        deliver(
            ids,
            "b-3",
            delivery_info={},
            retries=STORE_DOWN_RETRIES - 1,
            called_directly=False,
            args=[ids],
            kwargs={},
        )
    assert [(m["task"], m["id"], m["args"]) for m in published] == [
        ("docflow.parse_batch", "b-3", [ids])
    ]


def test_a_store_outage_past_the_budget_splits_the_batch_and_loses_nothing(
    store, published, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch whose store stayed down through all its retries
    ids = received(store, *bodies(3))
    with monkeypatch.context() as outage:
        store_down(store, outage)
        # When it is delivered once more and the store is still down
        deliver(ids, "b-4", delivery_info={}, retries=STORE_DOWN_RETRIES)
    # Then each document goes on in a single parse message of its own
    assert sorted((m["task"], m["args"][0]) for m in published) == sorted(
        ("docflow.parse", d) for d in ids
    )
    # and once the store is back, each single message parses its document (on a worker
    # that takes parse messages only)
    queues = pipeline.app.amqp.queues
    monkeypatch.setattr(queues, "_consume_from", {"parse": queues["parse"]})
    for message in list(published):
        task = pipeline.parse
        task.push_request(id=message["id"], hostname="w1@host", retries=0, delivery_info={})
        try:
            process(task, Stage.parse, message["args"][0])
        finally:
            task.pop_request()
    assert [store.get_document(d).status for d in ids] == [Status.parsed] * 3


def _ingest_run() -> StageResult:
    return StageResult(
        stage=Stage.ingest, worker="test", task_id="intake", started=time.time(), duration_ms=1.0
    )
