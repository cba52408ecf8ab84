"""A stage run's budgets: how often it may retry, crash or start, and how it fails.

Failures are counted per kind, so one kind never uses up another's budget (see
`retry_or_fail`): crashes (unexpected exceptions, soft time-outs, lost runs) get
MAX_CRASH_ATTEMPTS tries in all; the store being down gets STORE_DOWN_RETRIES retries;
another retryable error DOCFLOW_MAX_RETRIES. A run that lost its stage is `superseded`
(it wrote nothing), and `lost_run` tells a redelivered message whose previous run never
finished. `workers.delivery` (one document) and the batch modules both use these rules.
"""

from __future__ import annotations

import random
import time
from typing import Any

import structlog

from tasks.errors import DocumentNotFound, RetryableError, StaleRun, StoreUnavailable
from tasks.models import Stage, StageRun
from tasks.store import StageResult, Store
from workers import recovery
from workers.settings import get_settings
from workers.stage_runs import Failed, Outcome, Retry, Skipped, StageCall, Superseded, Timer

log = structlog.get_logger("docflow.pipeline")

#: unexpected exceptions (bugs), soft time-outs and lost runs (the worker process died:
#: crash, out of memory, hard time limit) together get this many tries in all
MAX_CRASH_ATTEMPTS = 3
#: while the store is unreachable a stage keeps retrying (with capped backoff) this often
STORE_DOWN_RETRIES = 30
#: backstop: a stage started this many times on one document without an outcome is failed,
#: whatever the reason (crashes are normally counted exactly, see `lost_run`)
MAX_STARTS = STORE_DOWN_RETRIES + 20


def backoff(retries: int) -> float:
    """Exponential backoff with jitter, capped by DOCFLOW_RETRY_BACKOFF_MAX_S."""
    cap = get_settings().retry_backoff_max_s
    return min(cap, 2.0**retries) * (0.5 + random.random() / 2)


def retry_or_fail(
    call: StageCall,
    store: Store,
    doc_id: str,
    result: Timer,
    exc: BaseException,
    *,
    crash: bool,
    cause: BaseException | None = None,
) -> Outcome:
    """Retry the stage with backoff, or fail the document once this kind's budget is spent.

    `crash`: an unexpected exception, a soft time-out or a lost run, counted in the
    message's `crashes` (MAX_CRASH_ATTEMPTS tries in all). Otherwise a retryable error:
    the store down (STORE_DOWN_RETRIES) or another (DOCFLOW_MAX_RETRIES), counted by the
    message's retries less its crashes.
    """
    message = exc.describe() if isinstance(exc, RetryableError) else described(exc)
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
        return fail(store, doc_id, run, cause or exc)
    try:
        store.record_attempt(doc_id, run)
    except StaleRun as stale:
        return superseded(stale, message)
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        return Skipped(ignore=False)
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
    return Retry(exc, countdown, retries + 1, crashes)


def fail(store: Store, doc_id: str, run: StageResult, exc: BaseException) -> Outcome:
    """Record the document as failed by this run (unless the run is stale by now)."""
    try:
        store.mark_failed(doc_id, run)
    except StaleRun as stale:  # a late failure never overwrites another run's outcome
        return superseded(stale, run.error)
    log.warning(
        "document_failed",
        error=run.error,
        attempts=run.attempts,
        duration_ms=round(run.duration_ms, 2),
    )
    return Failed(run.error or "", exc)


def superseded(stale: StaleRun, error: str | None = None) -> Superseded:
    """This run lost the stage (the document moved on, or another run owns it).

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
    return Superseded()


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
    if not redelivered(request) or previous is None or previous.started is None:
        return None
    if previous.task_id != (task_id or request.id) or previous.duration_ms is not None:
        return None
    limit = recovery.hard_timeout_of(request.id)
    if limit is not None:
        return f"it was killed at the hard time limit of {limit:g} s (it hangs)"
    elapsed = max(0.0, time.time() - previous.started)
    if elapsed >= hard_limit_s + 60:
        return f"its worker stopped answering (killed or cut off); back after {elapsed:.0f} s"
    return "the worker process running it died (a crash, out of memory, or killed)"


def redelivered(request: Any) -> bool:
    return bool((getattr(request, "delivery_info", None) or {}).get("redelivered"))


def current_run(store: Store, doc_id: str, stage: Stage) -> StageRun | None:
    """The latest recorded run of `stage` on the document, if any."""
    return next((r for r in store.stage_runs(doc_id) if r.stage == stage.value), None)


def described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
