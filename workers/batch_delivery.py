"""How a batch of documents is delivered: one model call and one write transaction for all.

A `docflow.parse_batch` message carries several document ids. `deliver_batch` runs
them through parse and, on a worker that runs them inline, tag and index:

1. read each document; one that is already past parse (a duplicate or redelivered
   message) is skipped alone;
2. a *redelivered* batch whose previous run never finished (its worker died: a crash, a
   poison document, the hard time limit) is not run again: each document whose run was
   lost counts one crash and goes on in a single-document message of its own
   (`_split_lost`), so a poison document meets its own crash budget alone and costs each
   batch-mate one retry at most;
3. one transaction takes every document's lease (`start_stage`);
4. parse each document, then ONE `Tagger.tag_batch` over the parsed texts;
5. one transaction (`store.batch`) holds every write: parsed, tagged, indexed, or the
   document's failure or retry. Each write is compare-and-set on the document's own run,
   so a stale or failed document is refused alone while its batch-mates commit.

Every document keeps its own stage runs, attempts and outcome (an `Outcome` per id, as
`workers.delivery.run_stage` gives for one). Each stage run of a document in batch B has
the task id `member_task_id(B, doc, stage)`; a retry is sent as that document's own
single-document message with that id, exactly as an inline run's retry is, so its
budgets are the single path's. A whole-batch problem (a soft time limit, a bug outside
one document's work) counts one crash for each document and splits the batch the same
way; the store being down retries the batch as a whole (`BatchStoreDown`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from tasks.errors import DocumentNotFound, PermanentError, RetryableError, StaleRun, TaggingError
from tasks.models import (
    Article,
    DocumentRecord,
    Mention,
    RawArticle,
    Stage,
    StageRun,
    Status,
)
from tasks.parse import parse_article
from tasks.store import StageResult, Store
from tasks.store.base import INPUT_STATUS
from tasks.tag import Tagger
from workers.delivery import (
    MAX_STARTS,
    fail,
    lost_run,
    retry_or_fail,
    superseded,
)
from workers.stage_runs import Done, Outcome, Skipped, StageCall, WorkerLost, timer

log = structlog.get_logger("docflow.batch")

#: the stages a batch can run, in order; a batch always starts with parse
BATCH_STAGES = (Stage.parse, Stage.tag, Stage.index)


class BatchStoreDown(RetryableError):
    """The store could not be reached for the batch as a whole: retry the batch."""


def member_task_id(batch_id: str, doc_id: str, stage: Stage) -> str:
    """The task id of `stage`'s run on `doc_id` inside batch message `batch_id` (stable)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"docflow:{batch_id}:{doc_id}:{stage.value}"))


@dataclass(frozen=True)
class BatchCall:
    """One delivery of a batch message: its id, worker, and what Celery says about it."""

    task_id: str
    worker: str | None
    doc_ids: tuple[str, ...]
    redelivered: bool = False
    hard_limit_s: float = 180.0
    #: the stages this worker runs, from parse on (parse alone on a split deployment)
    stages: tuple[Stage, ...] = BATCH_STAGES


@dataclass(frozen=True)
class Problem:
    """A document's error found outside the write transaction, recorded inside it.

    `whole_batch`: the batch broke around the document (a soft time limit, an error
    outside any one document's work): one crash, then a message of its own.
    """

    stage: Stage
    exc: BaseException
    whole_batch: bool = False


@dataclass
class Member:
    """One document of the batch while it runs."""

    doc: DocumentRecord
    batch: BatchCall
    article: Article | None = None
    mentions: list[Mention] | None = None
    tag_version: str = ""
    timers: dict[Stage, Callable[..., StageResult]] = field(default_factory=dict)
    #: each finished stage's run, timed when its work ended (written later, in `_write`)
    done: dict[Stage, StageResult] = field(default_factory=dict)
    problem: Problem | None = None
    #: how the document left the batch; None while it is still running
    outcome: Outcome | None = None
    #: the stage the document's run is at (the one its outcome is about)
    stage: Stage = Stage.parse

    def call(self, stage: Stage) -> StageCall:
        """The document's run of `stage`: an inline-style run with its own task id."""
        task_id = member_task_id(self.batch.task_id, self.doc.id, stage)
        return StageCall(
            stage,
            task_id,
            inline=True,
            batch_id=self.batch.task_id,
            batch_size=len(self.batch.doc_ids),
        )

    def start(self, stage: Stage, started: float | None = None) -> Callable[..., StageResult]:
        """The timer of the document's run of `stage`, from `started` (default now)."""
        self.timers[stage] = timer(self.call(stage), self.batch.worker, started)
        return self.timers[stage]

    def bind(self, stage: Stage) -> None:
        """Log lines from here on are about this document's run, in this batch."""
        self.stage = stage
        structlog.contextvars.bind_contextvars(
            doc_id=self.doc.id,
            trace_id=self.doc.trace_id,
            task_id=self.call(stage).task_id,
            stage=stage.value,
            batch_id=self.batch.task_id,
            batch_size=len(self.batch.doc_ids),
        )


def deliver_batch(
    store: Store, get_tagger: Callable[[], Tagger], batch: BatchCall
) -> dict[str, Ended]:
    """Run the batch; per document id, its last run and how that run ended.

    Raises BatchStoreDown when the store is unreachable before the writes, or aborts them:
    nothing of the batch's work was written, and the whole message is worth retrying.
    """
    try:
        members, skipped = _load(store, batch)
        if batch.redelivered and members and _split_lost(store, batch, members):
            return {**skipped, **_ended(members)}
        _lease(store, members)
        try:
            _compute(members, get_tagger, batch)
        except Exception as exc:  # the batch as a whole hung (soft time limit) or broke
            _crash_all(members, exc)
        _write(store, members, batch)
    except RetryableError as exc:
        raise BatchStoreDown(exc.describe()) from exc
    return {**skipped, **_ended(members)}


@dataclass(frozen=True)
class Ended:
    """How a document's part of the batch ended: its last run, the outcome, its trace."""

    call: StageCall
    outcome: Outcome
    trace_id: str | None = None


def _ended(members: list[Member]) -> dict[str, Ended]:
    return {
        m.doc.id: Ended(m.call(m.stage), m.outcome or Skipped(ignore=False), m.doc.trace_id)
        for m in members
    }


# ---- 1-2. read the documents; a lost batch is split ----------------------------------


def _load(store: Store, batch: BatchCall) -> tuple[list[Member], dict[str, Ended]]:
    """The documents still waiting for parse; the others, skipped alone."""
    members: list[Member] = []
    skipped: dict[str, Ended] = {}
    for doc_id in batch.doc_ids:
        task_id = member_task_id(batch.task_id, doc_id, Stage.parse)
        call = StageCall(Stage.parse, task_id, inline=True)
        try:
            doc = store.get_document(doc_id)
        except DocumentNotFound:
            log.error("document_missing", doc_id=doc_id, reason="not in the store; nothing to do")
            skipped[doc_id] = Ended(call, Skipped(ignore=False))
            continue
        if doc.status != INPUT_STATUS[Stage.parse]:
            log.info("stage_skipped", doc_id=doc_id, status=doc.status.value)
            skipped[doc_id] = Ended(call, Skipped(), doc.trace_id)
            continue
        members.append(Member(doc, batch))
    return members, skipped


def _split_lost(store: Store, batch: BatchCall, members: list[Member]) -> bool:
    """A redelivered batch whose previous run was lost: one crash and a message each.

    True if it was (each member's outcome is then set); False if no run of this batch
    was lost (it never started its leases): the batch runs as usual.
    """
    runs = {
        m.doc.id: next((r for r in store.stage_runs(m.doc.id) if r.stage == "parse"), None)
        for m in members
    }
    lost = [m for m in members if _unfinished(runs[m.doc.id], m.call(Stage.parse).task_id)]
    if not lost:
        return False
    first = lost[0]
    request = _Redelivered(batch.task_id)
    why = lost_run(
        runs[first.doc.id], request, batch.hard_limit_s, task_id=first.call(Stage.parse).task_id
    )
    size = len(batch.doc_ids)
    log.warning("batch_split", batch_id=batch.task_id, lost=len(lost), size=size, reason=why)
    exc = WorkerLost(f"parse (in a batch of {size}) did not finish: {why}")
    with store.batch([m.doc.id for m in members]):
        for member in members:
            if member not in lost:  # another run owns it: that run carries on
                member.outcome = Skipped()
                continue
            member.bind(Stage.parse)
            result = member.start(Stage.parse)
            call = member.call(Stage.parse)
            member.outcome = retry_or_fail(call, store, member.doc.id, result, exc, crash=True)
    return True


def _unfinished(run: StageRun | None, task_id: str) -> bool:
    """Did this run (of `task_id`) start and record no outcome?"""
    return (
        run is not None
        and run.task_id == task_id
        and run.started is not None
        and run.duration_ms is None
    )


@dataclass(frozen=True)
class _Redelivered:
    """What `lost_run` reads of a request: its id and that it was redelivered."""

    id: str
    delivery_info: dict[str, Any] = field(default_factory=lambda: {"redelivered": True})


# ---- 3. the leases -------------------------------------------------------------------


def _lease(store: Store, members: list[Member]) -> None:
    """Every document's parse run starts, in one transaction."""
    if not members:
        return
    started = time.time()
    with store.batch([m.doc.id for m in members]):
        for member in members:
            member.bind(Stage.parse)
            result = member.start(Stage.parse, started)
            try:
                starts = store.start_stage(member.doc.id, result())
            except StaleRun as exc:
                member.outcome = superseded(exc)
                continue
            except DocumentNotFound:
                member.outcome = Skipped(ignore=False)
                continue
            if starts > MAX_STARTS:
                error = (
                    f"parse started {starts} times without finishing: the document crashes "
                    "or hangs the worker; see `docflow trace` and report it"
                )
                member.outcome = fail(
                    store, member.doc.id, result(error, starts), RuntimeError(error)
                )


# ---- 4. the work: parse each, one model call ------------------------------------------


def _compute(members: list[Member], get_tagger: Callable[[], Tagger], batch: BatchCall) -> None:
    """Parse each running document, then tag the parsed ones with one `tag_batch`.

    A document's own error becomes its `problem` (recorded in `_write`, inside the
    transaction); a soft time limit or an error outside one document propagates.
    """
    for member in _running(members):
        doc = member.doc
        raw = RawArticle(source=doc.source, format=doc.format, content=doc.raw)
        done = member.start(Stage.parse)  # this document's own parse time, not the batch's
        try:
            member.article = parse_article(raw)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            member.problem = Problem(Stage.parse, exc)
        else:
            member.done[Stage.parse] = done()
    if Stage.tag not in batch.stages:
        return
    parsed = [m for m in _running(members) if m.article is not None and m.problem is None]
    if not parsed:
        return
    tagger = get_tagger()
    started = time.time()
    texts = [m.article.text for m in parsed if m.article is not None]
    tagged = tagger.tag_batch(texts)
    elapsed_ms = (time.time() - started) * 1000
    words = sum(m.article.word_count for m in parsed if m.article is not None)
    for member, mentions in zip(parsed, tagged, strict=True):
        result = member.start(Stage.tag, started)
        member.tag_version = tagger.version
        if isinstance(mentions, TaggingError):
            member.problem = Problem(Stage.tag, mentions)
            continue
        member.mentions = mentions
        # the one model call's time, shared out by words: per-document times still add up
        share = (member.article.word_count if member.article else 0) / max(1, words)
        member.done[Stage.tag] = replace(result(), duration_ms=elapsed_ms * share)
    log.info("batch_tagged", batch_id=batch.task_id, docs=len(parsed), words=words)


def _running(members: Sequence[Member]) -> list[Member]:
    return [m for m in members if m.outcome is None]


def _crash_all(members: list[Member], exc: BaseException) -> None:
    """The batch as a whole broke: every running document counts a crash and goes alone."""
    if isinstance(exc, RetryableError):
        raise exc
    log.warning("batch_crashed", error=f"{type(exc).__name__}: {exc}")
    for member in _running(members):
        if member.problem is None or not isinstance(member.problem.exc, PermanentError):
            member.problem = Problem(Stage.parse, exc, whole_batch=True)


# ---- 5. one transaction for every write -------------------------------------------------


def _write(store: Store, members: list[Member], batch: BatchCall) -> None:
    live = _running(members)
    if not live:
        return
    with store.batch([m.doc.id for m in live]):
        for member in live:
            member.outcome = _write_one(store, member, batch)


def _write_one(store: Store, member: Member, batch: BatchCall) -> Outcome:
    """The document's writes, each compare-and-set on its own run; how its run ended."""
    doc_id, problem = member.doc.id, member.problem
    if problem is not None and problem.stage is Stage.parse:
        return _own_error(store, member, problem)
    assert member.article is not None
    doc = member.doc
    try:
        member.bind(Stage.parse)
        store.save_parsed(doc_id, member.article, member.done[Stage.parse])
        doc = doc.model_copy(update={"status": Status.parsed, "article": member.article})
        if Stage.tag not in batch.stages:
            return Done(doc)
        member.bind(Stage.tag)
        store.start_stage(doc_id, member.timers[Stage.tag]())
        if problem is not None:
            return _own_error(store, member, problem)
        mentions = member.mentions or []
        store.save_tags(doc_id, mentions, member.tag_version, member.done[Stage.tag])
        doc = doc.model_copy(
            update={
                "status": Status.tagged,
                "mentions": mentions,
                "tag_version": member.tag_version,
            }
        )
        if Stage.index not in batch.stages:
            return Done(doc)
        member.bind(Stage.index)
        index_result = member.start(Stage.index)
        store.start_stage(doc_id, index_result())
        store.index_document(doc_id, index_result())
        return Done(doc.model_copy(update={"status": Status.indexed}))
    except StaleRun as exc:
        return superseded(exc)
    except DocumentNotFound:
        log.error("document_missing", reason="not in the store; nothing to do")
        return Skipped(ignore=False)


def _own_error(store: Store, member: Member, problem: Problem) -> Outcome:
    """A permanent error fails the document alone; anything else is one crash, then alone."""
    member.bind(problem.stage)
    result = member.timers[problem.stage]
    call = member.call(problem.stage)
    if isinstance(problem.exc, PermanentError) and not problem.whole_batch:
        return fail(store, member.doc.id, result(problem.exc.describe()), problem.exc)
    return retry_or_fail(call, store, member.doc.id, result, problem.exc, crash=True)
