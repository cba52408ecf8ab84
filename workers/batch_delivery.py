"""How a batch of documents is delivered: one model call and one write transaction for all.

A `docflow.<stage>_batch` message (parse, tag or index) carries several document ids.
`deliver_batch` runs them through the message's stage and each following stage the
worker runs inline (`BatchCall.stages`: on an all-queue worker a parse batch is parse,
tag and index; on a `--queues tag,index` worker a tag batch is tag and index; an index
batch is index alone):

1. read each document; one not waiting for the first stage is skipped alone
   (`workers.batch_members.load`);
2. a *redelivered* batch whose previous run never finished is split: each document
   whose run was lost counts one crash and goes on alone (`split_lost`);
3. one transaction takes every document's lease on the first stage (`lease`);
4. parse each document, or ONE `Tagger.tag_batch` over the parsed texts
   (`workers.batch_compute`);
5. one transaction (`store.batch`) holds every write: parsed, or tagged and indexed, or
   the document's failure or retry (`workers.batch_writes`).

A parse batch on a worker that also tags runs in two phases, as the single inline path
does: parse (steps 1-5, committed), then the parsed documents go straight on as a tag
batch in the same task (steps 1-5 again, no message between). So while the model runs,
each document is `parsed` and holds a lease on its tag run: a worker killed during the
model call loses the tag runs only (the redelivered batch finds them unfinished and
splits; the recovery sweep finds them from the store too), never the parse work.

Every document keeps its own stage runs, attempts and outcome (an `Outcome` per id, as
`workers.delivery.run_stage` gives for one). A retry is sent as that document's own
single-document message under its member task id, exactly as an inline run's retry is,
so its budgets are the single path's. A whole-batch problem (a soft time limit, a bug
outside one document's work, a crash inside the write transaction) counts one crash
for each document and sends each alone; the store being down retries the batch as a
whole (`BatchStoreDown`, see `workers.batch_tasks`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from tasks.errors import RetryableError
from tasks.models import Stage
from tasks.store import Store
from tasks.tag import Tagger
from workers.batch_compute import compute, crash_all
from workers.batch_members import (
    BATCH_STAGES,
    BatchCall,
    Ended,
    ended,
    lease,
    load,
    member_task_id,
    split_lost,
)
from workers.batch_writes import write

__all__ = [
    "BATCH_STAGES",
    "BatchCall",
    "BatchStoreDown",
    "Ended",
    "deliver_batch",
    "member_task_id",
]


class BatchStoreDown(RetryableError):
    """The store could not be reached for the batch as a whole: retry the batch."""


def deliver_batch(
    store: Store, get_tagger: Callable[[], Tagger], batch: BatchCall
) -> dict[str, Ended]:
    """Run the batch; per document id, its last run and how that run ended.

    Raises BatchStoreDown when the store is unreachable before the writes, or aborts them:
    nothing of the batch's work was written, and the whole message is worth retrying.
    """
    if batch.first is not Stage.parse or len(batch.stages) == 1:
        return _deliver_phase(store, get_tagger, batch)
    parsed = _deliver_phase(store, get_tagger, replace(batch, stages=(Stage.parse,)))
    # on to the model: the documents parsed now, and on a redelivery or a retry those
    # this message parsed before (a lost tag run of theirs is found and split by the tag
    # phase; after a store outage they simply go on)
    again = batch.redelivered or batch.retried
    onward = tuple(
        doc_id for doc_id, end in parsed.items() if end.continues or (again and end.skipped_waiting)
    )
    if not onward:
        return parsed
    rest = replace(batch, stages=batch.stages[1:], doc_ids=onward)
    return {**parsed, **_deliver_phase(store, get_tagger, rest)}


def _deliver_phase(
    store: Store, get_tagger: Callable[[], Tagger], batch: BatchCall
) -> dict[str, Ended]:
    """Steps 1-5 for the batch's stages."""
    try:
        members, skipped = load(store, batch)
        if batch.redelivered and members and split_lost(store, batch, members):
            return {**skipped, **ended(members)}
        lease(store, members, batch)
        try:
            compute(members, get_tagger, batch, store)
        except Exception as exc:  # the batch as a whole hung (soft time limit) or broke
            crash_all(members, exc, batch)
        write(store, members, batch)
    except RetryableError as exc:
        raise BatchStoreDown(exc.describe()) from exc
    return {**skipped, **ended(members)}
