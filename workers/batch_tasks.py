"""The Celery side of a batch: a `docflow.<stage>_batch` message, settled document by document.

`workers.batch_delivery` runs the batch and says how each document's part ended; here
each outcome becomes what it would be for a single document (`workers.delivery.settle`,
as for an inline run: a retry is a single-document message, a failure is recorded, the
batch task itself succeeds). The documents that finished the stages this worker runs go
on together: those waiting for the same next stage as ONE `docflow.<next>_batch`
message (`workers.publish.send_batch`; a group of one is the single message), so a
split deployment (`--queues ingest,parse` and `--queues tag,index` workers) batches
every stage.

The store being down retries the batch as a whole, up to STORE_DOWN_RETRIES times with
backoff; past that budget the batch is split: each document goes on in a single message
of the batch's stage, with its own budgets (and the recovery sweep behind it), so a long
outage loses nothing and a document that upsets the store meets it alone.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from celery.worker.request import Request

from tasks.models import NEXT_STAGE, Stage
from workers.batch_delivery import BATCH_STAGES, BatchCall, BatchStoreDown, Ended, deliver_batch
from workers.batching import batch_time_limits
from workers.budgets import STORE_DOWN_RETRIES, backoff
from workers.delivery import runs_inline, settle
from workers.publish import send_batch, send_stage
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


def batch_stages(first: Stage = Stage.parse) -> tuple[Stage, ...]:
    """`first`, then each following stage this worker runs inline (see `runs_inline`)."""
    stages = [first]
    for stage in BATCH_STAGES[BATCH_STAGES.index(first) + 1 :]:
        if not runs_inline(stage):
            break
        stages.append(stage)
    return tuple(stages)


def process_batch(task: Task, doc_ids: list[str], first: Stage = Stage.parse) -> None:
    """Deliver a `docflow.<first>_batch` message, then settle each document alone.

    The documents done with the stages this worker runs go on to the workers of their
    next stage, one batch message per next stage; a retry is a single-document message
    (see `settle`); a failure or a superseded run ends there.
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
        retried=bool(request.retries),
        hard_limit_s=limits.hard_s,
        stages=batch_stages(first),
    )
    structlog.contextvars.bind_contextvars(
        task_id=request.id, batch_id=request.id, batch_size=len(doc_ids), stage=first.value
    )
    try:
        ended = deliver_batch(get_store(), get_tagger, batch)
    except BatchStoreDown as exc:
        log.warning("store_unavailable", error=exc.describe(), batch_size=len(doc_ids))
        if request.retries >= STORE_DOWN_RETRIES:
            split_after_outage(batch, exc)
            return
        raise task.retry(
            exc=exc, countdown=backoff(request.retries), max_retries=STORE_DOWN_RETRIES
        ) from exc
    try:
        following = _settled(task, ended)
    finally:  # what the task logs after this is about the batch message
        structlog.contextvars.unbind_contextvars("doc_id", "trace_id")
        structlog.contextvars.bind_contextvars(task_id=request.id, stage=f"{first.value}_batch")
    hand_off(ended, following)


def _settled(task: Task, ended: dict[str, Ended]) -> dict[Stage, list[str]]:
    """Settle each document's outcome; the finished ones by the stage they wait for."""
    following: dict[Stage, list[str]] = {}
    for doc_id, end in ended.items():
        structlog.contextvars.bind_contextvars(
            doc_id=doc_id,
            trace_id=end.trace_id,
            task_id=end.call.task_id,
            stage=end.call.stage.value,
        )
        doc = settle(task, end.call, doc_id, end.outcome)
        stage = NEXT_STAGE.get(doc.status) if doc is not None else None
        if stage is not None:
            following.setdefault(stage, []).append(doc_id)
    return following


def hand_off(ended: dict[str, Ended], following: dict[Stage, list[str]]) -> None:
    """Each group of documents waiting for the same stage goes on as one message."""
    for stage, ids in following.items():
        traces = {doc_id: ended[doc_id].trace_id or "" for doc_id in ids}
        send_batch(ids, traces, stage=stage)
        log.info("batch_handed_off", next_stage=stage.value, docs=len(ids))


def split_after_outage(batch: BatchCall, exc: BatchStoreDown) -> None:
    """The store stayed down past the batch's budget: each document goes on alone.

    Nothing of the batch's work was written (at most its leases, which a new run takes
    over); each document still waits for the batch's first stage (or moved on meanwhile:
    its single message is then skipped). The single message has the single path's
    budgets, and the recovery sweep still finds the document from the store if that
    message is lost too.
    """
    log.warning(
        "batch_split",
        batch_id=batch.task_id,
        stage=batch.first.value,
        lost=0,
        size=len(batch.doc_ids),
        reason=f"the store stayed unavailable past {STORE_DOWN_RETRIES} retries: {exc}",
    )
    for doc_id in batch.doc_ids:
        send_stage(batch.first, doc_id)
