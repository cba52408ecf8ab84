"""The watcher's health: ok, or waiting on the store or the broker, said once and shown in status.

A watcher whose store cannot be written (read-only file, full disk, locked or down
database) or whose broker is down keeps its files claimed and retries them with backoff;
it never crashes over it. It says so once per change of state, one line with what is
wrong, where, and what to do, and writes the same into `<data>/run/watcher-<id>.json`,
which `docflow status` shows. It recovers by itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import structlog

from tasks.errors import StoreUnavailable
from tasks.masking import mask_url

log = structlog.get_logger("docflow.watcher")

HEALTH_PREFIX = "watcher-"
#: below this much free space the store's disk counts as full
LOW_DISK_BYTES = 1 << 20
_GOES_ON = "the watcher keeps the files claimed and goes on by itself"
_GENERIC_HINT = (
    "check the store is up, writable by docflow's user and not out of disk space; " + _GOES_ON
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_store_error(exc: BaseException) -> bool:
    """An error raised by the store's driver (or the store saying it is unavailable)."""
    if isinstance(exc, StoreUnavailable):
        return True
    return any(k.__module__.split(".")[0] in ("sqlite3", "psycopg") for k in type(exc).__mro__)


def store_label(store: Any) -> str:
    """The store's file, or its URL with any password masked."""
    path = getattr(store, "path", None)
    if path is not None:
        return str(path)
    return mask_url(getattr(store, "url", None)) or type(store).__name__


def store_problem(store: Any, exc: BaseException) -> tuple[str, str]:
    """(what is wrong, what to do) for a store that cannot be written."""
    where = store_label(store)
    if isinstance(exc, StoreUnavailable):  # the store says which file and what to do
        problem = exc.message if where in exc.message else f"the store {where}: {exc.message}"
        return problem, exc.hint or _GENERIC_HINT
    text = f"{type(exc).__name__}: {exc}"
    path = getattr(store, "path", None)
    if isinstance(path, Path):
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(path.parent).free
            if free < LOW_DISK_BYTES:
                return (
                    f"the store {where} cannot be written: its disk is full "
                    f"({free // 1024} KB free; {text})",
                    f"free space on the disk holding {path.parent}; {_GOES_ON}",
                )
        return (
            f"the store {where} cannot be written ({text})",
            f"make {path} and its folder writable by the watcher's user, on a disk with "
            f"free space; {_GOES_ON}",
        )
    return f"the store {where} cannot be written ({text})", _GENERIC_HINT


@dataclass
class Health:
    """What the watcher is waiting on, if anything; kept in memory and in a small file."""

    ident: str
    inbox: str
    file: Path | None = None
    state: str = "ok"  #: ok | waiting
    kind: str | None = None  #: store | broker
    problem: str | None = None
    hint: str | None = None
    since: str = field(default_factory=now_iso)
    _since_mono: float = field(default_factory=time.monotonic, repr=False)

    @property
    def waiting(self) -> bool:
        return self.state == "waiting"

    def wait_on(self, kind: str, problem: str, hint: str) -> bool:
        """Enter (or stay in) waiting on `kind`; logs only on a change of state.

        Still waiting on the same thing but with a new description (a read-only file
        first seen as an I/O error, say): the health file gets the new text, silently.
        """
        if self.waiting and self.kind == kind:
            if (problem, hint) != (self.problem, self.hint):
                self.problem, self.hint = problem, hint
                self.write()
            return False
        self.state, self.kind, self.problem, self.hint = "waiting", kind, problem, hint
        self.since, self._since_mono = now_iso(), time.monotonic()
        log.error("watcher_waiting", on=kind, problem=problem, hint=hint, watcher=self.ident)
        self.write()
        return True

    def ok(self, kind: str | None = None) -> None:
        """Back to normal (from waiting on `kind`, or on anything); logs once if it waited."""
        if not self.waiting or (kind is not None and kind != self.kind):
            return
        log.warning(
            "watcher_recovered",
            was_waiting_on=self.kind,
            problem=self.problem,
            waited_s=round(time.monotonic() - self._since_mono, 1),
            watcher=self.ident,
        )
        self.state, self.kind, self.problem, self.hint = "ok", None, None, None
        self.since, self._since_mono = now_iso(), time.monotonic()
        self.write()

    def as_dict(self) -> dict[str, Any]:
        return {
            "watcher": self.ident,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "inbox": self.inbox,
            "state": self.state,
            "waiting_on": self.kind,
            "problem": self.problem,
            "hint": self.hint,
            "since": self.since,
        }

    def write(self) -> None:
        """Write the health file; on a full disk, overwrite it in place (no new blocks)."""
        if self.file is None:
            return
        body = json.dumps(self.as_dict(), ensure_ascii=False) + "\n"
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f".{self.file.name}.tmp")
            tmp.write_text(body, encoding="utf-8")
            os.replace(tmp, self.file)
        except OSError:
            try:
                with self.file.open("r+" if self.file.exists() else "w", encoding="utf-8") as f:
                    f.write(body)
                    f.truncate()
            except OSError as exc:
                log.debug("health_file_failed", path=str(self.file), error=str(exc))

    def remove(self) -> None:
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.unlink()


def health_file(run_dir: Path, ident: str) -> Path:
    return run_dir / f"{HEALTH_PREFIX}{ident}.json"


def read_health(run_dir: Path) -> list[dict[str, Any]]:
    """The health of every watcher on this data dir that is still running."""
    out: list[dict[str, Any]] = []
    host = socket.gethostname()
    try:
        paths = sorted(run_dir.glob(f"{HEALTH_PREFIX}*.json"))
    except OSError:
        return out
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        pid = data.get("pid") if isinstance(data, dict) else None
        if not isinstance(pid, int) or (data.get("host") == host and not psutil.pid_exists(pid)):
            continue  # left by a watcher that was killed
        out.append(data)
    return out


def health_line(data: dict[str, Any]) -> str:
    """`watcher: ok ...` or `watcher: waiting since ...: <problem>; fix: <hint>`."""
    since = str(data.get("since", "?")).replace("T", " ").replace("Z", " UTC")
    if data.get("state") == "waiting":
        return f"watcher: waiting since {since}: {data.get('problem')}; fix: {data.get('hint')}"
    return f"watcher: ok, watching {data.get('inbox')} ({data.get('watcher')})"
