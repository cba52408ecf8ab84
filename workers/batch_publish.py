"""Publishing a burst of new documents as batch messages: the watcher's and intake's sender.

A publisher adds every file it recorded (`BatchSender.add`, an `IngestResult` each) and
then flushes once per burst (one watcher tick, one `docflow ingest`): the new documents
are grouped with `workers.batching.plan_batches` by a fair share of the processes that
take parse messages, bounded by DOCFLOW_BATCH_MAX_DOCS and DOCFLOW_BATCH_MAX_WORDS, and
each group is one message (`workers.publish.send_batch`). A group of one is the single
`docflow.parse` message, so a trickle (one file per tick) goes through alone at once.

The documents are recorded (status `received`) before they are added here, so a flush
that fails (the broker went away) loses nothing: the groups not sent stay pending for
the next flush, and the recovery sweep sends any `received` document that stays idle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from tasks.models import IngestResult
from workers.batching import full_batches, plan_batches
from workers.publish import send_batch
from workers.recovery import live_heartbeats, redis_client
from workers.settings import Settings

log = structlog.get_logger("docflow.publish")

#: how long a publisher trusts its count of parse consumers before reading it again
CONSUMERS_TTL_S = 10.0


def parse_consumers(beats: Iterable[dict[str, Any]], fallback: int) -> int:
    """How many processes take parse messages: the pool sizes of the live parse workers.

    `beats` are the workers' heartbeat values (`workers.recovery.live_heartbeats`). A
    worker that does not say its queues yet (starting, or an older version) counts as a
    parse worker, and one that does not say its pool size counts `fallback` processes.
    None alive (workers not started yet): `fallback`.
    """
    count = 0
    for beat in beats:
        queues = beat.get("queues")
        if isinstance(queues, list) and "parse" not in queues:
            continue
        size = beat.get("concurrency")
        count += size if isinstance(size, int) and size > 0 else fallback
    return max(1, count or fallback)


def broker_consumers(broker_url: str, fallback: int) -> int:
    """`parse_consumers` read from a Redis broker; `fallback` if it cannot be read."""
    if not broker_url.startswith(("redis://", "rediss://", "redis+socket://")):
        return fallback
    try:
        with redis_client(broker_url) as client:
            return parse_consumers(live_heartbeats(client), fallback)
    except redis.RedisError as exc:
        log.debug("consumers_unknown", error=f"{type(exc).__name__}: {exc}")
        return fallback


@dataclass
class _Pending:
    doc_id: str
    trace_id: str
    words: int


@dataclass
class BatchSender:
    """The new documents of one burst, sent in batches on `flush`."""

    max_docs: int
    max_words: int
    #: how many processes take parse messages now (read at most every CONSUMERS_TTL_S)
    consumers: Callable[[], int]
    pending: list[_Pending] = field(default_factory=list)
    _consumers: tuple[float, int] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, broker_url: str | None = None) -> BatchSender:
        """A sender sized by `settings`, counting the consumers on `broker_url` (default:
        the Celery app's broker)."""
        fallback = settings.concurrency or os.cpu_count() or 1

        def consumers() -> int:
            if broker_url is not None:
                url = broker_url
            else:
                from workers.app import app

                url = str(app.conf.broker_url or "")
            return broker_consumers(url, fallback)

        return cls(settings.batch_max_docs, settings.batch_max_words, consumers)

    def add(self, result: IngestResult) -> None:
        """Queue the new documents of one recorded file for the next flush."""
        for doc_id in result.new_ids:
            self.pending.append(
                _Pending(doc_id, result.traces.get(doc_id, ""), result.words.get(doc_id, 1))
            )

    def add_ids(self, docs: Iterable[tuple[str, str]]) -> None:
        """Queue documents already recorded, by (id, trace id), e.g. a recovered claim's."""
        self.pending.extend(_Pending(doc_id, trace, 1) for doc_id, trace in docs)

    def burst_ready(self) -> bool:
        """Whether enough is pending to give every parse consumer a full batch: a long
        intake flushes then, so the workers start before the last file is recorded."""
        return len(self.pending) >= self.max_docs * self._consumer_count()

    def flush(self, connection: Any = None, *, more_coming: bool = False) -> list[list[str]]:
        """Send what is pending, in batches; the groups sent, in order.

        `more_coming`: the burst goes on (a long intake between groups of files), so only
        full batches go now and the rest waits; the last flush of a burst sends everything,
        its batches shrinking toward the end (`workers.batching.plan_batches`).
        If publishing fails, the groups not sent yet stay pending and the error is raised.
        """
        if not self.pending:
            return []
        pending = self.pending
        words = [p.words for p in pending]
        plan = (
            full_batches(words, self.max_docs, self.max_words)
            if more_coming
            else plan_batches(words, self._consumer_count(), self.max_docs, self.max_words)
        )
        sent: list[list[str]] = []
        done: set[int] = set()
        try:
            for group in plan:
                ids = [pending[i].doc_id for i in group]
                traces = {pending[i].doc_id: pending[i].trace_id for i in group}
                send_batch(ids, traces, connection=connection)
                sent.append(ids)
                done.update(group)
        finally:
            self.pending = [p for i, p in enumerate(pending) if i not in done]
        return sent

    def _consumer_count(self) -> int:
        now = time.monotonic()
        if self._consumers is None or now - self._consumers[0] > CONSUMERS_TTL_S:
            self._consumers = (now, self.consumers())
        return self._consumers[1]
