"""A local stack: the broker (embedded unless configured) and worker processes, supervised."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tasks.errors import BrokerUnavailable, ConfigError
from tasks.masking import mask_url
from workers.app import QUEUES
from workers.broker import EmbeddedRedis, ping
from workers.nodes import node_template
from workers.settings import STACK_FILE, Settings

log = structlog.get_logger("docflow.stack")
#: held (flock) by the one stack running on a data dir, for as long as it runs
LOCK_FILE = "stack.lock"


def worker_command(
    queues: tuple[str, ...] = QUEUES,
    concurrency: int | None = None,
    name: str | None = None,
    pool: str = "prefork",
) -> list[str]:
    """The `celery worker` command line docflow uses for its own workers.

    Without `name` the node name is unique per process (`docflow-<queues>-<pid>@host`,
    workers.nodes); a `name` gives exactly `<name>@host` (a second live worker under it
    is refused at start).
    """
    node = (
        node_template(queues, QUEUES)
        if name is None
        else node_template(queues, QUEUES, name if "@" in name else f"{name}@%h")
    )
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "-Q",
        ",".join(queues),
        "-n",
        node,
        "-E",
        "--pool",
        pool,
        "--without-gossip",
        "--without-mingle",
    ]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    return cmd


@dataclass
class Child:
    """A supervised process: restarted if it dies while the stack runs."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log_path: Path | None = None
    cwd: Path | None = None  #: None = this process's working directory

    def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.cmd, env=self.env, stdout=out, stderr=out, start_new_session=True, cwd=self.cwd
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive() and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)


def live_stack(settings: Settings) -> dict[str, object] | None:
    """The state of the stack running on this data dir, or None if none runs.

    The lock decides (a state file left by a killed stack, or one whose pid was reused,
    does not count); the state file then says which stack it is.
    """
    path = settings.run_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # held: a stack runs
    else:
        return None  # free (closing the descriptor below releases it again)
    finally:
        os.close(fd)
    return _state(settings)  # {} while it starts: the lock taken, the state not written yet


def _state(settings: Settings) -> dict[str, object]:
    """What the state file says (unchecked: the lock says whether it is current)."""
    try:
        state = json.loads((settings.run_dir / STACK_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def stack_busy_error(settings: Settings) -> ConfigError:
    """The one line a second stack on a data dir gets (the first one holds the lock)."""
    running = _state(settings)
    kind = running.get("kind", "up")
    pid = running.get("pid", "?")
    return ConfigError(
        f"a docflow stack already runs on {settings.data_path} (`docflow {kind}`, pid {pid})",
        hint="use that one, stop it first, or set DOCFLOW_DATA_DIR to another folder",
    )


@dataclass
class LocalStack:
    """Starts the broker if needed and N worker processes; stops all of it on exit.

    One stack per data dir: `start` takes an exclusive lock on `run/stack.lock`, held
    until `stop` (or the process's death), and refuses if another process holds it.
    The state file `run/stack.json` (pid, kind, broker, store) is written only while the
    lock is held, and removed only by the stack that wrote it.
    """

    settings: Settings
    workers: int = 1
    start_workers: bool = True
    kind: str = "run"
    #: the environment children start from (None = this process's) and their working
    #: directory (None = this one's, where a `.env` may be read): a private stack gives both
    environ: dict[str, str] | None = None
    cwd: Path | None = None
    children: list[Child] = field(default_factory=list)
    broker: EmbeddedRedis | None = None
    broker_url: str = ""
    last_sweep: float = 0.0
    lock_fd: int | None = None
    wrote_state: bool = False

    def lock(self) -> None:
        """Take the data dir's stack lock, or raise ConfigError naming the holder."""
        if self.lock_fd is not None:
            return
        run_dir = self.settings.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise stack_busy_error(self.settings) from None
        self.lock_fd = fd

    def unlock(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing the descriptor releases the lock
            self.lock_fd = None

    def start(self) -> str:
        self.lock()
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        url = self.settings.broker_url
        if url is None:
            self.broker = EmbeddedRedis(self.settings.run_dir / "redis")
            url = self.broker.start()
            log.info("broker_started", url=mask_url(url), embedded=True)
        elif not ping(url, timeout=3):
            raise BrokerUnavailable(
                f"no Redis answers at DOCFLOW_BROKER_URL={mask_url(url)}",
                hint="start Redis there, fix the URL, or unset it to use the embedded broker",
            )
        self.broker_url = url
        if self.start_workers:
            self.add_child("worker", worker_command(concurrency=self.workers), self.child_env())
        self._write_stack_file()
        return url

    def child_env(self) -> dict[str, str]:
        """The environment every child runs with: this stack's broker, data dir and store."""
        return {
            **(os.environ if self.environ is None else self.environ),
            "DOCFLOW_BROKER_URL": self.broker_url,
            "DOCFLOW_DATA_DIR": str(self.settings.data_path),
            "DOCFLOW_STORE_URL": self.settings.store,
        }

    def add_child(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        logs = self.settings.data_path / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        child = Child(name, cmd, env, log_path=logs / f"{name}.log", cwd=self.cwd)
        child.start()
        self.children.append(child)
        return child

    def supervise(self) -> None:
        """Restart any child that died and sweep for stuck documents; call it periodically."""
        interval = self.settings.sweep_interval_s
        if interval > 0 and time.monotonic() - self.last_sweep >= interval:
            self.last_sweep = time.monotonic()
            from workers.recovery import recover_once

            try:
                recover_once(self.broker_url, self.settings)
            except Exception as exc:  # never let the sweep stop the stack
                log.warning("sweep_failed", error=f"{type(exc).__name__}: {exc}")
        for child in self.children:
            if not child.alive():
                child.restarts += 1
                code = child.process.returncode if child.process else None
                log.warning(
                    "child_restarted", child=child.name, exit_code=code, restarts=child.restarts
                )
                child.start()

    def stop(self, timeout: float = 12.0) -> None:
        """SIGTERM every child (workers finish their current task), then the broker."""
        for child in self.children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.signal(signal.SIGKILL)
                child.process.wait()
        self.children.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        stack_file = self.settings.run_dir / STACK_FILE
        try:
            if self.wrote_state and json.loads(stack_file.read_text()).get("pid") == os.getpid():
                stack_file.unlink()
        except (OSError, ValueError):
            pass
        self.wrote_state = False
        self.unlock()

    def _write_stack_file(self) -> None:
        path = self.settings.run_dir / STACK_FILE
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        state = {
            "pid": os.getpid(),
            "kind": self.kind,
            "broker_url": self.broker_url,
            "store": self.settings.store,
            "workers": self.workers if self.start_workers else 0,
            "started": time.time(),
        }
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(state))
        tmp.replace(path)
        self.wrote_state = True

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
