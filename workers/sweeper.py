"""Recovery sweep: find documents whose messages were lost and send them on again.

Celery on Redis delivers at least once, but a message can still vanish (Redis restarted
without persistence) or wait a long time (a SIGKILLed worker's unacked messages return
only after the visibility timeout). The store knows every document's status, so a
document that has not moved for a while, whose next stage's queue is empty, is re-enqueued.
Stages skip work already done, so a document sent twice is processed once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from tasks.models import NEXT_STAGE, Status
from tasks.store import Store

log = structlog.get_logger("docflow.sweeper")

Enqueue = Callable[[str, str, Status], bool]


def sweep(
    store: Store,
    enqueue: Enqueue,
    older_than_s: float,
    queue_depths: dict[str, int] | None = None,
    force: bool = False,
) -> list[str]:
    """Re-enqueue stuck documents; returns their ids.

    Without `force`, a document is only re-sent when the queue of its next stage is empty
    (so a long backlog is not duplicated); `queue_depths` None means unknown = empty.
    """
    resent: list[str] = []
    for doc_id, status in store.stuck_documents(older_than_s):
        stage = NEXT_STAGE.get(status)
        if stage is None:
            continue
        if not force and queue_depths and queue_depths.get(stage.value, 0) > 0:
            continue
        doc = store.get_document(doc_id)
        store.reset_to(doc_id, status)  # touches updated_at: not re-sent again at once
        if enqueue(doc_id, doc.trace_id, status):
            resent.append(doc_id)
    if resent:
        log.warning("documents_recovered", count=len(resent), ids=resent[:20])
    return resent


class SweepThread(threading.Thread):
    """Runs `tick` every `interval` seconds until stopped; errors are logged, never fatal."""

    def __init__(self, tick: Callable[[], object], interval: float) -> None:
        super().__init__(name="docflow-sweeper", daemon=True)
        self.tick = tick
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.tick()
            except Exception as exc:  # the sweep must never take the process down
                log.warning("sweep_failed", error=f"{type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self.stopped.set()
