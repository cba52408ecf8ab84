"""How a stage run ended, and what Celery is told: one outcome type for own and inline runs.

Messages go to Celery's in-memory transport (`memory://`), and are read back with the
`before_task_publish` signal that every published message passes through.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from celery import signals
from celery.exceptions import Ignore
from celery.exceptions import Retry as CeleryRetry

from tasks.errors import StoreUnavailable
from tasks.models import DocumentRecord, Stage, Status
from workers import pipeline
from workers.app import app
from workers.delivery import StageFailed, inline_task_id, settle
from workers.stage_runs import Done, Failed, Retry, Skipped, StageCall, Superseded

OWN = StageCall(Stage.tag, "message-1", retries=2, crashes=1)
INLINE = StageCall(Stage.tag, inline_task_id("message-1", Stage.tag), inline=True)


def document() -> DocumentRecord:
    now = time.time()
    return DocumentRecord(
        id="doc-1",
        content_hash="h",
        source="a.txt",
        format="text",
        status=Status.tagged,
        trace_id="trace-1",
        created_at=now,
        updated_at=now,
    )


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every message published meanwhile: its headers, and args and kwargs from its body."""
    monkeypatch.setattr(app.conf, "broker_url", "memory://")
    # connections made meanwhile are forgotten afterwards (the app goes back to no broker)
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    sent: list[dict[str, Any]] = []

    def record(headers: dict[str, Any] | None = None, body: Any = None, **_: Any) -> None:
        args, kwargs, _embed = body
        sent.append({**(headers or {}), "args": list(args), "kwargs": kwargs})

    signals.before_task_publish.connect(record, weak=False)
    structlog.contextvars.bind_contextvars(trace_id="trace-1")
    try:
        yield sent
    finally:
        signals.before_task_publish.disconnect(record)
        structlog.contextvars.clear_contextvars()


def test_a_run_that_is_done_goes_on_with_the_document_own_or_inline() -> None:
    doc = document()
    assert settle(pipeline.tag, OWN, doc.id, Done(doc)) is doc
    assert settle(pipeline.tag, INLINE, doc.id, Done(doc)) is doc


def test_an_own_message_for_a_stage_that_already_ran_or_was_superseded_is_ignored() -> None:
    with pytest.raises(Ignore):
        settle(pipeline.tag, OWN, "doc-1", Skipped())
    with pytest.raises(Ignore):
        settle(pipeline.tag, OWN, "doc-1", Superseded())


def test_an_own_message_with_nothing_left_to_do_ends_as_done() -> None:
    assert settle(pipeline.tag, OWN, "doc-1", Skipped(ignore=False)) is None


def test_an_own_run_that_failed_fails_its_task_naming_the_stage_and_the_reason() -> None:
    cause = ValueError("bad input")
    with pytest.raises(StageFailed, match="document doc-1 failed at tag: bad input") as failed:
        settle(pipeline.tag, OWN, "doc-1", Failed("bad input", cause))
    assert failed.value.__cause__ is cause


def test_an_inline_run_never_raises_it_only_stops_the_chain() -> None:
    for outcome in (Failed("bad input", ValueError()), Skipped(), Superseded()):
        assert settle(pipeline.tag, INLINE, "doc-1", outcome) is None


def test_an_own_retry_is_the_same_message_again_counting_the_retry_and_the_crashes(
    published: list[dict[str, Any]],
) -> None:
    request = {"id": OWN.task_id, "retries": OWN.retries, "called_directly": False}
    pipeline.tag.push_request(args=["doc-1"], kwargs={}, **request)
    try:
        with pytest.raises(CeleryRetry):
            settle(pipeline.tag, OWN, "doc-1", Retry(StoreUnavailable("down"), 0.5, 10, 1))
    finally:
        pipeline.tag.pop_request()
    (message,) = published
    assert (message["task"], message["id"], message["retries"]) == ("docflow.tag", "message-1", 3)
    assert message["args"] == ["doc-1"] and message["kwargs"] == {"crashes": 1}


def test_an_inline_retry_is_the_message_the_stage_would_have_had_under_its_inline_id(
    published: list[dict[str, Any]],
) -> None:
    outcome = Retry(RuntimeError("boom"), 0.5, 1, 1)
    assert settle(pipeline.tag, INLINE, "doc-1", outcome) is None
    (message,) = published
    assert (message["task"], message["id"]) == ("docflow.tag", INLINE.task_id)
    assert message["retries"] == 1 and message["trace_id"] == "trace-1"
    assert message["args"] == ["doc-1"] and message["kwargs"] == {"crashes": 1}
