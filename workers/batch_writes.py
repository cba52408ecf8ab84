"""A batch's writes: ONE store transaction holds every document's outcome.

Per document, each stage the batch runs is written in order (`save_parsed`,
`save_tags`, `index_document`; a later stage's lease is taken inside the same
transaction), or the document's own failure or retry is. Each write is compare-and-set
on the document's own run, so a stale or failed document is refused alone while its
batch-mates commit.

A crash inside the transaction (an unexpected exception, not a per-document refusal and
not the store being down) aborts it, so nothing of the batch's work is written. It is
then counted per document, as a whole-batch crash is (`crash_all`): a second transaction
records one crash for each document, on the first stage's run, and each goes on in a
single-document message of its own; a document's own permanent error at that stage
still fails it alone. The store being down (a `RetryableError`) propagates: the caller
retries the batch as a whole.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from tasks.errors import DocumentNotFound, PermanentError, RetryableError, StaleRun
from tasks.models import DocumentRecord, Stage, Status
from tasks.store import Store
from tasks.store.base import Written
from workers.batch_members import BatchCall, Member, Problem, running
from workers.budgets import fail, retry_or_fail, superseded
from workers.stage_runs import Done, Outcome, Skipped, Timer

log = structlog.get_logger("docflow.batch")


def write(store: Store, members: list[Member], batch: BatchCall) -> None:
    """Every running document's writes in one transaction; each member's outcome set."""
    live = running(members)
    if not live:
        return
    try:
        _transaction(store, live, lambda m: _write_one(store, m, batch))
    except RetryableError:
        raise
    except Exception as exc:  # a crash in the transaction: nothing of it was written
        log.warning(
            "batch_write_crashed",
            batch_id=batch.task_id,
            size=len(live),
            error=f"{type(exc).__name__}: {exc}",
        )
        for member in live:
            member.outcome = None
            member.saved.clear()
            if not _own_error_at_first_stage(member, batch):
                member.problem = Problem(batch.first, exc, whole_batch=True)
        _transaction(store, live, lambda m: _guarded(store, m, lambda: _problem(store, m)))
    _log_done(live)


def _transaction(store: Store, live: list[Member], each: Callable[[Member], Outcome]) -> None:
    with store.batch([m.doc.id for m in live]):
        for member in live:
            member.outcome = each(member)


def _own_error_at_first_stage(member: Member, batch: BatchCall) -> bool:
    """Does the document fail alone on the stage it holds a lease on (a permanent error)?"""
    problem = member.problem
    return (
        problem is not None
        and problem.stage is batch.first
        and isinstance(problem.exc, PermanentError)
        and not problem.whole_batch
    )


def _write_one(store: Store, member: Member, batch: BatchCall) -> Outcome:
    """The document's writes, each compare-and-set on its own run; how its run ended."""

    def stages() -> Outcome:
        doc = member.doc
        for stage in batch.stages:
            member.bind(stage)
            result = member.timers.get(stage) or member.start(stage)
            if stage is not batch.first:  # the first stage's lease was taken before
                store.start_stage(doc.id, result())
            problem = member.problem
            if problem is not None and problem.stage is stage:
                return own_error(store, member, problem)
            doc = SAVE[stage](store, member, doc, result)
            member.saved.append(stage)
        return Done(doc)

    return _guarded(store, member, stages)


def _problem(store: Store, member: Member) -> Outcome:
    assert member.problem is not None
    return own_error(store, member, member.problem)


def _guarded(store: Store, member: Member, writes: Callable[[], Outcome]) -> Outcome:
    """`writes()`, with a refusal of this document's write ending its run alone."""
    try:
        return writes()
    except StaleRun as exc:
        return superseded(exc)
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        return Skipped(ignore=False)
    except PermanentError as exc:  # the store refused this document's write for good
        return fail(store, member.doc.id, member.timers[member.stage](exc.describe()), exc)


def own_error(store: Store, member: Member, problem: Problem) -> Outcome:
    """A permanent error fails the document alone; anything else is one crash, then alone."""
    member.bind(problem.stage)
    result = member.timers[problem.stage]
    call = member.call(problem.stage)
    if isinstance(problem.exc, PermanentError) and not problem.whole_batch:
        return fail(store, member.doc.id, result(problem.exc.describe()), problem.exc)
    return retry_or_fail(call, store, member.doc.id, result, problem.exc, crash=True)


# ---- each stage's write --------------------------------------------------------------


def _save_parsed(store: Store, member: Member, doc: DocumentRecord, _: Timer) -> DocumentRecord:
    assert member.article is not None
    store.save_parsed(doc.id, member.article, member.done[Stage.parse])
    return doc.model_copy(update={"status": Status.parsed, "article": member.article})


def _save_tags(store: Store, member: Member, doc: DocumentRecord, _: Timer) -> DocumentRecord:
    mentions = member.mentions or []
    store.save_tags(doc.id, mentions, member.tag_version, member.done[Stage.tag], member.spans)
    update = {"status": Status.tagged, "mentions": mentions, "tag_version": member.tag_version}
    return doc.model_copy(update=update)


def _index(store: Store, member: Member, doc: DocumentRecord, result: Timer) -> DocumentRecord:
    member.done[Stage.index] = result()
    # tagged in this same transaction: what was written is at hand, not read back
    written = None
    if Stage.tag in member.saved and member.article is not None:
        written = Written(member.article, member.mentions or [])
    store.index_document(doc.id, member.done[Stage.index], written)
    return doc.model_copy(update={"status": Status.indexed})


SAVE: dict[Stage, Callable[[Store, Member, DocumentRecord, Timer], DocumentRecord]] = {
    Stage.parse: _save_parsed,
    Stage.tag: _save_tags,
    Stage.index: _index,
}


def _log_done(live: list[Member]) -> None:
    """`<stage>_done` per document and stage, once the transaction committed them."""
    for member in live:
        for stage in member.saved:
            member.bind(stage)
            log.info(f"{stage.value}_done", duration_ms=round(member.done[stage].duration_ms, 2))
