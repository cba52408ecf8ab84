"""Publishing a stage's message: the one way a document is sent on, by task name.

Publishers (the watcher, `docflow ingest`, the recovery sweep, `docflow retry`) and the
workers' own hand-offs and inline retries all go through `send_stage`. It needs only the
Celery app, not the task modules, so nothing that publishes imports the tasks.
"""

from __future__ import annotations

from typing import Any

from tasks.models import NEXT_STAGE, IngestResult, Stage, Status
from workers.app import app


def task_name(stage: Stage) -> str:
    """The Celery task that runs `stage` (workers.pipeline registers it)."""
    return f"docflow.{stage.value}"


def send_stage(
    stage: Stage,
    doc_id: str,
    kwargs: dict[str, Any] | None = None,
    *,
    trace_id: str | None = None,
    connection: Any = None,
    **options: Any,
) -> None:
    """One message for `stage` on the document, carrying the trace id in its headers.

    `options` are Celery's publish options (task_id, retries, countdown). `connection`
    (a kombu connection) publishes to that broker instead of the app's configured one.
    """
    if trace_id:
        options["headers"] = {"trace_id": trace_id}
    if connection is not None:
        options["connection"] = connection
    # ignore_result as the task itself has it (task_ignore_result), as apply_async sends it
    app.send_task(task_name(stage), (doc_id,), kwargs, ignore_result=True, **options)


def batch_task_name(stage: Stage) -> str:
    """The Celery task that runs `stage` on several documents at once (workers.pipeline)."""
    return f"docflow.{stage.value}_batch"


#: the task that parses (and, inline, tags and indexes) several documents at once
BATCH_TASK = batch_task_name(Stage.parse)


def send_batch(
    doc_ids: list[str],
    trace_ids: dict[str, str],
    *,
    stage: Stage = Stage.parse,
    connection: Any = None,
    **options: Any,
) -> None:
    """One message for a group of documents waiting for `stage`: `docflow.<stage>_batch`.

    A group of one is the single path (`docflow.<stage>`, carrying its trace id), so a
    trickle is never slower. A larger group's time limits are the worker's to scale with
    its size (`workers.batch_tasks.BatchRequest`), from the worker's own settings.
    """
    if not doc_ids:
        return
    if len(doc_ids) == 1:
        doc_id = doc_ids[0]
        enqueue_chain(doc_id, trace_ids.get(doc_id, ""), stage, connection=connection)
        return
    if connection is not None:
        options["connection"] = connection
    # no time limits in the message, even where the task is registered (Celery would copy
    # the publisher's): the worker scales its own with the batch's size
    app.send_task(
        batch_task_name(stage),
        (list(doc_ids),),
        None,
        ignore_result=True,
        time_limit=None,
        soft_time_limit=None,
        **options,
    )


def enqueue_chain(
    doc_id: str, trace_id: str, start: Stage = Stage.parse, *, connection: Any = None
) -> None:
    """Send the document on from `start`: that stage's message, carrying the trace id.

    The stages after it follow from the task itself (inline, or a message each), so a
    document never has more than one message in flight.
    """
    send_stage(start, doc_id, trace_id=trace_id, connection=connection)


def enqueue_from_status(
    doc_id: str, trace_id: str, status: Status, *, connection: Any = None
) -> bool:
    """Enqueue whatever stages remain for a document in `status`; False if none remain."""
    stage = NEXT_STAGE.get(status)
    if stage is None or stage is Stage.ingest:
        return False
    enqueue_chain(doc_id, trace_id, stage, connection=connection)
    return True


def start_chains(result: IngestResult) -> None:
    """One chain for each new document of an ingested file."""
    for doc_id in result.new_ids:
        enqueue_chain(doc_id, result.traces[doc_id])
