"""How a burst of new documents is grouped into batch messages, and what each message says."""

from __future__ import annotations

import pytest

from tasks.ingest import estimated_words
from tasks.models import IngestResult
from tests.unit.test_delivery_outcomes import published
from workers.batch_publish import BatchSender, parse_consumers
from workers.batching import batch_time_limits, fair_share, plan_batches
from workers.publish import BATCH_TASK, send_batch

__all__ = ["published"]


def test_a_burst_is_shared_fairly_four_batches_per_worker_process() -> None:
    groups = plan_batches([100] * 64, consumers=2, max_docs=32, max_words=20000)
    assert [len(g) for g in groups] == [8] * 7 + [4, 2, 1, 1]
    assert [i for g in groups for i in g] == list(range(64))  # in order, each once


def test_a_lone_document_is_a_batch_of_one() -> None:
    assert plan_batches([600], consumers=4, max_docs=32, max_words=20000) == [[0]]


def test_a_backlog_fills_batches_up_to_the_document_bound() -> None:
    sizes = [len(b) for b in plan_batches([10] * 300, consumers=2, max_docs=32, max_words=20000)]
    assert sizes == [32] * 8 + [22, 11, 6, 3, 1, 1]


def test_batches_shrink_toward_the_end_so_the_workers_finish_together() -> None:
    words = [200 + (i * 37) % 900 for i in range(500)]
    groups = plan_batches(words, consumers=3, max_docs=32, max_words=20000)
    assert [i for g in groups for i in g] == list(range(500))
    for number, group in enumerate(groups):
        left = [i for g in groups[number:] for i in g]
        assert len(group) <= max(1, -(-len(left) // 3))
        assert sum(words[i] for i in group[:-1]) < -(-sum(words[i] for i in left) // 3)
    assert len(groups[-1]) == 1 and len(groups[0]) == 32


def test_batches_stay_under_the_word_bound_and_a_long_document_goes_alone() -> None:
    assert plan_batches([400, 400, 900, 5000, 100], 1, 32, 1000) == [[0, 1], [2], [3], [4]]


def test_the_fair_share_never_exceeds_the_bound_nor_drops_below_one() -> None:
    assert (fair_share(64, 2, 32), fair_share(1000, 2, 32), fair_share(1, 4, 32)) == (8, 32, 1)
    assert fair_share(8, 2, 32) == 1  # a small burst: singles, no one waits
    assert fair_share(20, 0, 32) == 5


def test_bounds_below_one_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_batches([1], 1, 0, 10)


def test_words_are_estimated_before_parsing() -> None:
    assert estimated_words("Hakan Fidan met Marco Rubio.") == 5
    assert estimated_words(b"") == 1 and estimated_words(None) == 1


def test_a_batch_of_one_keeps_the_single_time_limits() -> None:
    limits = batch_time_limits(1, 120, 180, 300)
    assert (limits.soft_s, limits.hard_s) == (120, 180)


def test_time_limits_grow_with_the_batch_but_stay_under_the_visibility_timeout() -> None:
    four = batch_time_limits(4, 120, 180, 3600)
    assert (four.soft_s, four.hard_s) == (210, 315)
    capped = batch_time_limits(32, 120, 180, 300)
    assert capped.hard_s == 270 and capped.soft_s == 210


def test_a_group_of_one_is_published_as_todays_single_parse_message(published) -> None:
    send_batch(["doc-1"], {"doc-1": "trace-1"})
    assert [(m["task"], m["args"]) for m in published] == [("docflow.parse", ["doc-1"])]


def test_a_group_is_one_batch_message_with_its_ids_in_args(published) -> None:
    send_batch(["doc-1", "doc-2", "doc-3"], {})
    assert len(published) == 1
    message = published[0]
    assert message["task"] == BATCH_TASK and message["args"] == [["doc-1", "doc-2", "doc-3"]]
    assert message["timelimit"] == [None, None]  # the worker scales them (BatchRequest)


def _sender(consumers: int = 2, max_docs: int = 32) -> BatchSender:
    return BatchSender(max_docs, 20000, lambda: consumers)


def _file(*ids: str, words: int = 100) -> IngestResult:
    return IngestResult(
        source="f.txt",
        new_ids=list(ids),
        traces={i: f"trace-{i}" for i in ids},
        words={i: words for i in ids},
    )


def test_a_burst_of_64_for_2_parse_processes_goes_as_batches_of_8_then_a_shrinking_tail(
    published,
) -> None:
    ids = [f"doc-{i:02d}" for i in range(64)]
    sender = _sender()
    for doc_id in ids:
        sender.add(_file(doc_id))
    sizes = [8] * 7 + [4, 2, 1, 1]
    starts = [sum(sizes[:n]) for n in range(len(sizes))]
    groups = [ids[start : start + size] for start, size in zip(starts, sizes, strict=True)]
    assert sender.flush() == groups
    batches = [(m["task"], m["args"]) for m in published if m["task"] == BATCH_TASK]
    assert batches == [(BATCH_TASK, [g]) for g in groups if len(g) > 1]
    singles = [m["args"][0] for m in published if m["task"] != BATCH_TASK]
    assert singles == ids[-2:]  # a group of one is the single path
    assert sender.pending == [] and sender.flush() == []


def test_a_trickle_of_one_goes_as_todays_single_message_with_its_trace(published) -> None:
    sender = _sender()
    sender.add(_file("doc-1", words=600))
    sender.flush()
    assert [m["task"] for m in published] == ["docflow.parse"]
    assert published[0]["trace_id"] == "trace-doc-1"


def test_a_flush_that_fails_keeps_the_groups_not_sent_for_the_next(
    published, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workers.batch_publish as batch_publish

    sent: list[list[str]] = []

    def send_once(ids: list[str], _traces: dict[str, str], **_: object) -> None:
        if sent:
            raise OSError("broker gone")
        sent.append(ids)

    monkeypatch.setattr(batch_publish, "send_batch", send_once)
    sender = _sender(consumers=1, max_docs=2)
    sender.add(_file(*"abcdefgh"))
    with pytest.raises(OSError):
        sender.flush()
    assert sent == [["a", "b"]]
    assert [p.doc_id for p in sender.pending] == list("cdefgh")


def test_parse_consumers_add_up_the_pools_of_live_workers_that_take_parse_messages() -> None:
    beats = [
        {"queues": ["index", "ingest", "parse", "tag"], "concurrency": 2},
        {"queues": ["parse"], "concurrency": 4},
        {"queues": ["tag"], "concurrency": 8},  # does not parse
        {"ready": False},  # starting: counted with the fallback pool size
    ]
    assert parse_consumers(beats, fallback=3) == 9
    assert parse_consumers([], fallback=2) == 2
