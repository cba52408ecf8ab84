"""Thin Celery tasks around the pure stages in `tasks/`: docflow.parse/tag/index."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog
from celery import Task
from celery.exceptions import Ignore, SoftTimeLimitExceeded

from tasks.errors import (
    DocumentNotFound,
    PermanentError,
    RetryableError,
    StaleRun,
    StoreUnavailable,
)
from tasks.models import (
    NEXT_STAGE,
    DocumentRecord,
    IngestResult,
    RawArticle,
    Stage,
    StageRun,
    Status,
)
from tasks.parse import parse_article
from tasks.store import StageResult, Store
from tasks.store.base import INPUT_STATUS
from workers import task_events
from workers.app import app
from workers.resources import get_store, get_tagger
from workers.settings import get_settings

log = structlog.get_logger("docflow.pipeline")

#: unexpected exceptions (bugs), soft time-outs and lost runs (the worker process died:
#: crash, out of memory, hard time limit) together get this many tries in all
MAX_CRASH_ATTEMPTS = 3
#: while the store is unreachable a stage keeps retrying (with capped backoff) this often
STORE_DOWN_RETRIES = 30
#: backstop: a stage started this many times on one document without an outcome is failed,
#: whatever the reason (crashes are normally counted exactly, see `lost_run`)
MAX_STARTS = STORE_DOWN_RETRIES + 20


class StageFailed(PermanentError):
    """Raised to stop a chain once the store records a document as failed."""


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped by DOCFLOW_RETRY_BACKOFF_MAX_S."""
    cap = get_settings().retry_backoff_max_s
    return min(cap, 2.0**retries) * (0.5 + random.random() / 2)


Done = Callable[[], StageResult]


@dataclass(frozen=True)
class StageCall:
    """One run of one stage: from the stage's own message, or inline after the stage before.

    `task_id`, `retries` and `crashes` are the message's for an own run; an inline run has
    an id derived from the message's (`inline_task_id`) and starts with no retries.
    """

    stage: Stage
    task_id: str
    retries: int = 0
    crashes: int = 0
    inline: bool = False


class _Stop(Exception):
    """Ends a run of stages: this one was skipped, failed or handed to a retry.

    `state` is how the stage's task ended, as Celery names it (ignored, failure, retry).
    """

    def __init__(self, state: str, error: str | None = None) -> None:
        super().__init__(state)
        self.state = state
        self.error = error


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

    The first stage whose queue this worker does not consume gets a message of its own
    (`enqueue_chain`), so split deployments (`docflow worker --queues tag`) hand every
    stage to the right workers. Every stage, inline or not, is recorded in the store,
    logged and reported to Flower as its own task.
    """
    request = task.request
    call = StageCall(first, request.id, request.retries, crashes)
    try:
        doc = run_stage(task, call, doc_id, WORK[first])
        while True:
            following = NEXT_STAGE.get(doc.status)
            if following is None:
                return
            if not runs_inline(following):
                enqueue_chain(doc_id, doc.trace_id, following)
                log.info("stage_handed_off", next_stage=following.value)
                return
            call = StageCall(following, inline_task_id(request.id, following), inline=True)
            doc = _run_inline(task, call, doc)
    except _Stop:
        return
    finally:  # what the task logs after this is about the message's own task
        task_events.flush()
        structlog.contextvars.bind_contextvars(task_id=request.id, stage=first.value)


def _run_inline(task: Task, call: StageCall, doc: DocumentRecord) -> DocumentRecord:
    """Run a stage inline, logged and reported to Flower as the task it would have been."""
    request = task.request
    name = STAGE_TASKS[call.stage].name
    structlog.contextvars.bind_contextvars(task_id=call.task_id, stage=call.stage.value)
    task_events.started(
        call.task_id,
        request.hostname,
        name,
        (doc.id,),
        parent_id=request.id,
        root_id=request.root_id or request.id,
    )
    log.info("task_started", attempt=1, inline=True, parent_id=request.id)
    started = time.monotonic()
    state = "success"
    try:
        doc = run_stage(task, call, doc.id, WORK[call.stage], doc)
    except _Stop as stop:
        state = stop.state
        if stop.state == "failure":
            task_events.failed(call.task_id, request.hostname, stop.error or "")
        elif stop.state == "retry":
            task_events.retried(call.task_id, request.hostname, stop.error or "")
        raise
    except BaseException as exc:  # a bug: the message's task fails with it
        state = "failure"
        task_events.failed(call.task_id, request.hostname, f"{type(exc).__name__}: {exc}")
        raise
    else:
        task_events.succeeded(call.task_id, request.hostname, doc.id, time.monotonic() - started)
    finally:
        duration_ms = round((time.monotonic() - started) * 1000, 2)
        log.info("task_finished", state=state, duration_ms=duration_ms, inline=True)
    return doc


def run_stage(
    task: Task,
    call: StageCall,
    doc_id: str,
    work: Callable[[Store, DocumentRecord, Done], DocumentRecord],
    doc: DocumentRecord | None = None,
) -> DocumentRecord:
    """Load the document, skip if the stage is done, run it, and record the outcome.

    The store is the source of truth: a redelivered message for a stage that already ran
    is skipped, so at-least-once delivery never does the work twice. An inline run gets
    the document as the stage before left it (`doc`) instead of reading it again.

    Failures are counted per kind, so one kind never uses up another's budget:
    `crashes` (carried in the retried message) counts runs of this stage that crashed,
    hung past the soft limit, or never finished because their worker process died;
    the message's other retries are for the store being down (up to STORE_DOWN_RETRIES)
    or another retryable error (up to DOCFLOW_MAX_RETRIES).

    Returns the document after the stage. An own run that does not complete raises what
    Celery expects (Ignore, Retry, StageFailed); an inline one raises `_Stop`.
    """
    started = time.time()
    stage = call.stage
    request = task.request
    structlog.contextvars.bind_contextvars(
        doc_id=doc_id, task_id=call.task_id, stage=stage.value, worker=request.hostname
    )
    settings = get_settings()

    result = _timer(call, request.hostname, started)

    def retry_or_fail(exc: BaseException, crash: bool, cause: BaseException | None = None) -> None:
        _retry_or_fail(task, call, store, doc_id, result, exc, crash=crash, cause=cause)

    try:
        store = get_store()
        if doc is None:
            doc = store.get_document(doc_id)
        structlog.contextvars.bind_contextvars(trace_id=doc.trace_id)
        if not call.inline and doc.status != INPUT_STATUS[stage]:
            _resume_lost_inline_run(task, store, doc, stage)
            # a redelivered or duplicate message: the stage already ran (or the document
            # failed); stop this copy here, the original carries on
            log.info("stage_skipped", status=doc.status.value)
            raise Ignore()
        why = (
            lost_run(_current_run(store, doc_id, stage), request, settings.task_time_limit_s)
            if not call.inline and _redelivered(request)
            else None
        )
        if why is not None:
            retry_or_fail(WorkerLost(f"{stage.value} did not finish: {why}"), crash=True)
        starts = store.start_stage(doc_id, result())
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        raise _Stop("ignored") from None
    except RetryableError as exc:
        log.warning("store_unavailable", error=exc.describe())
        _retry(task, call, doc_id, exc, backoff(call.retries), STORE_DOWN_RETRIES + call.crashes)
    if starts > MAX_STARTS:
        error = (
            f"{stage.value} started {starts} times without finishing: the document "
            "crashes or hangs the worker; see `docflow trace` and report it"
        )
        _fail(call, store, doc_id, result(error, starts), RuntimeError(error))
    try:
        doc = work(store, doc, result)
    except StaleRun as exc:
        _superseded(call, exc)
    except PermanentError as exc:
        _fail(call, store, doc_id, result(exc.describe()), exc)
    except RetryableError as exc:
        retry_or_fail(exc, crash=False)
    except SoftTimeLimitExceeded as exc:
        timeout = TimeoutError(
            f"{stage.value} took longer than the soft time limit of "
            f"{settings.task_soft_time_limit_s} s"
        )
        retry_or_fail(timeout, crash=True, cause=exc)
    except Exception as exc:
        retry_or_fail(exc, crash=True)
    log.info(f"{stage.value}_done", duration_ms=round((time.time() - started) * 1000, 2))
    return doc


def _timer(
    call: StageCall, worker: str | None, started: float | None = None
) -> Callable[..., StageResult]:
    """`result(error=None, attempts=...)`: the run's timing so far, with an error if it failed."""
    since = time.time() if started is None else started

    def result(error: str | None = None, attempts: int = call.retries + 1) -> StageResult:
        return StageResult(
            stage=call.stage,
            worker=worker,
            task_id=call.task_id,
            started=since,
            duration_ms=(time.time() - since) * 1000,
            attempts=attempts,
            error=error,
        )

    return result


class WorkerLost(RuntimeError):
    """The previous run of this message never finished: its worker process died."""


def _redelivered(request: Any) -> bool:
    return bool((getattr(request, "delivery_info", None) or {}).get("redelivered"))


def _current_run(store: Store, doc_id: str, stage: Stage) -> StageRun | None:
    """The latest recorded run of `stage` on the document, if any."""
    return next((r for r in store.stage_runs(doc_id) if r.stage == stage.value), None)


def _resume_lost_inline_run(task: Task, store: Store, doc: DocumentRecord, stage: Stage) -> None:
    """A redelivered message whose inline run of a later stage died: retry that stage.

    The worker process died (or was killed at the hard time limit) while it ran a later
    stage inline: the message comes back, its own stage is done, and the store holds an
    unfinished run of the later stage under this message's inline id. That run is counted
    as a crash of the later stage, which goes on in a message of its own.
    """
    request = task.request
    later = NEXT_STAGE.get(doc.status)
    if later is None or later is stage or not _redelivered(request):
        return
    inline_id = inline_task_id(request.id, later)
    why = lost_run(
        _current_run(store, doc.id, later),
        request,
        get_settings().task_time_limit_s,
        task_id=inline_id,
    )
    if why is None:
        return
    structlog.contextvars.bind_contextvars(task_id=inline_id, stage=later.value)
    call = StageCall(later, inline_id, inline=True)
    exc = WorkerLost(f"{later.value} did not finish: {why}")
    _retry_or_fail(task, call, store, doc.id, _timer(call, request.hostname), exc, crash=True)


def lost_run(
    previous: StageRun | None, request: Any, hard_limit_s: float, task_id: str | None = None
) -> str | None:
    """Why the previous run of this very message never finished, or None if it did.

    A message comes back *redelivered* when its worker process died before acknowledging
    it: a crash or out-of-memory kill (`task_reject_on_worker_lost`), the hard time limit
    (`task_acks_on_timeout=False`), or the whole worker killed (visibility timeout). The
    store then holds a run of this task id (or of `task_id`, the id of a stage the message
    ran inline) that started and recorded no outcome.
    """
    if not _redelivered(request) or previous is None or previous.started is None:
        return None
    if previous.task_id != (task_id or request.id) or previous.duration_ms is not None:
        return None
    from workers.recovery import hard_timeout_of

    limit = hard_timeout_of(request.id)
    if limit is not None:
        return f"it was killed at the hard time limit of {limit:g} s (it hangs)"
    elapsed = max(0.0, time.time() - previous.started)
    if elapsed >= hard_limit_s + 60:
        return f"its worker stopped answering (killed or cut off); back after {elapsed:.0f} s"
    return "the worker process running it died (a crash, out of memory, or killed)"


def _superseded(call: StageCall, stale: StaleRun, error: str | None = None) -> NoReturn:
    """This run lost the stage (the document moved on, or another run owns it): stop.

    The store refused the write, so nothing changed; the run that owns the stage carries
    on. Neither a failure nor a retry: the message is acknowledged and dropped.
    """
    log.info(
        "stage_superseded",
        owner_task_id=stale.owner,
        status=stale.status,
        error=error,
        reason="another run owns this stage or moved the document on; nothing written",
    )
    if call.inline:
        raise _Stop("ignored")
    raise Ignore()


def _fail(
    call: StageCall, store: Store, doc_id: str, run: StageResult, exc: BaseException
) -> NoReturn:
    try:
        store.mark_failed(doc_id, run)
    except StaleRun as stale:  # a late failure never overwrites another run's outcome
        _superseded(call, stale, run.error)
    log.warning(
        "document_failed",
        error=run.error,
        attempts=run.attempts,
        duration_ms=round(run.duration_ms, 2),
    )
    if call.inline:
        raise _Stop("failure", run.error)
    raise StageFailed(f"document {doc_id} failed at {run.stage.value}: {run.error}") from exc


def _retry(
    task: Task,
    call: StageCall,
    doc_id: str,
    exc: BaseException,
    countdown: float,
    max_retries: int,
    crashes: int | None = None,
) -> NoReturn:
    """Run the stage again in `countdown` seconds, in a message of its own.

    An own run is retried the Celery way (`task.retry`: same task id, retries + 1). An
    inline run gets the message it would have had, already counting this attempt, so a
    stage's budgets are the same whether it first ran inline or not.
    """
    crashes = call.crashes if crashes is None else crashes
    if not call.inline:
        raise task.retry(
            exc=exc, countdown=countdown, kwargs={"crashes": crashes}, max_retries=max_retries
        )
    trace_id = structlog.contextvars.get_contextvars().get("trace_id")
    options: dict[str, Any] = {"headers": {"trace_id": trace_id}} if trace_id else {}
    STAGE_TASKS[call.stage].apply_async(
        (doc_id,),
        {"crashes": crashes},
        task_id=call.task_id,
        retries=call.retries + 1,
        countdown=countdown,
        **options,
    )
    raise _Stop("retry", f"{type(exc).__name__}: {exc}")


def _retry_or_fail(
    task: Task,
    call: StageCall,
    store: Store,
    doc_id: str,
    result: Callable[..., StageResult],
    exc: BaseException,
    *,
    crash: bool,
    cause: BaseException | None = None,
) -> NoReturn:
    """Retry the stage with backoff, or fail the document once this kind's budget is spent.

    `crash`: an unexpected exception, a soft time-out or a lost run, counted in the
    message's `crashes` (MAX_CRASH_ATTEMPTS tries in all). Otherwise a retryable error:
    the store down (STORE_DOWN_RETRIES) or another (DOCFLOW_MAX_RETRIES), counted by the
    message's retries less its crashes.
    """
    message = exc.describe() if isinstance(exc, RetryableError) else f"{type(exc).__name__}: {exc}"
    retries, crashes = call.retries, call.crashes
    if crash:
        crashes += 1
        exhausted = crashes >= MAX_CRASH_ATTEMPTS
        if exhausted:
            message = f"{message} (gave up after {crashes} tries)"
    else:
        budget = (
            STORE_DOWN_RETRIES if isinstance(exc, StoreUnavailable) else get_settings().max_retries
        )
        exhausted = retries - crashes >= budget
    run = result(message)
    # Both writes below are compare-and-set on this run's lease: if a second copy of the
    # chain (or a newer run of this stage) finished or owns it, they raise StaleRun.
    if exhausted:
        _fail(call, store, doc_id, run, cause or exc)
    try:
        store.record_attempt(doc_id, run)
    except StaleRun as stale:
        _superseded(call, stale, message)
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        raise _Stop("ignored") from None
    except RetryableError:  # the store is down: the retry is what matters
        pass
    countdown = backoff(crashes if crash else retries - crashes)
    log.warning(
        "stage_retry",
        error=message,
        attempt=run.attempts,
        crashes=crashes,
        countdown_s=round(countdown, 1),
    )
    _retry(task, call, doc_id, exc, countdown, retries + 1, crashes)


# ---- the stages ------------------------------------------------------------------


def _parse(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    raw = RawArticle(source=doc.source, format=doc.format, content=doc.raw)
    article = parse_article(raw)
    store.save_parsed(doc.id, article, done())
    return doc.model_copy(update={"status": Status.parsed, "article": article})


def _tag(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    if doc.article is None:
        raise DocumentNotFound(f"document {doc.id} has no parsed article to tag")
    tagger = get_tagger()
    mentions = tagger.tag(doc.article.text)
    store.save_tags(doc.id, mentions, tagger.version, done())
    return doc.model_copy(
        update={"status": Status.tagged, "mentions": mentions, "tag_version": tagger.version}
    )


def _index(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    store.index_document(doc.id, done())
    return doc.model_copy(update={"status": Status.indexed})


WORK = {Stage.parse: _parse, Stage.tag: _tag, Stage.index: _index}
STAGE_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "throws": (StageFailed,)}


@app.task(name="docflow.parse", **STAGE_OPTIONS)
def parse(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.parse, doc_id, crashes)
    return doc_id


@app.task(name="docflow.tag", **STAGE_OPTIONS)
def tag(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.tag, doc_id, crashes)
    return doc_id


@app.task(name="docflow.index", **STAGE_OPTIONS)
def index(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.index, doc_id, crashes)
    return doc_id


STAGE_TASKS: dict[Stage, Task] = {Stage.parse: parse, Stage.tag: tag, Stage.index: index}


def enqueue_chain(
    doc_id: str, trace_id: str, start: Stage = Stage.parse, *, connection: Any = None
) -> None:
    """Send the document on from `start`: that stage's message, carrying the trace id.

    The stages after it follow from the task itself (inline, or a message each), so a
    document never has more than one message in flight. `connection` (a kombu connection)
    publishes to that broker instead of the app's configured one.
    """
    options: dict[str, Any] = {"connection": connection} if connection is not None else {}
    STAGE_TASKS[start].apply_async((doc_id,), headers={"trace_id": trace_id}, **options)


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
