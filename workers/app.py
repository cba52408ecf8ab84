"""The Celery app, and nothing else: `celery -A workers.app worker` works as usual.

Configuration comes from `workers.settings`. The task modules and signal receivers are
named in `TASK_MODULES` for Celery to import (`include=`) when a worker starts; this
module imports none of them, so nothing in `workers/` imports in a circle. Publishers
need only the app (`workers.publish` sends by task name).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from tasks.errors import ConfigError
from tasks.models import Stage
from workers.settings import Settings, get_settings

QUEUES: tuple[str, ...] = tuple(s.value for s in Stage)
#: what a worker imports at start: the stage tasks, then the signal receivers
TASK_MODULES: tuple[str, ...] = ("workers.pipeline", "workers.recovery", "workers.signals")
#: the app's broker URL when none is configured (DOCFLOW_BROKER_URL) or published by a
#: live `docflow up`/`run` on the data dir. Celery needs some URL; this one names no host
#: (`.invalid` never resolves), and the app refuses to publish while it is in place.
NO_BROKER = "redis://no-broker-configured.invalid/0"
NO_BROKER_MESSAGE = (
    "no broker is configured: DOCFLOW_BROKER_URL is not set and no `docflow up` runs on "
    "this data dir"
)
NO_BROKER_HINT = "set DOCFLOW_BROKER_URL=redis://host:6379/0, or start `docflow up`"


def no_broker_error() -> ConfigError:
    return ConfigError(NO_BROKER_MESSAGE, hint=NO_BROKER_HINT)


def is_unconfigured(url: object) -> bool:
    """Is this the NO_BROKER sentinel (or no URL at all)?"""
    text = str(url or "")
    return not text or "no-broker-configured.invalid" in text


class DocflowCelery(Celery):
    """Celery, except that nothing is published to a broker nobody configured.

    Every publish (a stage's message, a retry, a chain) goes through `send_task`; while
    the broker URL is the NO_BROKER sentinel it raises ConfigError instead of connecting
    anywhere. An explicit `connection=` (the sweep's, `docflow up`'s) is checked too.
    """

    def send_task(self, *args: Any, **kwargs: Any) -> Any:
        connection = kwargs.get("connection")
        producer = kwargs.get("producer")
        if connection is not None:
            target = connection.as_uri()
        elif producer is not None:
            target = producer.connection.as_uri()
        else:
            target = self.conf.broker_url
        if is_unconfigured(target):
            raise no_broker_error()
        return super().send_task(*args, **kwargs)


# long because it is one table: every setting with the reason it has this value
def celery_config(settings: Settings) -> dict[str, object]:
    """Every Celery setting docflow relies on, in one place (README explains each)."""
    exchange = Exchange("docflow", type="direct")
    transport = {
        # a message not acked within this many seconds is delivered again; it must stay
        # above the longest task (hard time limit) plus the longest retry countdown. It is
        # the last resort for a killed worker's messages: the recovery sweep
        # (workers/recovery.py) finds those documents from the store much sooner.
        "visibility_timeout": settings.visibility_timeout_s,
        # Redis restarts and half-open connections (celery #9054, #10205): redis-py pings
        # an idle connection before use, kombu drops a BRPOP whose reply is overdue, and
        # no socket operation blocks longer than socket_timeout, so a worker reconnects
        # by itself within about brpop_timeout + 2 * health_check_interval.
        "health_check_interval": 10,
        "socket_timeout": 15,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "retry_on_timeout": True,
    }
    return {
        "broker_url": settings.resolved_broker_url() or NO_BROKER,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_heartbeat": 0,
        "task_serializer": "json",
        "result_serializer": "json",
        "event_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "task_queues": [Queue(q, exchange, routing_key=q) for q in QUEUES],
        "task_default_queue": Stage.ingest.value,
        "task_default_exchange": "docflow",
        "task_default_routing_key": Stage.ingest.value,
        # a stage's task and its batch task (docflow.parse_batch, ...) go to the stage's queue
        "task_routes": {
            f"docflow.{q}{suffix}": {"queue": q, "routing_key": q}
            for q in QUEUES
            for suffix in ("", "_batch")
        },
        # At-least-once: a message is acked after its task ran. A child process that dies
        # (crash, OOM kill) or hits the hard time limit puts its message back (reject +
        # requeue) instead of dropping it; the stage then sees a run that never finished,
        # counts it, and fails the document after MAX_CRASH_ATTEMPTS (workers/budgets.py).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure": True,
        "task_acks_on_timeout": False,
        # publishing the next stage rides out a short broker blip (~10 s) before failing
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 5,
            "interval_start": 0.2,
            "interval_step": 1.0,
            "interval_max": 3.0,
        },
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "task_track_started": True,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_max_tasks_per_child": 20_000,
        "worker_max_memory_per_child": 600_000,  # KiB: a child past this is replaced
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_soft_time_limit": settings.task_soft_time_limit_s,
        "task_time_limit": settings.task_time_limit_s,
        "worker_proc_alive_timeout": 30,
        "broker_pool_limit": 10,
        "event_queue_expires": 60,
        "event_queue_ttl": 10,
    }


def create_app(settings: Settings | None = None) -> Celery:
    app = DocflowCelery("docflow", include=list(TASK_MODULES))
    app.config_from_object(celery_config(settings or get_settings()))
    return app


app = create_app()
