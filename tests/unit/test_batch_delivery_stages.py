"""Batches that start at tag or index: what split deployments (`--queues tag,index`) run.

`deliver_batch` on a real store (SQLite, and PostgreSQL when it is reachable) with the
real spaCy tagger (tripwired where a text must break the model); no broker.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest

from tasks.models import Stage, Status
from tasks.search.request import SearchRequest
from tasks.store import Store
from tests.unit.test_batch_delivery import (
    CountingTagger,
    WorkerDied,
    bodies,
    received,
    tagger_of,
)
from tests.unit.test_store import store
from tests.unit.tripwire import tripwired_tagger
from workers.batch_delivery import BatchCall, deliver_batch, member_task_id
from workers.stage_runs import Done, Failed, Retry, Skipped

__all__ = ["store"]


@pytest.fixture(scope="module")
def real_tagger() -> Any:
    return tripwired_tagger()


def parsed(store: Store, *texts: str) -> list[str]:
    """Record each text and parse it, as a parse-only worker's batch leaves it."""
    ids = received(store, *texts)
    deliver_batch(
        store, tagger_of(None), BatchCall("parse-1", "p@host", tuple(ids), stages=(Stage.parse,))
    )
    assert [store.get_document(d).status for d in ids] == [Status.parsed] * len(ids)
    return ids


def tag_batch(ids: list[str], *stages: Stage, **kw: Any) -> BatchCall:
    return BatchCall("tag-1", "t@host", tuple(ids), stages=stages or (Stage.tag, Stage.index), **kw)


@pytest.fixture
def transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The documents of every `store.batch` transaction opened meanwhile."""
    opened: list[list[str]] = []
    real = store.batch

    def counting(doc_ids: Any) -> AbstractContextManager[Any]:
        opened.append(sorted(doc_ids))
        return real(doc_ids)

    monkeypatch.setattr(store, "batch", counting)
    return opened


def test_a_tag_batch_tags_with_one_model_call_and_indexes_inline(store, real_tagger) -> None:
    ids = parsed(store, *bodies(6))
    counting = CountingTagger(real_tagger)
    ended = deliver_batch(store, tagger_of(counting), tag_batch(ids))
    assert counting.batches == [6]
    assert all(isinstance(e.outcome, Done) for e in ended.values())
    for doc_id in ids:
        doc = store.get_document(doc_id)
        assert doc.status is Status.indexed
        assert {m.text for m in doc.mentions} >= {"Hakan Fidan", "Marco Rubio"}
        runs = {r.stage: r for r in store.stage_runs(doc_id)}
        for stage in (Stage.tag, Stage.index):
            run = runs[stage.value]
            assert run.task_id == member_task_id("tag-1", doc_id, stage)
            assert (run.batch_id, run.batch_size, run.error) == ("tag-1", 6, None)
        assert runs["parse"].batch_id == "parse-1"  # each stage names the batch it ran in
    assert store.search_page(SearchRequest(q="Fidan", per_page=20)).total == 6


def test_a_tag_only_worker_leaves_each_document_tagged_for_the_index_workers(
    store, real_tagger
) -> None:
    ids = parsed(store, *bodies(3))
    ended = deliver_batch(store, tagger_of(real_tagger), tag_batch(ids, Stage.tag))
    for doc_id in ids:
        outcome = ended[doc_id].outcome
        assert isinstance(outcome, Done) and outcome.doc.status is Status.tagged
        assert store.get_document(doc_id).status is Status.tagged
        assert not store.search_page(SearchRequest(q="Fidan", per_page=20)).hits


def test_an_index_batch_writes_every_document_in_one_transaction(
    store, real_tagger, transactions
) -> None:
    ids = parsed(store, *bodies(5))
    deliver_batch(store, tagger_of(real_tagger), tag_batch(ids, Stage.tag))
    transactions.clear()
    counting = CountingTagger(real_tagger)
    index = BatchCall("index-1", "i@host", tuple(ids), stages=(Stage.index,))
    ended = deliver_batch(store, tagger_of(counting), index)
    assert counting.batches == []  # no model for index
    assert all(isinstance(e.outcome, Done) for e in ended.values())
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * 5
    # one transaction takes the leases, one holds every index write
    assert transactions == [sorted(ids), sorted(ids)]
    run = {r.stage: r for r in store.stage_runs(ids[0])}["index"]
    assert (run.task_id, run.batch_size) == (member_task_id("index-1", ids[0], Stage.index), 5)


def test_a_tag_batch_skips_alone_each_document_not_waiting_for_tag(store, real_tagger) -> None:
    waiting = parsed(store, *bodies(2))
    early = received(store, "A document nobody parsed yet, from Ankara.")
    ended = deliver_batch(store, tagger_of(real_tagger), tag_batch([*waiting, *early]))
    skipped = ended[early[0]]
    assert isinstance(skipped.outcome, Skipped) and skipped.call.stage is Stage.tag
    assert store.get_document(early[0]).status is Status.received
    assert [store.get_document(d).status for d in waiting] == [Status.indexed] * 2


def test_a_document_the_model_cannot_read_fails_alone_in_a_tag_batch(store, real_tagger) -> None:
    ids = parsed(store, *bodies(3), "BREAK-ME Hakan Fidan.")
    ended = deliver_batch(store, tagger_of(real_tagger), tag_batch(ids))
    assert isinstance(ended[ids[3]].outcome, Failed) and ended[ids[3]].call.stage is Stage.tag
    assert store.get_document(ids[3]).status is Status.failed
    assert [store.get_document(d).status for d in ids[:3]] == [Status.indexed] * 3


def _dies_in_the_model() -> Any:
    raise WorkerDied()


def test_a_redelivered_tag_batch_whose_worker_died_is_split_into_single_tag_retries(
    store, real_tagger
) -> None:
    ids = parsed(store, *bodies(3))
    with pytest.raises(WorkerDied):
        deliver_batch(store, _dies_in_the_model, tag_batch(ids))
    counting = CountingTagger(real_tagger)
    ended = deliver_batch(store, tagger_of(counting), tag_batch(ids, redelivered=True))
    assert counting.batches == []
    for doc_id in ids:
        end = ended[doc_id]
        assert isinstance(end.outcome, Retry) and end.outcome.crashes == 1
        assert end.call.stage is Stage.tag
        assert end.call.task_id == member_task_id("tag-1", doc_id, Stage.tag)
        assert store.get_document(doc_id).status is Status.parsed
