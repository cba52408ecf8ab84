"""Worker node names: one per process, so a heartbeat only ever vouches for its own runs.

A stage run records the node name of the worker that runs it, and the recovery sweep
treats the run as in progress while a heartbeat under that name is alive. Two workers
sharing a name would keep each other's runs alive: after one is SIGKILLed, its document
would wait for the hard-time-limit lease instead of the heartbeat's TTL. So docflow's
own node names carry the worker's pid (`docflow-<queues>-<pid>@<host>`), and a worker
whose name is already beating for another process refuses to start (workers.recovery).

The pid is only known inside the worker process, so command lines carry PID_TOKEN and
the worker expands it at start (workers.signals); Celery's own `%h`, `%n`, `%d` expansions
are left to Celery.
"""

from __future__ import annotations

import os

#: replaced by the worker's pid when it starts (Celery leaves braces alone)
PID_TOKEN = "{pid}"
ALL_QUEUES_TAG = "all"


def queues_tag(queues: tuple[str, ...] | list[str], every: tuple[str, ...]) -> str:
    """The queues part of a default node name: `all`, or the queues joined with dots."""
    chosen = [q for q in queues if q]
    if set(chosen) >= set(every):
        return ALL_QUEUES_TAG
    return ".".join(chosen) or ALL_QUEUES_TAG


def node_template(
    queues: tuple[str, ...] | list[str], every: tuple[str, ...], name: str | None = None
) -> str:
    """The `-n` value of a docflow worker: unique per process unless `name` is a full one.

    * None: `docflow-<queues>-{pid}@%h`
    * a prefix (no `@`): `<prefix>-{pid}@%h`
    * a full node name (with `@`): used as given (a duplicate is then refused at start)
    """
    if name is None:
        return f"docflow-{queues_tag(queues, every)}-{PID_TOKEN}@%h"
    if "@" in name:
        return name
    return f"{name}-{PID_TOKEN}@%h"


def expand(nodename: str, pid: int | None = None) -> str:
    """The node name with PID_TOKEN replaced by this process's (or the given) pid."""
    return nodename.replace(PID_TOKEN, str(os.getpid() if pid is None else pid))
