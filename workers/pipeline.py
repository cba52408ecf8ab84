"""The stage tasks, docflow.parse / tag / index: each runs its stage through delivery.

`docflow.parse_batch`, `tag_batch` and `index_batch` take several documents at once
(`workers.batch_tasks`, `workers.batch_delivery`).
How a run is retried, failed, skipped or followed by the next stage inline is
`workers.delivery`'s; what each stage does is `workers.stage_work`'s.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from tasks.models import Stage
from workers.app import app
from workers.batch_tasks import process_batch
from workers.delivery import StageFailed, process

STAGE_OPTIONS: dict[str, Any] = {"bind": True, "acks_late": True, "throws": (StageFailed,)}
#: a batch task's time limits scale with its size (the worker's own settings)
BATCH_OPTIONS: dict[str, Any] = {**STAGE_OPTIONS, "Request": "workers.batch_tasks:BatchRequest"}


@app.task(name="docflow.parse", **STAGE_OPTIONS)
def parse(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.parse, doc_id, crashes)
    return doc_id


@app.task(name="docflow.tag", **STAGE_OPTIONS)
def tag(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.tag, doc_id, crashes)
    return doc_id


@app.task(name="docflow.index", **STAGE_OPTIONS)
def index(self: Task, doc_id: str, crashes: int = 0) -> str:
    process(self, Stage.index, doc_id, crashes)
    return doc_id


@app.task(name="docflow.parse_batch", **BATCH_OPTIONS)
def parse_batch(self: Task, doc_ids: list[str]) -> list[str]:
    process_batch(self, doc_ids, Stage.parse)
    return doc_ids


@app.task(name="docflow.tag_batch", **BATCH_OPTIONS)
def tag_batch(self: Task, doc_ids: list[str]) -> list[str]:
    process_batch(self, doc_ids, Stage.tag)
    return doc_ids


@app.task(name="docflow.index_batch", **BATCH_OPTIONS)
def index_batch(self: Task, doc_ids: list[str]) -> list[str]:
    process_batch(self, doc_ids, Stage.index)
    return doc_ids
