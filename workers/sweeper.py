"""Recovery sweep: find documents whose messages were lost and send them on again.

Celery on Redis delivers at least once, but a message can still vanish (Redis restarted
without persistence) or wait a long time (a SIGKILLed worker's unacked messages return
only after the visibility timeout). The store knows every document's status, so a
document that has not moved for a while is re-enqueued, unless

* the queue of its next stage still holds messages (it is probably waiting in that
  backlog, not lost; it is looked at again once the queue drains), or
* its current stage run holds a **lease**: it started less than the hard time limit
  ago on a worker whose heartbeat is still alive (it is being worked on right now), or
  it failed a moment ago and its retry is scheduled (see `Lease`), or
* it was re-enqueued a moment ago (a claim, so two sweeps never send it twice).

Stages skip work already done, so a document sent twice is still processed once.
Everything here is pure (no Redis, no Celery); `workers.recovery` wires it in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

import structlog

from tasks.models import NEXT_STAGE, DocumentRecord, StageRun, Status

log = structlog.get_logger("docflow.sweeper")

Enqueue = Callable[[str, str, Status], bool]


class SweptStore(Protocol):
    """The part of `tasks.store.Store` a sweep reads."""

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]: ...

    def stage_runs(self, doc_id: str) -> list[StageRun]: ...

    def get_document(self, doc_id: str) -> DocumentRecord: ...


Claim = Callable[[str], bool]
#: at most this many documents are re-enqueued by one sweep (the rest wait for the next)
MAX_PER_SWEEP = 5000
#: document ids per `documents_recovered` log line
IDS_PER_LINE = 50


@dataclass(frozen=True)
class Lease:
    """When a document's current stage run still counts as being worked on.

    A run without an outcome holds its lease while it started less than `lease_s` ago
    (the hard time limit plus a margin: no run lives longer) and its worker node is among
    `alive` (nodes with a fresh heartbeat); `alive` None means the heartbeats are unknown,
    and then only the age counts. A run that ended with an error on a document that is
    not failed has a retry scheduled: it holds the lease for `retry_grace_s` after it
    ended (the longest backoff plus the time a due retry may wait for a free process).
    """

    lease_s: float
    alive: Collection[str] | None = None
    retry_grace_s: float = 0.0

    def held(self, run: StageRun | None, now: float) -> bool:
        if run is None or run.started is None:
            return False
        if run.duration_ms is None:
            if now - run.started >= self.lease_s:
                return False
            return self.alive is None or (run.worker is not None and run.worker in self.alive)
        if run.error and self.retry_grace_s > 0:
            return now - (run.started + run.duration_ms / 1000) < self.retry_grace_s
        return False


def sweep(
    store: SweptStore,
    enqueue: Enqueue,
    older_than_s: float,
    queue_depths: dict[str, int] | None = None,
    force: bool = False,
    *,
    lease: Lease | None = None,
    claim: Claim | None = None,
    now: float | None = None,
    limit: int = MAX_PER_SWEEP,
) -> list[str]:
    """Re-enqueue stuck documents; returns their ids.

    A document is stuck when it is not final and has not changed for `older_than_s`.
    Without `force` it is only re-sent when the queue of its next stage is empty
    (`queue_depths` None means unknown = empty) and its current run holds no `lease`;
    `claim` (if given) must accept the document, which keeps two sweeps from sending it
    twice.
    """
    now = time.time() if now is None else now
    resent: list[str] = []
    held = 0
    for doc_id, status in store.stuck_documents(older_than_s):
        stage = NEXT_STAGE.get(status)
        if stage is None:
            continue
        if not force and queue_depths and queue_depths.get(stage.value, 0) > 0:
            continue
        if not force and lease is not None:
            run = next((r for r in store.stage_runs(doc_id) if r.stage == stage.value), None)
            if lease.held(run, now):
                held += 1
                continue
        if claim is not None and not claim(doc_id):
            continue
        doc = store.get_document(doc_id)
        if doc.status is not status:
            continue  # it moved on since the list was read
        if enqueue(doc_id, doc.trace_id, status):
            resent.append(doc_id)
        if len(resent) >= limit:
            break
    # every id is said (a lost batch is up to DOCFLOW_BATCH_MAX_DOCS at once), in lines of
    # at most IDS_PER_LINE so one line stays readable
    for start in range(0, len(resent), IDS_PER_LINE):
        ids = resent[start : start + IDS_PER_LINE]
        log.warning("documents_recovered", count=len(resent), ids=ids, held=held)
    return resent


class StallDetector:
    """A worker that has messages waiting, nothing to do, and takes nothing, is stalled.

    The liveness check behind celery #9054 / #10205 (a worker that stops consuming after
    a broker restart): fed every few seconds with what the worker sees, it reports a
    stall once all three held for `stall_s` without a break.
    """

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._since: float | None = None
        self._received: int | None = None

    def observe(self, now: float, waiting: int, busy: int, received: int) -> bool:
        """waiting: messages in this worker's queues; busy: tasks it holds; received: total."""
        moved = self._received is not None and received != self._received
        self._received = received
        if waiting <= 0 or busy > 0 or moved:
            self._since = None
            return False
        if self._since is None:
            self._since = now
            return False
        return now - self._since >= self.stall_s


class SweepThread(threading.Thread):
    """Runs `tick` every `interval` seconds until stopped; errors are logged, never fatal."""

    def __init__(
        self, tick: Callable[[], object], interval: float, name: str = "docflow-sweeper"
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.tick = tick
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:  # the sweep must never take the process down
                log.warning(f"{self.name}_failed", error=f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self.stopped.set()
