"""How a stage is delivered: runs, inline runs, retries, crashes, failures, in one place.

1. `process`: a message runs its stage, then each following stage this worker consumes,
   inline; the first stage it does not consume gets a message of its own.
2. `run_inline`: an inline stage, logged and reported to Flower as the task it would be.
3. `run_stage`: one run of one stage, own or inline, ends in an `Outcome` (Done,
   Skipped, Superseded, Retry, Failed: `workers.stage_runs`); it raises nothing for Celery.
4. `settle`: the one place an outcome becomes what Celery needs.
5. The budgets (`retry_or_fail`, `fail`), stale runs and lost-run detection (`lost_run`)
   are `workers.budgets`'s, shared with the batch delivery (`workers.batch_delivery`).

The store is the source of truth: a message for a stage that already ran is skipped, and
every status write is compare-and-set on the run that owns the stage (a stale run is
superseded and writes nothing). The work is `workers.stage_work`'s, the tasks
`workers.pipeline`'s.
"""

from __future__ import annotations

import time
import uuid

import structlog
from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded

from tasks.errors import DocumentNotFound, PermanentError, RetryableError, StaleRun
from tasks.models import NEXT_STAGE, DocumentRecord, Stage
from tasks.store import Store
from tasks.store.base import INPUT_STATUS
from workers import task_events
from workers.app import app
from workers.budgets import (
    MAX_STARTS,
    STORE_DOWN_RETRIES,
    backoff,
    current_run,
    described,
    fail,
    lost_run,
    redelivered,
    retry_or_fail,
    superseded,
)
from workers.publish import enqueue_chain, send_stage, task_name
from workers.resources import get_store
from workers.settings import get_settings
from workers.stage_runs import (
    Done,
    Failed,
    Outcome,
    Retry,
    Skipped,
    StageCall,
    Superseded,
    Timer,
    WorkerLost,
    timer,
)
from workers.stage_work import WORK

log = structlog.get_logger("docflow.pipeline")


class StageFailed(PermanentError):
    """Raised to stop a chain once the store records a document as failed."""


# ---- 1. a message: its stage, then the following ones ---------------------------------


def inline_task_id(message_id: str, stage: Stage) -> str:
    """The task id an inline run of `stage` gets inside the task of message `message_id`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"docflow:{message_id}:{stage.value}"))


def runs_inline(stage: Stage) -> bool:
    """Does this worker run `stage` straight after the stage before it (no hand-off)?

    True when DOCFLOW_INLINE_STAGES is on and this worker consumes the stage's queue:
    it would take that stage's message itself, so the message is not worth sending.
    """
    if not get_settings().inline_stages:
        return False
    return stage.value in (app.amqp.queues.consume_from or {})


def process(task: Task, first: Stage, doc_id: str, crashes: int = 0) -> None:
    """Run `first` on the document, then each following stage this worker runs inline.

    The first stage whose queue this worker does not consume gets a message of its own,
    so split deployments (`docflow worker --queues tag`) hand every stage to the right
    workers. Every stage, inline or not, is recorded in the store, logged and reported
    to Flower as its own task.
    """
    request = task.request
    call = StageCall(first, request.id, request.retries, crashes)
    try:
        doc = settle(task, call, doc_id, run_stage(task, call, doc_id))
        while doc is not None:
            following = NEXT_STAGE.get(doc.status)
            if following is None:
                return
            if not runs_inline(following):
                enqueue_chain(doc_id, doc.trace_id, following)
                log.info("stage_handed_off", next_stage=following.value)
                return
            call = StageCall(following, inline_task_id(request.id, following), inline=True)
            doc = run_inline(task, call, doc)
    finally:  # what the task logs after this is about the message's own task
        task_events.flush()
        structlog.contextvars.bind_contextvars(task_id=request.id, stage=first.value)


# ---- 2. an inline stage ----------------------------------------------------------------


def run_inline(task: Task, call: StageCall, doc: DocumentRecord) -> DocumentRecord | None:
    """Run a stage inline, logged and reported to Flower as the task it would have been."""
    request = task.request
    structlog.contextvars.bind_contextvars(task_id=call.task_id, stage=call.stage.value)
    task_events.started(
        call.task_id,
        request.hostname,
        task_name(call.stage),
        (doc.id,),
        parent_id=request.id,
        root_id=request.root_id or request.id,
    )
    log.info("task_started", attempt=1, inline=True, parent_id=request.id)
    started = time.monotonic()
    state = "failure"
    try:
        outcome = run_stage(task, call, doc.id, doc)
        following = settle(task, call, doc.id, outcome)
        state = _report(call, request.hostname, doc.id, outcome, time.monotonic() - started)
        return following
    except BaseException as exc:  # a bug: the message's task fails with it
        task_events.failed(call.task_id, request.hostname, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        duration_ms = round((time.monotonic() - started) * 1000, 2)
        log.info("task_finished", state=state, duration_ms=duration_ms, inline=True)


def _report(
    call: StageCall, hostname: str | None, doc_id: str, outcome: Outcome, runtime_s: float
) -> str:
    """The events a worker would send for how the inline run ended; that state's name."""
    match outcome:
        case Done():
            task_events.succeeded(call.task_id, hostname, doc_id, runtime_s)
            return "success"
        case Failed(reason):
            task_events.failed(call.task_id, hostname, reason)
            return "failure"
        case Retry(exc):
            task_events.retried(call.task_id, hostname, described(exc))
            return "retry"
    return "ignored"


# ---- 3. one run of one stage --------------------------------------------------------


def run_stage(
    task: Task, call: StageCall, doc_id: str, doc: DocumentRecord | None = None
) -> Outcome:
    """Load the document, skip if the stage is done, run it, and say how the run ended.

    An inline run gets the document as the stage before left it (`doc`) instead of
    reading it again. Failures are counted per kind, so one kind never uses up another's
    budget: `crashes` (carried in the retried message) counts runs of this stage that
    crashed, hung past the soft limit, or never finished because their worker process
    died; the message's other retries are for the store being down (up to
    STORE_DOWN_RETRIES) or another retryable error (up to DOCFLOW_MAX_RETRIES).
    """
    started = time.time()
    structlog.contextvars.bind_contextvars(
        doc_id=doc_id, task_id=call.task_id, stage=call.stage.value, worker=task.request.hostname
    )
    result = timer(call, task.request.hostname, started)
    leased = _lease(task, call, doc_id, doc, result)
    if not isinstance(leased, tuple):
        return leased
    store, doc = leased
    outcome = _work(call, store, doc, result)
    if isinstance(outcome, Done):
        log.info(f"{call.stage.value}_done", duration_ms=round((time.time() - started) * 1000, 2))
    return outcome


def _lease(
    task: Task, call: StageCall, doc_id: str, doc: DocumentRecord | None, result: Timer
) -> tuple[Store, DocumentRecord] | Outcome:
    """The store and the document with this run's lease on the stage, or how it ended."""
    stage = call.stage
    try:
        store = get_store()
        if doc is None:
            doc = store.get_document(doc_id)
        structlog.contextvars.bind_contextvars(trace_id=doc.trace_id)
        if not call.inline and doc.status != INPUT_STATUS[stage]:
            return _already_ran(task, store, doc, stage)
        why = (
            lost_run(
                current_run(store, doc_id, stage),
                task.request,
                get_settings().task_time_limit_s,
            )
            if not call.inline and redelivered(task.request)
            else None
        )
        if why is not None:
            lost = WorkerLost(f"{stage.value} did not finish: {why}")
            return retry_or_fail(call, store, doc_id, result, lost, crash=True)
        starts = store.start_stage(doc_id, result())
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        return Skipped(ignore=False)
    except RetryableError as exc:
        log.warning("store_unavailable", error=exc.describe())
        return Retry(exc, backoff(call.retries), STORE_DOWN_RETRIES + call.crashes, call.crashes)
    if starts > MAX_STARTS:
        error = (
            f"{stage.value} started {starts} times without finishing: the document "
            "crashes or hangs the worker; see `docflow trace` and report it"
        )
        return fail(store, doc_id, result(error, starts), RuntimeError(error))
    return store, doc


def _work(call: StageCall, store: Store, doc: DocumentRecord, result: Timer) -> Outcome:
    """Run the leased stage on the document: Done, or how its failure counts."""
    try:
        return Done(WORK[call.stage](store, doc, result))
    except StaleRun as exc:
        return superseded(exc)
    except PermanentError as exc:
        return fail(store, doc.id, result(exc.describe()), exc)
    except RetryableError as exc:
        return retry_or_fail(call, store, doc.id, result, exc, crash=False)
    except SoftTimeLimitExceeded as exc:
        timeout = TimeoutError(
            f"{call.stage.value} took longer than the soft time limit of "
            f"{get_settings().task_soft_time_limit_s} s"
        )
        return retry_or_fail(call, store, doc.id, result, timeout, crash=True, cause=exc)
    except Exception as exc:
        return retry_or_fail(call, store, doc.id, result, exc, crash=True)


def _already_ran(task: Task, store: Store, doc: DocumentRecord, stage: Stage) -> Outcome:
    """A message for a stage that already ran (or a failed document): skip this copy.

    Unless the message is redelivered because its worker process died (or was killed at
    the hard time limit) while it ran a later stage inline: the store then holds an
    unfinished run of the later stage under this message's inline id. That run counts as
    a crash of the later stage, which goes on in a message of its own.
    """
    request = task.request
    later = NEXT_STAGE.get(doc.status)
    if later is not None and later is not stage and redelivered(request):
        inline_id = inline_task_id(request.id, later)
        run = current_run(store, doc.id, later)
        why = lost_run(run, request, get_settings().task_time_limit_s, task_id=inline_id)
        if why is not None:
            structlog.contextvars.bind_contextvars(task_id=inline_id, stage=later.value)
            call = StageCall(later, inline_id, inline=True)
            exc = WorkerLost(f"{later.value} did not finish: {why}")
            result = timer(call, request.hostname)
            settle(task, call, doc.id, retry_or_fail(call, store, doc.id, result, exc, crash=True))
            return Skipped(ignore=False)
    # the original message carries on
    log.info("stage_skipped", status=doc.status.value)
    return Skipped()


# ---- 4. what Celery does with an outcome ----------------------------------------------


def settle(task: Task, call: StageCall, doc_id: str, outcome: Outcome) -> DocumentRecord | None:
    """Turn how a run ended into what Celery needs; the document to go on with, if any.

    An own run: Ignore for a skipped or superseded message (acknowledged and dropped),
    `task.retry` (same task id, retries + 1), StageFailed (the task fails, the chain
    stops). An inline run raises nothing (the message's own stage is done): its retry is
    the message it would have had, already counting this attempt, so a stage's budgets
    are the same whether it first ran inline or not.
    """
    match outcome:
        case Done(doc):
            return doc
        case Retry(_, countdown, _, crashes) if call.inline:
            send_stage(
                call.stage,
                doc_id,
                {"crashes": crashes},
                trace_id=structlog.contextvars.get_contextvars().get("trace_id"),
                task_id=call.task_id,
                retries=call.retries + 1,
                countdown=countdown,
            )
        case Retry(exc, countdown, budget, crashes):
            kwargs = {"crashes": crashes}
            raise task.retry(exc=exc, countdown=countdown, kwargs=kwargs, max_retries=budget)
        case Failed(reason, exc) if not call.inline:
            raise StageFailed(f"document {doc_id} failed at {call.stage.value}: {reason}") from exc
        case Superseded() | Skipped(ignore=True) if not call.inline:
            raise Ignore()
    return None
