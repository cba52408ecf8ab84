"""The Celery side of a batch: a `docflow.parse_batch` message, settled document by document.

`workers.batch_delivery` runs the batch and says how each document's part ended; here
each outcome becomes what it would be for a single document (`workers.delivery.settle`,
as for an inline run: a retry is a single-document message, a failure is recorded, the
batch task itself succeeds), and each finished document goes on to its next stage.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from celery.worker.request import Request

from tasks.models import NEXT_STAGE, Stage
from workers.batch_delivery import BatchCall, BatchStoreDown, deliver_batch
from workers.batching import batch_time_limits
from workers.delivery import STORE_DOWN_RETRIES, backoff, runs_inline, settle
from workers.publish import enqueue_chain
from workers.resources import get_store, get_tagger
from workers.settings import get_settings

log = structlog.get_logger("docflow.batch")


class BatchRequest(Request):
    """A batch message as the worker takes it: time limits scaled with its size.

    The worker decides, from its own settings (DOCFLOW_TASK_*_TIME_LIMIT_S and the
    visibility timeout), not the publisher: a publisher's settings may differ, and a
    message keeps its limits across retries. A message that carries limits keeps them.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if any(self._request_dict.get("timelimit") or ()):  # Celery sends [None, None]
            return
        settings = get_settings()
        doc_ids = self.args[0] if self.args else []
        limits = batch_time_limits(
            len(doc_ids),
            settings.task_soft_time_limit_s,
            settings.task_time_limit_s,
            settings.visibility_timeout_s,
        )
        self.time_limits = (limits.hard_s, limits.soft_s)


def batch_stages() -> tuple[Stage, ...]:
    """Parse, then each following stage this worker runs inline (see `runs_inline`)."""
    stages = [Stage.parse]
    for stage in (Stage.tag, Stage.index):
        if not runs_inline(stage):
            break
        stages.append(stage)
    return tuple(stages)


def process_batch(task: Task, doc_ids: list[str]) -> None:
    """Deliver a `docflow.parse_batch` message, then settle each document alone.

    A document done with the stages this worker runs goes on in a message of its own to
    the workers of its next stage; a retry is a single-document message (see `settle`);
    a failure or a superseded run ends there. The batch task itself fails only if the
    store stays down past STORE_DOWN_RETRIES (the sweep then resends its documents).
    """
    request = task.request
    settings = get_settings()
    limits = batch_time_limits(
        len(doc_ids),
        settings.task_soft_time_limit_s,
        settings.task_time_limit_s,
        settings.visibility_timeout_s,
    )
    batch = BatchCall(
        request.id,
        request.hostname,
        tuple(doc_ids),
        redelivered=bool((request.delivery_info or {}).get("redelivered")),
        hard_limit_s=limits.hard_s,
        stages=batch_stages(),
    )
    structlog.contextvars.bind_contextvars(
        task_id=request.id, batch_id=request.id, batch_size=len(doc_ids)
    )
    try:
        ended = deliver_batch(get_store(), get_tagger, batch)
    except BatchStoreDown as exc:
        log.warning("store_unavailable", error=exc.describe(), batch_size=len(doc_ids))
        raise task.retry(
            exc=exc, countdown=backoff(request.retries), max_retries=STORE_DOWN_RETRIES
        ) from exc
    try:
        for doc_id, end in ended.items():
            structlog.contextvars.bind_contextvars(
                doc_id=doc_id,
                trace_id=end.trace_id,
                task_id=end.call.task_id,
                stage=end.call.stage.value,
            )
            doc = settle(task, end.call, doc_id, end.outcome)
            following = NEXT_STAGE.get(doc.status) if doc is not None else None
            if doc is not None and following is not None:
                enqueue_chain(doc_id, doc.trace_id, following)
    finally:
        structlog.contextvars.unbind_contextvars("doc_id", "trace_id")
        structlog.contextvars.bind_contextvars(task_id=request.id, stage="parse_batch")
