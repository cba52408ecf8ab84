"""Celery signal receivers: logging set-up, per-process resources, trace propagation."""

from __future__ import annotations

from typing import Any

import structlog
from celery import signals

from workers import resources
from workers.logging import configure_logging
from workers.settings import get_settings

log = structlog.get_logger("docflow.worker")
#: set in the worker's main process before fork: does this worker consume the tag queue?
_consumes_tag = True


@signals.celeryd_after_setup.connect
def _remember_queues(instance: Any = None, **_: Any) -> None:
    global _consumes_tag
    queues = instance.app.amqp.queues.consume_from if instance is not None else None
    if queues:
        _consumes_tag = "tag" in queues


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
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
def _carry_trace(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Copy the current trace_id into the outgoing message's headers."""
    if headers is None or headers.get("trace_id"):
        return
    trace_id = structlog.contextvars.get_contextvars().get("trace_id")
    if trace_id:
        headers["trace_id"] = trace_id


@signals.task_prerun.connect
def _bind_trace(task: Any = None, task_id: str | None = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    request = getattr(task, "request", None)
    trace_id = getattr(request, "trace_id", None) if request is not None else None
    if trace_id is None and request is not None:
        trace_id = (getattr(request, "headers", None) or {}).get("trace_id")
    structlog.contextvars.bind_contextvars(task_id=task_id)
    if trace_id:
        structlog.contextvars.bind_contextvars(trace_id=trace_id)


@signals.task_postrun.connect
def _unbind(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
