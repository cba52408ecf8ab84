"""Thin Celery tasks around the pure stages in `tasks/`: docflow.ingest/parse/tag/index."""

from __future__ import annotations

import base64
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import structlog
from celery import Task, chain
from celery.exceptions import SoftTimeLimitExceeded

from tasks.errors import DocumentNotFound, PermanentError, RetryableError, StoreUnavailable
from tasks.ingest import ingest_file
from tasks.models import NEXT_STAGE, DocumentRecord, IngestResult, RawArticle, Stage, Status
from tasks.parse import parse_article
from tasks.store import StageResult, Store
from workers.app import app
from workers.resources import get_store, get_tagger
from workers.settings import get_settings

log = structlog.get_logger("docflow.pipeline")

#: the status a document must be in for a stage to run on it
INPUT_STATUS: dict[Stage, Status] = {
    Stage.parse: Status.received,
    Stage.tag: Status.parsed,
    Stage.index: Status.tagged,
}
#: unexpected exceptions (bugs, crashes) and time-outs get this many tries in all
MAX_CRASH_ATTEMPTS = 3
#: while the store is unreachable a stage keeps retrying (with capped backoff) this often
STORE_DOWN_RETRIES = 30


class StageFailed(PermanentError):
    """Raised to stop a chain once the store records a document as failed."""


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped by DOCFLOW_RETRY_BACKOFF_MAX_S."""
    cap = get_settings().retry_backoff_max_s
    return min(cap, 2.0**retries) * (0.5 + random.random() / 2)


Done = Callable[[], StageResult]


def run_stage(
    task: Task, stage: Stage, doc_id: str, work: Callable[[Store, DocumentRecord, Done], None]
) -> None:
    """Load the document, skip if the stage is done, run it, and record the outcome.

    The store is the source of truth: a redelivered message for a stage that already ran
    is skipped, so at-least-once delivery never does the work twice.
    """
    started = time.time()
    request = task.request
    structlog.contextvars.bind_contextvars(
        doc_id=doc_id, task_id=request.id, stage=stage.value, worker=request.hostname
    )
    settings = get_settings()

    def result(error: str | None = None, attempts: int = request.retries + 1) -> StageResult:
        """This run's timing so far, with an error if it failed."""
        return StageResult(
            stage=stage,
            worker=request.hostname,
            task_id=request.id,
            started=started,
            duration_ms=(time.time() - started) * 1000,
            attempts=attempts,
            error=error,
        )

    try:
        store = get_store()
        doc = store.get_document(doc_id)
        structlog.contextvars.bind_contextvars(trace_id=doc.trace_id)
        if doc.status != INPUT_STATUS[stage]:
            log.info("stage_skipped", status=doc.status.value)
            return
        starts = store.start_stage(doc_id, result())
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        return
    except RetryableError as exc:
        log.warning("store_unavailable", error=exc.describe())
        raise task.retry(
            exc=exc, countdown=backoff(request.retries), max_retries=STORE_DOWN_RETRIES
        ) from exc
    if starts > settings.max_retries + MAX_CRASH_ATTEMPTS:
        error = (
            f"{stage.value} started {starts} times without finishing: the document "
            "crashes or hangs the worker; see `docflow trace` and report it"
        )
        _fail(store, doc_id, result(error, starts), RuntimeError(error))
    try:
        work(store, doc, result)
    except PermanentError as exc:
        _fail(store, doc_id, result(exc.describe()), exc)
    except StoreUnavailable as exc:
        _retry_or_fail(task, store, doc_id, result, exc, STORE_DOWN_RETRIES)
    except RetryableError as exc:
        _retry_or_fail(task, store, doc_id, result, exc, settings.max_retries)
    except SoftTimeLimitExceeded as exc:
        timeout = TimeoutError(f"{stage.value} took longer than {settings.task_soft_time_limit_s} s")
        _retry_or_fail(task, store, doc_id, result, timeout, MAX_CRASH_ATTEMPTS - 1, cause=exc)
    except Exception as exc:
        _retry_or_fail(task, store, doc_id, result, exc, MAX_CRASH_ATTEMPTS - 1)
    else:
        log.info(f"{stage.value}_done", duration_ms=round((time.time() - started) * 1000, 2))


def _fail(store: Store, doc_id: str, run: StageResult, exc: BaseException) -> None:
    store.mark_failed(doc_id, run)
    log.warning(
        "document_failed",
        error=run.error,
        attempts=run.attempts,
        duration_ms=round(run.duration_ms, 2),
    )
    raise StageFailed(f"document {doc_id} failed at {run.stage.value}: {run.error}") from exc


def _retry_or_fail(
    task: Task,
    store: Store,
    doc_id: str,
    result: Callable[[str | None], StageResult],
    exc: BaseException,
    max_retries: int,
    cause: BaseException | None = None,
) -> None:
    message = exc.describe() if isinstance(exc, RetryableError) else f"{type(exc).__name__}: {exc}"
    run = result(message)
    if task.request.retries >= max_retries:
        _fail(store, doc_id, run, cause or exc)
    with contextlib.suppress(RetryableError):  # the store is down: the retry is what matters
        store.record_attempt(doc_id, run)
    countdown = backoff(task.request.retries)
    log.warning("stage_retry", error=message, attempt=run.attempts, countdown_s=round(countdown, 1))
    raise task.retry(exc=exc, countdown=countdown, max_retries=max_retries)


# ---- the stages ------------------------------------------------------------------


def _parse(store: Store, doc: DocumentRecord, done: Done) -> None:
    raw = RawArticle(source=doc.source, format=doc.format, content=doc.raw)
    store.save_parsed(doc.id, parse_article(raw), done())


def _tag(store: Store, doc: DocumentRecord, done: Done) -> None:
    if doc.article is None:
        raise DocumentNotFound(f"document {doc.id} has no parsed article to tag")
    tagger = get_tagger()
    mentions = tagger.tag(doc.article.text)
    store.save_tags(doc.id, mentions, tagger.version, done())


def _index(store: Store, doc: DocumentRecord, done: Done) -> None:
    store.index_document(doc.id, done())


STAGE_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "throws": (StageFailed,)}


@app.task(name="docflow.parse", **STAGE_OPTIONS)
def parse(self: Task, doc_id: str) -> str:
    run_stage(self, Stage.parse, doc_id, _parse)
    return doc_id


@app.task(name="docflow.tag", **STAGE_OPTIONS)
def tag(self: Task, doc_id: str) -> str:
    run_stage(self, Stage.tag, doc_id, _tag)
    return doc_id


@app.task(name="docflow.index", **STAGE_OPTIONS)
def index(self: Task, doc_id: str) -> str:
    run_stage(self, Stage.index, doc_id, _index)
    return doc_id


STAGE_TASKS: dict[Stage, Task] = {Stage.parse: parse, Stage.tag: tag, Stage.index: index}


def enqueue_chain(doc_id: str, trace_id: str, start: Stage = Stage.parse) -> None:
    """Send the chain of stages from `start` to index for one document."""
    stages = [Stage.parse, Stage.tag, Stage.index]
    sigs = [
        STAGE_TASKS[s].si(doc_id).set(headers={"trace_id": trace_id})
        for s in stages[stages.index(start) :]
    ]
    chain(*sigs).apply_async(headers={"trace_id": trace_id})


def enqueue_from_status(doc_id: str, trace_id: str, status: Status) -> bool:
    """Enqueue whatever stages remain for a document in `status`; False if none remain."""
    stage = NEXT_STAGE.get(status)
    if stage is None or stage is Stage.ingest:
        return False
    enqueue_chain(doc_id, trace_id, stage)
    return True


@app.task(name="docflow.ingest", bind=True, acks_late=True)
def ingest(self: Task, name: str, data_b64: str) -> dict[str, Any]:
    """Take one file's name and base64 bytes; record its articles; start their chains."""
    started = time.time()
    structlog.contextvars.bind_contextvars(
        task_id=self.request.id, stage="ingest", worker=self.request.hostname, source=name
    )
    store = get_store()
    try:
        result = ingest_file(
            store,
            name,
            base64.b64decode(data_b64),
            max_bytes=get_settings().max_file_bytes,
            worker=self.request.hostname,
            task_id=self.request.id,
        )
    except PermanentError as exc:
        store.record_rejected(name, exc.describe())
        log.warning("file_rejected", error=exc.describe())
        return IngestResult(source=name, errors=[exc.describe()]).model_dump()
    except RetryableError as exc:
        raise self.retry(
            exc=exc, countdown=backoff(self.request.retries), max_retries=get_settings().max_retries
        ) from exc
    start_chains(result)
    log.info(
        "file_ingested",
        articles=len(result.new_ids),
        duplicates=len(result.duplicate_ids),
        errors=len(result.errors),
        duration_ms=round((time.time() - started) * 1000, 2),
    )
    return result.model_dump()


def start_chains(result: IngestResult) -> None:
    """One chain for each new document of an ingested file."""
    for doc_id in result.new_ids:
        enqueue_chain(doc_id, result.traces[doc_id])
