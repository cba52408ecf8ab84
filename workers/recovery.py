"""The recovery sweep wired into the runtime: workers (and `docflow up`) run it by themselves."""

from __future__ import annotations

import socket
from typing import Any

import redis
import structlog
from celery import signals

from tasks.store import open_store
from workers.broker import queue_depths
from workers.settings import Settings, get_settings
from workers.sweeper import SweepThread, sweep

log = structlog.get_logger("docflow.recovery")
LOCK_KEY = "docflow:sweep-lock"
_thread: SweepThread | None = None


def recover_once(
    broker_url: str,
    settings: Settings,
    *,
    force: bool = False,
    older_than_s: float | None = None,
    lock: bool = True,
) -> list[str]:
    """One sweep; with `lock`, at most one process in the cluster sweeps per interval."""
    from workers.app import QUEUES
    from workers.pipeline import enqueue_from_status

    if lock:
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=5)
        owner = f"{socket.gethostname()}"
        if not client.set(LOCK_KEY, owner, nx=True, ex=max(1, int(settings.sweep_interval_s))):
            return []
    store = open_store(settings.store, migrate=False)
    try:
        depths = None if force else queue_depths(broker_url, QUEUES)
        return sweep(
            store,
            enqueue_from_status,
            settings.stuck_after_s if older_than_s is None else older_than_s,
            depths,
            force=force,
        )
    finally:
        store.close()


@signals.worker_ready.connect
def _start_sweeper(sender: Any = None, **_: Any) -> None:
    global _thread
    settings = get_settings()
    if settings.sweep_interval_s <= 0 or sender is None:
        return
    url = str(sender.app.conf.broker_url)
    _thread = SweepThread(lambda: recover_once(url, settings), settings.sweep_interval_s)
    _thread.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_: Any) -> None:
    if _thread is not None:
        _thread.stop()
