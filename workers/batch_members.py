"""A batch's documents: who they are, which are skipped, split when lost, leased together.

The first steps of `workers.batch_delivery.deliver_batch`, for a batch starting at any
stage (`BatchCall.first`: parse, tag or index):

1. `load`: read each document; one that is not waiting for the first stage (a duplicate
   or redelivered message) is skipped alone;
2. `split_lost`: a *redelivered* batch whose previous run never finished (its worker
   died: a crash, a poison document, the hard time limit) is not run again: each
   document whose run was lost counts one crash and goes on in a single-document message
   of its own, so a poison document meets its own crash budget alone and costs each
   batch-mate one retry at most;
3. `lease`: one transaction takes every document's lease on the first stage.

Each stage run of a document in batch B has the task id `member_task_id(B, doc, stage)`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from tasks.errors import DocumentNotFound, StaleRun
from tasks.models import Article, DocumentRecord, Mention, Stage, StageRun, Status
from tasks.store import StageResult, Store
from tasks.store.base import INPUT_STATUS
from workers.budgets import MAX_STARTS, fail, lost_run, retry_or_fail, superseded
from workers.stage_runs import Done, Outcome, Skipped, StageCall, Timer, WorkerLost, timer

log = structlog.get_logger("docflow.batch")

#: the stages a batch can run, in order; a batch starts at any of them
BATCH_STAGES = (Stage.parse, Stage.tag, Stage.index)


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
    #: a retry of this batch message (the store was down): what it parsed goes on to tag
    retried: bool = False
    hard_limit_s: float = 180.0
    #: the stages this worker runs, from the batch's first stage on (the message's own
    #: stage, then each following one this worker runs inline)
    stages: tuple[Stage, ...] = BATCH_STAGES

    @property
    def first(self) -> Stage:
        """The batch's own stage: `docflow.<first>_batch`."""
        return self.stages[0]


@dataclass(frozen=True)
class Problem:
    """A document's error found outside the write transaction, recorded inside it.

    `whole_batch`: the batch broke around the document (a soft time limit, an error
    outside any one document's work, a crash in the write transaction): one crash, then
    a message of its own.
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
    #: the model's own spans the mentions were refined from (kept for `relink`)
    spans: list[tuple[int, int, str]] | None = None
    tag_version: str = ""
    timers: dict[Stage, Timer] = field(default_factory=dict)
    #: each finished stage's run, timed when its work ended (written later, in the writes)
    done: dict[Stage, StageResult] = field(default_factory=dict)
    #: the stages whose output the write transaction recorded (logged once it commits)
    saved: list[Stage] = field(default_factory=list)
    problem: Problem | None = None
    #: how the document left the batch; None while it is still running
    outcome: Outcome | None = None
    #: the stage the document's run is at (the one its outcome is about)
    stage: Stage = Stage.parse
    _calls: dict[Stage, StageCall] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.stage = self.batch.first
        if self.article is None:
            self.article = self.doc.article  # a batch from tag on: parse's output

    def call(self, stage: Stage) -> StageCall:
        """The document's run of `stage`: an inline-style run with its own task id (made
        once per stage: the writes and every log line ask for it)."""
        found = self._calls.get(stage)
        if found is None:
            task_id = member_task_id(self.batch.task_id, self.doc.id, stage)
            found = self._calls[stage] = StageCall(
                stage,
                task_id,
                inline=True,
                batch_id=self.batch.task_id,
                batch_size=len(self.batch.doc_ids),
            )
        return found

    def start(self, stage: Stage, started: float | None = None) -> Timer:
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


@dataclass(frozen=True)
class Ended:
    """How a document's part of the batch ended: its last run, the outcome, its trace."""

    call: StageCall
    outcome: Outcome
    trace_id: str | None = None
    #: a skipped document's status when it was read (None: not read, or not skipped)
    status: Status | None = None

    @property
    def continues(self) -> bool:
        """Parsed by this batch, on to the tag phase (see `deliver_batch`)."""
        return isinstance(self.outcome, Done) and self.outcome.doc.status is Status.parsed

    @property
    def skipped_waiting(self) -> bool:
        """Skipped because it was parsed already: it waits for tag."""
        return isinstance(self.outcome, Skipped) and self.status is Status.parsed


def ended(members: list[Member]) -> dict[str, Ended]:
    return {
        m.doc.id: Ended(m.call(m.stage), m.outcome or Skipped(ignore=False), m.doc.trace_id)
        for m in members
    }


def running(members: Sequence[Member]) -> list[Member]:
    """The members still in the batch (no outcome yet)."""
    return [m for m in members if m.outcome is None]


# ---- 1-2. read the documents; a lost batch is split ----------------------------------


def load(store: Store, batch: BatchCall) -> tuple[list[Member], dict[str, Ended]]:
    """The documents still waiting for the batch's first stage; the others, skipped alone."""
    members: list[Member] = []
    skipped: dict[str, Ended] = {}
    first = batch.first
    for doc_id in batch.doc_ids:
        call = StageCall(first, member_task_id(batch.task_id, doc_id, first), inline=True)
        try:
            doc = store.get_document(doc_id)
        except DocumentNotFound:
            log.error("document_missing", doc_id=doc_id, reason="not in the store; nothing to do")
            skipped[doc_id] = Ended(call, Skipped(ignore=False))
            continue
        if doc.status != INPUT_STATUS[first]:
            log.info("stage_skipped", doc_id=doc_id, stage=first.value, status=doc.status.value)
            skipped[doc_id] = Ended(call, Skipped(), doc.trace_id, doc.status)
            continue
        members.append(Member(doc, batch))
    return members, skipped


def split_lost(store: Store, batch: BatchCall, members: list[Member]) -> bool:
    """A redelivered batch whose previous run was lost: one crash and a message each.

    True if it was (each member's outcome is then set); False if no run of this batch
    was lost (it never started its leases): the batch runs as usual. Only the first
    stage's leases are committed before the writes (the later stages' start inside the
    one write transaction), so they tell whether the previous run was lost.
    """
    first = batch.first
    runs = {
        m.doc.id: next((r for r in store.stage_runs(m.doc.id) if r.stage == first.value), None)
        for m in members
    }
    lost = [m for m in members if _unfinished(runs[m.doc.id], m.call(first).task_id)]
    if not lost:
        return False
    one = lost[0]
    why = lost_run(
        runs[one.doc.id],
        _Redelivered(batch.task_id),
        batch.hard_limit_s,
        task_id=one.call(first).task_id,
    )
    size = len(batch.doc_ids)
    log.warning(
        "batch_split",
        batch_id=batch.task_id,
        stage=first.value,
        lost=len(lost),
        size=size,
        reason=why,
    )
    exc = WorkerLost(f"{first.value} (in a batch of {size}) did not finish: {why}")
    with store.batch([m.doc.id for m in members]):
        for member in members:
            if member not in lost:  # another run owns it: that run carries on
                member.outcome = Skipped()
                continue
            member.bind(first)
            result = member.start(first)
            call = member.call(first)
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


def lease(store: Store, members: list[Member], batch: BatchCall) -> None:
    """Every document's run of the first stage starts, in one transaction."""
    if not members:
        return
    first = batch.first
    started = time.time()
    with store.batch([m.doc.id for m in members]):
        for member in members:
            member.bind(first)
            result = member.start(first, started)
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
                    f"{first.value} started {starts} times without finishing: the document "
                    "crashes or hangs the worker; see `docflow trace` and report it"
                )
                member.outcome = fail(
                    store, member.doc.id, result(error, starts), RuntimeError(error)
                )
