"""Celery signal receivers: logging set-up, per-process resources, trace propagation.

Tracing: a document's `trace_id` travels as a custom message header. Every message
published while a trace is bound (a chain's next step, a retry, a re-run) gets it, and
`task_prerun` binds it again, with the task id, stage, document id and worker node name,
so every record logged during the task carries them.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from celery import signals

from workers import resources
from workers.logging import configure_logging, ingest_argsrepr, set_node
from workers.settings import get_settings

log = structlog.get_logger("docflow.worker")
#: set in the worker's main process before fork: does this worker consume the tag queue?
_consumes_tag = True
#: task names whose first argument is a document id
DOC_TASKS = frozenset({"docflow.parse", "docflow.tag", "docflow.index"})
#: when the current task started (per process; one task at a time in a prefork child)
_started: dict[str, float] = {}


@signals.celeryd_init.connect
def _remember_node(sender: Any = None, **_: Any) -> None:
    """The worker's node name goes on every record of this worker and its children."""
    if isinstance(sender, str):
        set_node(sender)


@signals.celeryd_after_setup.connect
def _remember_queues(sender: Any = None, instance: Any = None, **_: Any) -> None:
    global _consumes_tag
    if isinstance(sender, str):
        set_node(sender)
    queues = instance.app.amqp.queues.consume_from if instance is not None else None
    if queues:
        _consumes_tag = "tag" in queues


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """Celery's own logging set-up is replaced by ours (DOCFLOW_LOG_FORMAT, _LOG_LEVEL)."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level, force=True)


@signals.worker_process_init.connect
def _process_init(**_: Any) -> None:
    """After fork: new store connection; load the spaCy model here, once per child."""
    resources.reset()
    resources.get_store()
    if _consumes_tag:
        resources.get_tagger()


@signals.worker_process_shutdown.connect
def _process_shutdown(**_: Any) -> None:
    resources.reset()


@signals.before_task_publish.connect
def _carry_trace(
    sender: Any = None, body: Any = None, headers: dict[str, Any] | None = None, **_: Any
) -> None:
    """Copy the bound trace_id into the outgoing headers; keep file bytes out of events."""
    if headers is None:
        return
    if not headers.get("trace_id"):
        trace_id = structlog.contextvars.get_contextvars().get("trace_id")
        if trace_id:
            headers["trace_id"] = trace_id
    if sender == "docflow.ingest" and isinstance(body, list | tuple) and body:
        args = body[0]
        if isinstance(args, list | tuple):
            headers["argsrepr"] = ingest_argsrepr(args)


def header(request: Any, name: str) -> Any:
    """A custom message header as the worker sees it (an attribute, or under .headers)."""
    if request is None:
        return None
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


@signals.task_prerun.connect
def _bind_trace(task: Any = None, task_id: str | None = None, args: Any = None, **_: Any) -> None:
    """Bind trace_id (from the message header), task id, stage, document and worker."""
    structlog.contextvars.clear_contextvars()
    request = getattr(task, "request", None)
    name = getattr(task, "name", "") or ""
    context: dict[str, Any] = {"task_id": task_id}
    if name.startswith("docflow."):
        context["stage"] = name.removeprefix("docflow.")
    hostname = getattr(request, "hostname", None)
    if hostname:
        context["worker"] = hostname
    if name in DOC_TASKS and args:
        context["doc_id"] = args[0]
    trace_id = header(request, "trace_id")
    if trace_id:
        context["trace_id"] = trace_id
    structlog.contextvars.bind_contextvars(**context)
    if name.startswith("docflow."):
        if task_id:
            _started[task_id] = time.monotonic()
        log.info("task_started", attempt=int(getattr(request, "retries", 0) or 0) + 1)


@signals.task_postrun.connect
def _unbind(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    """Log how the task ended, with its duration, then forget its context."""
    started = _started.pop(task_id, None) if task_id else None
    if started is not None and state:
        log.info(
            "task_finished",
            state=state.lower(),
            duration_ms=round((time.monotonic() - started) * 1000, 2),
        )
    structlog.contextvars.clear_contextvars()
