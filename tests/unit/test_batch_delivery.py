"""A batch of documents: one model call and one write transaction, every guarantee per document.

Runs `deliver_batch` on a real SQLite store with the real spaCy tagger (the tripwired one
where a text must break the model); no broker: what Celery does with each outcome is
`workers.delivery.settle`'s, tested in test_delivery_outcomes.py.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tasks.models import RawArticle, Stage, Status
from tasks.search.request import SearchRequest
from tasks.store import StageResult, Store, open_store
from tasks.tag import Tagger
from tests.unit.tripwire import tripwired_tagger
from workers.batch_delivery import BatchCall, Ended, deliver_batch, member_task_id
from workers.stage_runs import Done, Failed, Retry, Skipped

BATCH_ID = "batch-1"


class WorkerDied(BaseException):
    """Stands for the worker process dying here: nothing after this point runs."""


class CountingTagger:
    """The real tagger, counting how often the model is called for a batch."""

    def __init__(self, tagger: Tagger) -> None:
        self.tagger = tagger
        self.batches: list[int] = []

    @property
    def version(self) -> str:
        return self.tagger.version

    def tag_batch_with_spans(self, texts: Sequence[str]) -> Any:
        self.batches.append(len(texts))
        return self.tagger.tag_batch_with_spans(texts)

    def with_collection(self, *args: Any) -> Any:  # the collection step: no model call
        return self.tagger.with_collection(*args)


@pytest.fixture(scope="module")
def real_tagger() -> Tagger:
    return tripwired_tagger()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'docflow.db'}")
    yield s
    s.close()


def received(store: Store, *bodies: str) -> list[str]:
    """Record each body as a received plain-text document; their ids in order."""
    ids = []
    for body in bodies:
        content = f"Talks in Ankara\n\nANKARA\n\n{body}\n"
        raw = RawArticle(source=f"{len(ids)}.txt", format="text", content=content)
        digest = hashlib.sha256(content.encode()).hexdigest()
        run = StageResult(
            stage=Stage.ingest,
            worker="test",
            task_id="intake",
            started=time.time(),
            duration_ms=1.0,
        )
        doc_id, _ = store.add_document(raw, digest, f"trace-{len(ids)}", run)
        ids.append(doc_id)
    return ids


def bodies(n: int) -> list[str]:
    return [f"Hakan Fidan met Marco Rubio in Washington, meeting number {i}." for i in range(n)]


def batch(ids: list[str], **kw: Any) -> BatchCall:
    return BatchCall(BATCH_ID, "w1@host", tuple(ids), **kw)


def tagger_of(tagger: Any) -> Callable[[], Any]:
    return lambda: tagger


def test_a_batch_is_parsed_tagged_and_indexed_with_one_model_call(store, real_tagger) -> None:
    ids = received(store, *bodies(8))
    counting = CountingTagger(real_tagger)
    ended = deliver_batch(store, tagger_of(counting), batch(ids))
    assert counting.batches == [8]
    assert all(isinstance(e.outcome, Done) for e in ended.values())
    for doc_id in ids:
        doc = store.get_document(doc_id)
        assert doc.status is Status.indexed
        assert {m.text for m in doc.mentions} >= {"Hakan Fidan", "Marco Rubio"}
    assert store.search_page(SearchRequest(q="Fidan", per_page=20)).total == 8


def test_each_document_keeps_its_own_stage_runs_under_its_own_task_ids(store, real_tagger) -> None:
    ids = received(store, *bodies(3))
    deliver_batch(store, tagger_of(real_tagger), batch(ids))
    for doc_id in ids:
        runs = {r.stage: r for r in store.stage_runs(doc_id)}
        for stage in (Stage.parse, Stage.tag, Stage.index):
            assert runs[stage.value].task_id == member_task_id(BATCH_ID, doc_id, stage)
            assert runs[stage.value].duration_ms is not None and runs[stage.value].error is None
    assert len({member_task_id(BATCH_ID, d, Stage.parse) for d in ids}) == 3


def test_a_document_the_model_cannot_read_fails_alone_while_its_mates_are_indexed(
    store, real_tagger
) -> None:
    ids = received(store, *bodies(3), "BREAK-ME Hakan Fidan.")
    ended = deliver_batch(store, tagger_of(real_tagger), batch(ids))
    assert isinstance(ended[ids[3]].outcome, Failed)
    assert store.get_document(ids[3]).status is Status.failed
    assert [store.get_document(d).status for d in ids[:3]] == [Status.indexed] * 3


def test_a_document_that_cannot_be_parsed_fails_alone(store, real_tagger) -> None:
    ids = received(store, *bodies(2))
    raw = RawArticle(source="bad.json", format="json", content="{not json")
    run = StageResult(
        stage=Stage.ingest, worker="test", task_id="intake", started=time.time(), duration_ms=1.0
    )
    bad, _ = store.add_document(raw, "f" * 64, "trace-bad", run)
    ended = deliver_batch(store, tagger_of(real_tagger), batch([*ids, bad]))
    assert isinstance(ended[bad].outcome, Failed)
    assert ended[bad].call.stage is Stage.parse
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * 2


def test_a_duplicate_batch_message_skips_the_documents_already_done(store, real_tagger) -> None:
    ids = received(store, *bodies(2))
    deliver_batch(store, tagger_of(real_tagger), batch(ids))
    counting = CountingTagger(real_tagger)
    again = deliver_batch(store, tagger_of(counting), batch(ids, redelivered=True))
    assert all(isinstance(e.outcome, Skipped) and e.outcome.ignore for e in again.values())
    assert counting.batches == []


def test_a_worker_that_runs_only_parse_hands_each_document_on_parsed(store, real_tagger) -> None:
    ids = received(store, *bodies(2))
    counting = CountingTagger(real_tagger)
    ended = deliver_batch(store, tagger_of(counting), batch(ids, stages=(Stage.parse,)))
    assert counting.batches == []
    for doc_id in ids:
        outcome = ended[doc_id].outcome
        assert isinstance(outcome, Done) and outcome.doc.status is Status.parsed
        assert store.get_document(doc_id).status is Status.parsed


def test_a_batch_that_breaks_as_a_whole_in_the_model_keeps_its_parse_and_retries_each_tag_alone(
    store, real_tagger
) -> None:
    ids = received(store, *bodies(3), "INTERRUPT-ME, like a soft time limit.")
    ended = deliver_batch(store, tagger_of(real_tagger), batch(ids))
    for doc_id in ids:
        end = ended[doc_id]
        assert isinstance(end.outcome, Retry) and end.outcome.crashes == 1
        # parse was committed before the model call: only the tag run is retried, alone
        assert end.call.task_id == member_task_id(BATCH_ID, doc_id, Stage.tag)
        doc = store.get_document(doc_id)
        assert doc.status is Status.parsed
        assert "Interrupted" in (doc.last_error or "")


def _dies_in_the_model() -> Any:
    raise WorkerDied()


def test_a_redelivered_batch_whose_worker_died_is_split_into_single_retries(store) -> None:
    """Given a batch whose worker died in the model call (parse committed, tag leases
    taken), when the message comes back redelivered, then no document runs in it again:
    each counts one crash on its tag run and goes on alone, under its own task id."""
    ids = received(store, *bodies(4))
    with pytest.raises(WorkerDied):
        deliver_batch(store, _dies_in_the_model, batch(ids))
    counting = CountingTagger(tripwired_tagger())
    ended = deliver_batch(store, tagger_of(counting), batch(ids, redelivered=True))
    assert counting.batches == []
    for doc_id in ids:
        end: Ended = ended[doc_id]
        assert isinstance(end.outcome, Retry) and end.outcome.crashes == 1
        assert "did not finish" in str(end.outcome.exc)
        assert end.call.task_id == member_task_id(BATCH_ID, doc_id, Stage.tag)
        assert end.trace_id == store.get_document(doc_id).trace_id
        assert store.get_document(doc_id).status is Status.parsed  # parse is not redone


def test_a_redelivered_batch_that_never_started_runs_as_usual(store, real_tagger) -> None:
    ids = received(store, *bodies(2))
    ended = deliver_batch(store, tagger_of(real_tagger), batch(ids, redelivered=True))
    assert all(isinstance(e.outcome, Done) for e in ended.values())
