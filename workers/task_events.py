"""Celery task events for stages that ran inline, so Flower sees every stage as a task.

A worker that consumes the next stage's queue runs that stage straight after the
previous one, in the same task (see `workers.delivery`). No message of its own goes
through the broker, so Celery sends no events for it; this module sends the events a
worker would have sent (received, started, then succeeded, failed or retried), under
the stage's own task name and id, with the task that ran it as `parent_id`. Flower's
task list, its API and its Prometheus metrics then show docflow.tag and docflow.index
whichever way the stages ran.

The events of one task's inline stages go out together, in one message, when the task
ends (or sooner if many pile up). Events are best effort, as Celery's own are: a broker
that cannot take one is logged at debug level and never fails the stage.
"""

from __future__ import annotations

import os
import time
from typing import Any

import structlog

from workers.app import app

log = structlog.get_logger("docflow.events")

BUFFER_LIMIT = 64
#: this process's dispatcher: (pid, hostname, dispatcher); made after fork, on first use
_dispatcher: tuple[int, str, Any] | None = None


def enabled() -> bool:
    return bool(app.conf.worker_send_task_events)


def _get(hostname: str) -> Any:
    global _dispatcher
    if _dispatcher is None or _dispatcher[0] != os.getpid() or _dispatcher[1] != hostname:
        _drop()
        # task events are buffered and published as one `task.multi` message per
        # `flush()`, as a Celery worker's own dispatcher does
        dispatcher = app.events.Dispatcher(
            app.connection_for_write(),
            hostname=hostname,
            buffer_while_offline=False,
            buffer_group=["task"],
            buffer_limit=BUFFER_LIMIT,
        )
        _dispatcher = (os.getpid(), hostname, dispatcher)
    return _dispatcher[2]


def _drop() -> None:
    """Forget the dispatcher (after an error, so the next event reconnects)."""
    global _dispatcher
    if _dispatcher is not None and _dispatcher[0] == os.getpid():
        try:
            _dispatcher[2].close()
            _dispatcher[2].connection.release()
        except Exception:  # a dead connection: nothing to close
            pass
    _dispatcher = None


def send(hostname: str | None, *events: tuple[str, str, dict[str, Any]]) -> None:
    """Buffer task events, each (type, task id, fields), until `flush()`."""
    if not enabled() or not hostname:
        return
    try:
        dispatcher = _get(hostname)
        for type_, task_id, fields in events:
            fields.setdefault("timestamp", time.time())
            dispatcher.send(type_, uuid=task_id, **fields)
    except Exception as exc:  # never let an event fail a stage
        log.debug("task_event_not_sent", error=f"{type(exc).__name__}: {exc}")
        _drop()


def flush() -> None:
    """Publish the buffered events in one message (the task that ran the stages calls it)."""
    if _dispatcher is None or _dispatcher[0] != os.getpid():
        return
    try:
        _dispatcher[2].flush()
    except Exception as exc:
        log.debug("task_event_not_sent", error=f"{type(exc).__name__}: {exc}")
        _drop()


def started(
    task_id: str,
    hostname: str | None,
    name: str,
    args: tuple[Any, ...],
    *,
    parent_id: str | None,
    root_id: str | None,
    retries: int = 0,
) -> None:
    """What the publisher and the worker say when a task is sent, taken and started.

    `task-sent` keeps Flower's "sent - received" (waiting) at zero for an inline stage.
    """
    now = time.time()
    task = {
        "name": name,
        "args": repr(args),
        "kwargs": "{}",
        "root_id": root_id,
        "parent_id": parent_id,
        "retries": retries,
        "eta": None,
        "expires": None,
        "timestamp": now,
    }
    queue = name.removeprefix("docflow.")
    sent = {**task, "queue": queue, "exchange": "docflow", "routing_key": queue}
    send(
        hostname,
        ("task-sent", task_id, sent),
        ("task-received", task_id, task),
        ("task-started", task_id, {"timestamp": now}),
    )


def succeeded(task_id: str, hostname: str | None, result: Any, runtime_s: float) -> None:
    send(hostname, ("task-succeeded", task_id, {"result": repr(result), "runtime": runtime_s}))


def failed(task_id: str, hostname: str | None, error: str) -> None:
    send(hostname, ("task-failed", task_id, {"exception": error, "traceback": ""}))


def retried(task_id: str, hostname: str | None, error: str) -> None:
    send(hostname, ("task-retried", task_id, {"exception": error, "traceback": ""}))
