"""The recovery sweep wired into the runtime: workers (and `docflow up`) run it by themselves.

Every worker's main process runs two small threads:

* **heartbeat** (every HEARTBEAT_EVERY_S): sets `docflow:worker:<node>` in Redis with a
  HEARTBEAT_TTL_S expiry. A SIGKILLed worker's key lapses within that TTL, which ends the
  lease of the runs it held, so the sweep can resend its documents at once. The same tick
  is the worker's liveness check: a worker that sees messages waiting in its queues, holds
  no task and takes none for STALL_S stopped consuming (celery #9054, #10205); it logs
  `worker_stalled` and shuts down warmly, for its supervisor (`docflow up`, systemd,
  Kubernetes) to start a fresh one.
* **sweep** (every DOCFLOW_SWEEP_INTERVAL_S, one process in the cluster at a time through
  a Redis lock): `workers.sweeper.sweep` over the store.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import psutil
import redis
import structlog
from celery import signals

from tasks.store import open_store
from workers.app import QUEUES, app
from workers.publish import enqueue_from_status
from workers.settings import Settings, get_settings
from workers.sweeper import Enqueue, Lease, StallDetector, SweepThread, sweep

log = structlog.get_logger("docflow.recovery")
LOCK_KEY = "docflow:sweep-lock"
HEARTBEAT_PREFIX = "docflow:worker:"
RESENT_PREFIX = "docflow:resent:"
TIMEOUT_PREFIX = "docflow:timeout:"
HEARTBEAT_EVERY_S = 5.0
HEARTBEAT_TTL_S = 20
#: a run may outlive the hard time limit by this much (its message is being requeued)
LEASE_SLACK_S = 30.0
#: messages waiting, this worker idle and taking nothing for this long = stalled consumer
STALL_S = 30.0
_threads: list[SweepThread] = []


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def alive_workers(client: redis.Redis) -> set[str]:
    """Node names of the workers whose heartbeat has not lapsed."""
    return {
        key.decode(errors="replace").removeprefix(HEARTBEAT_PREFIX)
        for key in client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=500)
    }


def recover_once(
    broker_url: str,
    settings: Settings,
    *,
    force: bool = False,
    older_than_s: float | None = None,
    lock: bool = True,
) -> list[str]:
    """One sweep; with `lock`, at most one process in the cluster sweeps per interval.

    `force` re-sends every stuck document, whatever its queue, lease or recent claim.
    """
    with redis_client(broker_url) as client:
        if lock:
            owner = f"{socket.gethostname()}:{os.getpid()}"
            interval = max(1, int(settings.sweep_interval_s))
            if not client.set(LOCK_KEY, owner, nx=True, ex=interval):
                return []
        older = settings.stuck_after_s if older_than_s is None else older_than_s
        return _sweep_with(client, broker_url, settings, older, force)


def _depths(client: redis.Redis, queues: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Messages waiting in each queue (Celery's Redis transport keeps a list per queue)."""
    pipe = client.pipeline()
    for queue in queues:
        pipe.llen(queue)
    return dict(zip(queues, (int(n) for n in pipe.execute()), strict=True))


@contextlib.contextmanager
def publisher(broker_url: str) -> Iterator[Enqueue]:
    """`enqueue_from_status` bound to a connection to `broker_url`, whatever the app's.

    The sweep publishes to the broker it swept (the one it was given), never to whatever
    the Celery app of the calling process happens to point at (`docflow up`'s own app
    may have none: see workers.app.NO_BROKER).
    """
    with app.connection_for_write(broker_url) as connection:
        yield functools.partial(enqueue_from_status, connection=connection)


def _sweep_with(
    client: redis.Redis, broker_url: str, settings: Settings, older: float, force: bool
) -> list[str]:
    with publisher(broker_url) as enqueue:
        return _sweep_into(client, enqueue, settings, older, force)


def _sweep_into(
    client: redis.Redis, enqueue: Enqueue, settings: Settings, older: float, force: bool
) -> list[str]:
    store = open_store(settings.store, migrate=False)
    try:
        if force:
            return sweep(store, enqueue, older, None, force=True)
        lease = Lease(
            settings.task_time_limit_s + LEASE_SLACK_S,
            alive_workers(client),
            retry_grace_s=settings.retry_backoff_max_s + older,
        )
        claim_s = max(1, int(older))

        def claim(doc_id: str) -> bool:
            return bool(client.set(f"{RESENT_PREFIX}{doc_id}", "1", nx=True, ex=claim_s))

        return sweep(
            store,
            enqueue,
            older,
            _depths(client, QUEUES),
            lease=lease,
            claim=claim,
        )
    finally:
        store.close()


#: this process's mark in its heartbeat value: tells "mine" from a reused pid
_OWNER_TOKEN = secrets.token_hex(6)


def heartbeat_value(
    ready: bool = True, queues: list[str] | None = None, concurrency: int | None = None
) -> str:
    """What a worker's heartbeat key holds: who beats (pid, host, token), when, whether
    it consumes yet (`ready` is false while the name is only claimed at start-up), and
    once it does, the queues it takes and its pool size (publishers size batches by it)."""
    value: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "token": _OWNER_TOKEN,
        "at": time.time(),
        "ready": ready,
    }
    if queues is not None:
        value["queues"] = queues
    if concurrency is not None:
        value["concurrency"] = concurrency
    return json.dumps(value)


def live_heartbeats(client: redis.Redis) -> list[dict[str, Any]]:
    """The heartbeat values of the workers alive now (unreadable ones left out)."""
    keys = list(client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=500))
    beats: list[dict[str, Any]] = []
    for raw in client.mget(keys) if keys else []:
        if raw is None:  # lapsed between the scan and the read
            continue
        with contextlib.suppress(ValueError, TypeError):
            value = json.loads(raw)
            if isinstance(value, dict):
                beats.append(value)
    return beats


def node_owner(raw: bytes | str | None) -> dict[str, Any] | None:
    """The live process (other than this one) that a heartbeat value names, if any.

    None when the key is empty, is this process's own, or names a process on this host
    that is gone (a killed worker whose key has not lapsed yet: its name may be reused).
    """
    if raw is None:
        return None
    try:
        owner = json.loads(raw)
    except ValueError:
        return {"pid": None, "host": None}
    if not isinstance(owner, dict):
        return {"pid": None, "host": None}
    if owner.get("token") == _OWNER_TOKEN and owner.get("pid") == os.getpid():
        return None
    pid = owner.get("pid")
    here = owner.get("host") == socket.gethostname()
    if here and isinstance(pid, int) and (pid == os.getpid() or not psutil.pid_exists(pid)):
        return None
    return owner


def claim_node(url: str, node: str) -> dict[str, Any] | None:
    """Take the heartbeat key of `node` for this process; the other owner if it is taken.

    Called when a worker starts, before it consumes anything: a node name whose heartbeat
    is alive and owned by another live process is refused (two workers sharing a name
    would keep each other's leases alive). An unreachable broker is not a refusal: the
    worker's own connection retries say so.
    """
    key = f"{HEARTBEAT_PREFIX}{node}"
    try:
        with redis_client(url) as client:
            if client.set(key, heartbeat_value(ready=False), nx=True, ex=HEARTBEAT_TTL_S):
                return None
            owner = node_owner(client.get(key))
            if owner is None:
                client.set(key, heartbeat_value(ready=False), ex=HEARTBEAT_TTL_S)
            return owner
    except redis.RedisError as exc:
        log.warning("node_claim_skipped", node=node, error=f"{type(exc).__name__}: {exc}")
        return None


class Heartbeat:
    """One worker's heartbeat key and liveness check (see the module docstring)."""

    def __init__(
        self,
        url: str,
        node: str,
        queues: list[str],
        stall_s: float = STALL_S,
        concurrency: int | None = None,
    ) -> None:
        self.client = redis_client(url)
        self.node = node
        self.queues = queues
        self.concurrency = concurrency
        self.key = f"{HEARTBEAT_PREFIX}{node}"
        self.detector = StallDetector(stall_s)
        self.stalled = False

    def beat(self) -> None:
        from celery.worker import state

        value = heartbeat_value(queues=self.queues, concurrency=self.concurrency)
        self.client.set(self.key, value, ex=HEARTBEAT_TTL_S)
        if self.stalled or not self.queues:
            return
        waiting = sum(_depths(self.client, self.queues).values())
        busy = len(state.reserved_requests) + len(state.active_requests)
        if self.detector.observe(time.monotonic(), waiting, busy, state.all_total_count[0]):
            self.stalled = True
            log.error(
                "worker_stalled",
                waiting=waiting,
                stall_s=self.detector.stall_s,
                action="warm shutdown; the supervisor starts a fresh worker",
            )
            os.kill(os.getpid(), signal.SIGTERM)

    def forget(self) -> None:
        """Delete the heartbeat key, unless another process beats under this name now."""
        with contextlib.suppress(redis.RedisError):
            if node_owner(self.client.get(self.key)) is None:
                self.client.delete(self.key)


_heartbeat: Heartbeat | None = None
_client: tuple[int, str, redis.Redis] | None = None


def _broker_client() -> redis.Redis | None:
    """This process's Redis client on the app's broker (None for a non-Redis broker)."""
    global _client
    url = str(app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return None
    if _client is None or _client[0] != os.getpid() or _client[1] != url:
        _client = (os.getpid(), url, redis_client(url))
    return _client[2]


def hard_timeout_of(task_id: str) -> float | None:
    """The hard time limit a task's last run was killed at, if its worker said so (once)."""
    try:
        client = _broker_client()
        if client is None:
            return None
        pipe = client.pipeline()
        pipe.get(f"{TIMEOUT_PREFIX}{task_id}")
        pipe.delete(f"{TIMEOUT_PREFIX}{task_id}")
        value = pipe.execute()[0]
    except redis.RedisError:
        return None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@signals.task_failure.connect
def _note_hard_timeout(
    sender: Any = None, task_id: str | None = None, exception: Any = None, **_: Any
) -> None:
    """In the worker's main process: remember that a task was killed at the hard time limit.

    The killed run's message is requeued (task_acks_on_timeout=False); its next run reads
    this to say why the previous one never finished.
    """
    from billiard.exceptions import TimeLimitExceeded

    if not task_id or not isinstance(exception, TimeLimitExceeded):
        return
    limit = exception.args[0] if exception.args else 0
    try:
        client = _broker_client()
        if client is not None:
            client.set(f"{TIMEOUT_PREFIX}{task_id}", str(limit), ex=3600)
    except redis.RedisError as exc:
        log.warning("timeout_not_recorded", task_id=task_id, error=str(exc))


@signals.worker_ready.connect
def _start_threads(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    if sender is None:
        return
    settings = get_settings()
    url = str(sender.app.conf.broker_url)
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return
    try:
        queues = sorted(sender.app.amqp.queues.consume_from or {})
    except AttributeError:
        queues = []
    # the sender is the worker's Consumer; its controller (the WorkController) knows the
    # pool size
    concurrency = getattr(getattr(sender, "controller", None), "concurrency", None)
    heartbeat = Heartbeat(
        url,
        str(sender.hostname),
        queues,
        concurrency=concurrency if isinstance(concurrency, int) else None,
    )
    try:
        # claimed at start (workers.signals); if it lapsed while the worker started and
        # another process took the name meanwhile, this one gives way
        owner = node_owner(heartbeat.client.get(heartbeat.key))
    except redis.RedisError:
        owner = None
    if owner is not None:
        log.error("node_name_taken", node=heartbeat.node, owner=owner, action="shutting down")
        os.kill(os.getpid(), signal.SIGTERM)
        return
    _heartbeat = heartbeat
    try:
        heartbeat.beat()
    except Exception as exc:  # the thread will keep trying
        log.warning("heartbeat_failed", error=f"{type(exc).__name__}: {exc}")
    beat = SweepThread(heartbeat.beat, HEARTBEAT_EVERY_S, name="docflow-heartbeat")
    beat.start()
    _threads.append(beat)
    if settings.sweep_interval_s > 0:
        sweeper = SweepThread(lambda: recover_once(url, settings), settings.sweep_interval_s)
        sweeper.start()
        _threads.append(sweeper)


@signals.worker_shutdown.connect
def _stop_threads(**_: Any) -> None:
    for thread in _threads:
        thread.stop()
    _threads.clear()
    if _heartbeat is not None:
        _heartbeat.forget()
