"""Shared fixtures: private Redis servers, temporary data dirs, real worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from workers.broker import EmbeddedRedis, free_port
from workers.stack import worker_command

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = REPO / "seeds"
SEED = SEEDS / "000_36f7d3e9a4e5bbdc.txt"
POSTGRES_URL = os.environ.get(
    "DOCFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def gold() -> dict:
    import json

    path = SHARED / "gold" / "seed.json"
    if not path.exists():
        pytest.fail(f"the gold file {path} is missing: shared/ must sit beside the clone")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A redis-server of our own on a free port, never the shared one."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def docflow_env(data_dir: Path, broker_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a docflow process on a private data dir (and broker)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCFLOW_")}
    env["DOCFLOW_DATA_DIR"] = str(data_dir)
    env["DOCFLOW_LOG_FORMAT"] = "json"
    # `docflow up` serves the web pages: never on a port the machine or another test holds
    env["DOCFLOW_SERVE_PORT"] = str(free_port())
    if broker_url:
        env["DOCFLOW_BROKER_URL"] = broker_url
    env.update(extra)
    return env


class WorkerProcess:
    """A real `celery worker` subprocess; its log is kept for assertions."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        queues: str = "ingest,parse,tag,index",
        concurrency: int = 1,
        name: str = "test",
    ) -> None:
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [
                *worker_command(tuple(queues.split(",")), concurrency, name),
                "--loglevel",
                "INFO",
            ],
            env=env,
            cwd=REPO,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self, timeout: float = 30) -> bool:
        """Wait until Celery says the worker is ready to take tasks."""
        return wait_until(lambda: " ready." in self.log(), timeout=timeout)

    def stop(self) -> None:
        """SIGTERM the worker's whole process group (its children too), then SIGKILL."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], **kwargs: object) -> WorkerProcess:
        worker = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log", **kwargs)  # type: ignore[arg-type]
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def docflow(
    env: dict[str, str], *args: str, timeout: float = 90, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`docflow ARGS...` as a subprocess of this checkout, with this environment (and
    `stdin` as its input, if given)."""
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args],
        env=env,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def docflow_in(
    data_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`docflow ARGS...` on a private data dir with no broker (`docflow_env(data_dir)`)."""
    return docflow(docflow_env(data_dir), *args, timeout=120, stdin=stdin)


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()
