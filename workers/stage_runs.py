"""What a stage run is, and the ways it can end: the vocabulary of `workers.delivery`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from tasks.models import DocumentRecord, Stage
from tasks.store import StageResult


class WorkerLost(RuntimeError):
    """The previous run of this message never finished: its worker process died."""


#: `result(error=None, attempts=...)`: a run's StageResult so far
Timer = Callable[..., StageResult]


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
    #: the batch message the run is part of (`docflow.<stage>_batch`) and its size
    batch_id: str | None = None
    batch_size: int | None = None


# ---- how a run ends ----------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    """The stage ran; `doc` is the document after it."""

    doc: DocumentRecord


@dataclass(frozen=True)
class Skipped:
    """Nothing to do. `ignore`: the stage already ran (a redelivered or duplicate message,
    dropped); otherwise the message's work is over (document gone, lost run handled)."""

    ignore: bool = True


@dataclass(frozen=True)
class Superseded:
    """Another run owns the stage or moved the document on; this run wrote nothing."""


@dataclass(frozen=True)
class Retry:
    """Run the stage again in `countdown` s; `budget` is the message's max retries."""

    exc: BaseException
    countdown: float
    budget: int
    crashes: int


@dataclass(frozen=True)
class Failed:
    """The store records the document as failed at this stage, for `reason`."""

    reason: str
    exc: BaseException


Outcome = Done | Skipped | Superseded | Retry | Failed


def timer(call: StageCall, worker: str | None, started: float | None = None) -> Timer:
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
            batch_id=call.batch_id,
            batch_size=call.batch_size,
        )

    return result
