"""Celery signal receivers: logging set-up, per-process resources, trace propagation.

Tracing: a document's `trace_id` travels as a custom message header. Every message
published while a trace is bound (a chain's next step, a retry, a re-run) gets it, and
`task_prerun` binds it again, with the task id, stage, document id and worker node name,
so every record logged during the task carries them.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any, NoReturn

import structlog
from celery import signals

from workers import resources
from workers.app import is_unconfigured, no_broker_error
from workers.logging import configure_logging, set_node
from workers.nodes import expand
from workers.recovery import claim_node
from workers.settings import get_settings

log = structlog.get_logger("docflow.worker")
#: set in the worker's main process before fork: does this worker consume the tag queue?
_consumes_tag = True
#: task names whose first argument is a document id
DOC_TASKS = frozenset({"docflow.parse", "docflow.tag", "docflow.index"})
#: when the current task started (per process; one task at a time in a prefork child)
_started: dict[str, float] = {}


def refuse_start(message: str) -> NoReturn:
    """One clear line on stderr, and the worker exits before it consumes anything."""
    sys.stderr.write(f"docflow: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(2)


@signals.celeryd_init.connect
def _claim_node(sender: Any = None, instance: Any = None, **_: Any) -> None:
    """Before the worker connects: a real broker, a node name of its own, and logging.

    * no broker configured (workers.app.NO_BROKER): refused in one line, instead of
      trying to reach a host that does not exist;
    * the node name's pid token (workers.nodes) becomes this process's pid;
    * a node name whose heartbeat is alive and owned by another process is refused
      (workers.recovery.claim_node): two workers under one name keep each other's
      leases alive.
    The node name then goes on every record of this worker and its children.
    """
    name = str(getattr(instance, "hostname", None) or sender or "")
    if instance is not None and name:
        name = expand(name)
        instance.hostname = name
        url = instance.app.conf.broker_url
        if is_unconfigured(url):
            refuse_start(no_broker_error().describe())
        if str(url).startswith(("redis://", "rediss://", "redis+socket://")):
            owner = claim_node(str(url), name)
            if owner is not None:
                refuse_start(
                    f"worker node name {name} is already in use by pid {owner.get('pid')} "
                    f"on {owner.get('host')} (pass another --name, or stop that worker)"
                )
    if name:
        set_node(name)


@signals.celeryd_after_setup.connect
def _remember_queues(sender: Any = None, instance: Any = None, **_: Any) -> None:
    global _consumes_tag
    if isinstance(sender, str):
        set_node(sender)
    queues = instance.app.amqp.queues.consume_from if instance is not None else None
    if queues:
        _consumes_tag = "tag" in queues


@signals.worker_init.connect
def _check_at_start(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, before any child forks: refuse to start, in one line,
    when the spaCy model this worker would load is not installed, or an explicit SQLite
    store URL points into a folder that does not exist (nothing is loaded or created)."""
    from tasks.errors import ConfigError
    from workers.resources import check_model, check_store_location

    app = getattr(sender, "app", None)
    queues = app.amqp.queues.consume_from if app is not None else None
    settings = get_settings()
    try:
        if not queues or "tag" in queues:
            check_model(settings.spacy_model)
        check_store_location(settings)
    except ConfigError as exc:
        refuse_start(exc.describe())


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    """Celery's own logging set-up is replaced by ours (DOCFLOW_LOG_FORMAT, _LOG_LEVEL)."""
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level, force=True)


@signals.worker_process_init.connect
def _process_init(**_: Any) -> None:
    """After fork: new store connection; load the spaCy model here, once per child.

    Then everything loaded so far (Celery, the model, the entity tables) is frozen out of
    the cyclic garbage collector: it lives as long as the process, and each full
    collection would otherwise walk its ~10^5 objects again (~0.5 ms a document).
    """
    resources.reset()
    resources.get_store()
    if _consumes_tag:
        resources.get_tagger()
    gc.freeze()


@signals.worker_process_shutdown.connect
def _process_shutdown(**_: Any) -> None:
    resources.reset()


@signals.before_task_publish.connect
def _carry_trace(
    sender: Any = None, body: Any = None, headers: dict[str, Any] | None = None, **_: Any
) -> None:
    """Copy the bound trace_id into the outgoing headers."""
    if headers is None:
        return
    if not headers.get("trace_id"):
        trace_id = structlog.contextvars.get_contextvars().get("trace_id")
        if trace_id:
            headers["trace_id"] = trace_id


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
