"""A local stack: the broker (embedded unless configured) and worker processes, supervised."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tasks.errors import BrokerUnavailable
from workers.app import QUEUES
from workers.broker import EmbeddedRedis, ping
from workers.settings import STACK_FILE, Settings, mask_url

log = structlog.get_logger("docflow.stack")


def worker_command(
    queues: tuple[str, ...] = QUEUES,
    concurrency: int | None = None,
    name: str = "docflow",
    pool: str = "prefork",
) -> list[str]:
    """The `celery worker` command line docflow uses for its own workers."""
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
        f"{name}@%h",
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
    next_start: float = 0.0

    def start(self) -> None:
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.cmd, env=self.env, stdout=out, stderr=out, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive() and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)


@dataclass
class LocalStack:
    """Starts the broker if needed and N worker processes; stops all of it on exit."""

    settings: Settings
    workers: int = 1
    start_workers: bool = True
    children: list[Child] = field(default_factory=list)
    broker: EmbeddedRedis | None = None
    broker_url: str = ""
    last_sweep: float = 0.0

    def start(self) -> str:
        run_dir = self.settings.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        url = self.settings.broker_url
        if url is None:
            self.broker = EmbeddedRedis(run_dir / "redis")
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
            **os.environ,
            "DOCFLOW_BROKER_URL": self.broker_url,
            "DOCFLOW_DATA_DIR": str(self.settings.data_path),
            "DOCFLOW_STORE_URL": self.settings.store,
        }

    def add_child(self, name: str, cmd: list[str], env: dict[str, str]) -> Child:
        logs = self.settings.data_path / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        child = Child(name, cmd, env, log_path=logs / f"{name}.log")
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
            if json.loads(stack_file.read_text()).get("pid") == os.getpid():
                stack_file.unlink()
        except (OSError, ValueError):
            pass

    def _write_stack_file(self) -> None:
        path = self.settings.run_dir / STACK_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"pid": os.getpid(), "broker_url": self.broker_url, "started": time.time()})
        )
        tmp.chmod(0o600)
        tmp.replace(path)

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
