"""Which stages a worker runs inline, and the task ids inline runs get."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tasks.models import Stage
from workers.app import app
from workers.delivery import inline_task_id, runs_inline
from workers.settings import get_settings


@pytest.fixture
def consuming(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Make this process look like a worker started with `--queues ...`."""
    queues = app.amqp.queues

    def select(*names: str) -> None:
        monkeypatch.setattr(queues, "_consume_from", {n: queues[n] for n in names})

    get_settings.cache_clear()
    yield select
    get_settings.cache_clear()


def test_an_inline_run_gets_a_stable_id_of_its_own_per_message_and_stage() -> None:
    message = str(uuid.uuid4())
    tag_id = inline_task_id(message, Stage.tag)
    assert tag_id == inline_task_id(message, Stage.tag)  # the same after a redelivery
    assert uuid.UUID(tag_id)  # a real UUID, as Flower and Celery expect
    assert tag_id not in {message, inline_task_id(message, Stage.index)}
    assert tag_id != inline_task_id(str(uuid.uuid4()), Stage.tag)


def test_a_worker_on_every_queue_runs_the_following_stages_inline(consuming) -> None:
    consuming("ingest", "parse", "tag", "index")
    assert runs_inline(Stage.tag) and runs_inline(Stage.index)


def test_a_worker_hands_a_stage_it_does_not_consume_to_the_workers_that_do(consuming) -> None:
    consuming("ingest", "parse")
    assert not runs_inline(Stage.tag)
    consuming("tag", "index")
    assert runs_inline(Stage.index) and not runs_inline(Stage.parse)


def test_inline_stages_can_be_turned_off(consuming, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCFLOW_INLINE_STAGES", "false")
    consuming("ingest", "parse", "tag", "index")
    assert not runs_inline(Stage.tag) and not runs_inline(Stage.index)
