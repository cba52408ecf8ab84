"""How a burst of new documents is grouped into batch messages, and what each message says."""

from __future__ import annotations

import pytest

from tests.unit.test_delivery_outcomes import published
from workers.batch_publish import parse_consumers, start_batches
from workers.batching import (
    batch_time_limits,
    estimated_words,
    fair_share,
    plan_batches,
)
from workers.publish import BATCH_TASK, send_batch

__all__ = ["published"]


def test_a_burst_is_shared_fairly_between_the_workers_taking_it() -> None:
    assert plan_batches([100] * 8, consumers=2, max_docs=32, max_words=20000) == [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
    ]


def test_a_lone_document_is_a_batch_of_one() -> None:
    assert plan_batches([600], consumers=4, max_docs=32, max_words=20000) == [[0]]


def test_a_backlog_fills_batches_up_to_the_document_bound() -> None:
    sizes = [len(b) for b in plan_batches([10] * 100, consumers=2, max_docs=32, max_words=20000)]
    assert sizes == [32, 32, 32, 4]


def test_batches_stay_under_the_word_bound_and_a_long_document_goes_alone() -> None:
    assert plan_batches([400, 400, 900, 5000, 100], 1, 32, 1000) == [[0, 1], [2], [3], [4]]


def test_the_fair_share_never_exceeds_the_bound_nor_drops_below_one() -> None:
    assert (fair_share(8, 2, 32), fair_share(100, 2, 32), fair_share(1, 4, 32)) == (4, 32, 1)
    assert fair_share(5, 0, 32) == 5


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


def test_a_burst_of_8_for_2_parse_processes_goes_as_2_batch_messages_of_4(published) -> None:
    ids = [f"doc-{i}" for i in range(8)]
    groups = start_batches(ids, {}, [100] * 8, consumers=2)
    assert groups == [ids[:4], ids[4:]]
    assert [(m["task"], m["args"]) for m in published] == [
        (BATCH_TASK, [ids[:4]]),
        (BATCH_TASK, [ids[4:]]),
    ]


def test_a_trickle_of_one_goes_as_todays_single_message(published) -> None:
    start_batches(["doc-1"], {"doc-1": "trace-1"}, [600], consumers=2)
    assert [m["task"] for m in published] == ["docflow.parse"]


def test_parse_consumers_count_the_live_workers_that_take_parse_messages() -> None:
    nodes = [
        "docflow-all-11@h",
        "docflow-ingest.parse-12@h",
        "docflow-tag-13@h",  # does not parse
        "alpha@h",  # named by hand: counted
    ]
    assert parse_consumers(nodes, concurrency=2) == 6
    assert parse_consumers([], concurrency=2) == 1
