"""`docflow up`: the whole local stack from one command, used by other commands, stopped cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tasks.store import open_store
from tests.conftest import REPO, docflow_env, wait_until
from workers.broker import free_port

pytestmark = pytest.mark.integration

DOCFLOW = [sys.executable, "-c", "from workers.cli import main; main()"]
ARTICLE = (
    "Talks in Washington\n\nForeign Minister Hakan Fidan met Marco Rubio in Washington "
    "to discuss Syria.\n"
)


class Up:
    """`docflow up ...` as a subprocess on a private data dir."""

    def __init__(self, data_dir: Path, log_path: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.env = docflow_env(data_dir)  # no DOCFLOW_BROKER_URL: the embedded broker
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [*DOCFLOW, "up", *args],
            env=self.env,
            cwd=REPO,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.log()[-3000:]
        return "drop files into" in self.log()

    def docflow(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another docflow command on the same data dir, with no extra settings."""
        return subprocess.run(
            [*DOCFLOW, *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=60
        )

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self) -> float:
        """SIGTERM; seconds until it exited."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            for child in self.descendants():
                child.kill()
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def start_up(data_dir: Path, tmp_path: Path) -> Iterator:
    started: list[Up] = []

    def start(*args: str) -> Up:
        up = Up(data_dir, tmp_path / f"up-{len(started)}.log", *args)
        started.append(up)
        return up

    yield start
    for up in started:
        up.kill()


def still_running(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            pass
    return alive


def test_docflow_up_indexes_a_dropped_file_serves_other_commands_and_stops_cleanly(
    start_up, data_dir: Path
) -> None:
    # Given `docflow up` on a fresh data dir, without Flower
    up = start_up("--no-flower", "--workers", "1")
    assert wait_until(up.ready, 30), up.log()[-3000:]
    inbox = data_dir / "inbox"
    assert str(inbox) in up.log() and inbox.is_dir()
    # When a file is dropped in the inbox
    (inbox / "talks.txt").write_text(ARTICLE)
    # Then it ends indexed
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    assert wait_until(lambda: store.counts()["indexed"] == 1, 60), up.log()[-3000:]
    assert (data_dir / "processed" / "talks.txt").exists()
    # And `docflow status` from another process sees the stack's broker and workers
    result = up.docflow("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["broker"].startswith("up at") and status["workers"], status
    assert status["documents"]["indexed"] == 1
    # And `docflow search` finds the document
    found = up.docflow("search", "Rubio")
    assert found.returncode == 0 and "Talks in Washington" in found.stdout, found
    # When it gets SIGTERM
    children = up.descendants()
    assert len(children) >= 3  # broker, worker (and its pool), watcher
    took = up.stop()
    # Then everything is stopped within 15 s, leaving no process and no stack file behind
    assert up.proc.returncode == 0, up.log()[-3000:]
    assert took < 15, f"took {took:.1f} s to stop"
    assert still_running(children) == []
    assert not (data_dir / "run" / "stack.json").exists()
    assert "up at" not in up.docflow("status", "--json").stdout


def test_docflow_up_starts_flower_showing_the_workers(start_up, data_dir: Path) -> None:
    # Given `docflow up` with Flower on a free port
    port = free_port()
    up = start_up("--workers", "1", "--flower-port", str(port))
    assert wait_until(up.ready, 30), up.log()[-3000:]
    assert f"http://127.0.0.1:{port}/" in up.log()

    # When Flower is asked for its workers
    def workers() -> list[str]:
        try:
            reply = httpx.get(f"http://127.0.0.1:{port}/workers?json=1", timeout=2)
        except httpx.HTTPError:
            return []
        assert reply.status_code == 200, reply.text[:500]
        return [w.get("hostname", "") for w in reply.json()["data"]]

    # Then it answers and lists the stack's worker
    assert wait_until(lambda: any(name.startswith("docflow-all-") for name in workers()), 60), (
        up.log()[-3000:]
    )
    # And the stack stops cleanly, Flower included
    children = up.descendants()
    assert up.stop() < 15
    assert still_running(children) == []


def test_a_second_docflow_up_on_the_same_data_dir_is_refused(start_up, data_dir: Path) -> None:
    # Given a running stack
    first = start_up("--no-flower", "--workers", "1")
    assert wait_until(first.ready, 30), first.log()[-3000:]
    # When another `docflow up` starts on the same data dir
    second = start_up("--no-flower", "--workers", "1")
    second.proc.wait(30)
    # Then it refuses, saying why, and the first keeps running
    assert second.proc.returncode == 2
    assert "already runs" in second.log()
    assert first.proc.poll() is None
    assert first.stop() < 15
    assert os.path.exists(data_dir / "docflow.db")


def test_docflow_run_beside_a_running_up_uses_its_stack_and_leaves_it_running(
    start_up, data_dir: Path
) -> None:
    """Given `docflow up` on a data dir,
    When `docflow run seeds/` runs on the same data dir and finishes,
    Then it used up's broker and workers, `docflow status` still sees `up`, up's state
    file is still there, `docflow ingest` still finds the broker, and a second
    `docflow up` on that data dir is refused with one clear line."""
    up = start_up("--no-flower", "--workers", "1")
    assert wait_until(up.ready, 30), up.log()[-3000:]
    state = json.loads((data_dir / "run" / "stack.json").read_text())
    assert state["pid"] == up.proc.pid

    ran = up.docflow("run", str(REPO / "seeds"), "--json")

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["indexed"] == 1
    assert "using the running `docflow up`" not in ran.stdout  # --json: stdout is the summary
    assert json.loads((data_dir / "run" / "stack.json").read_text())["pid"] == up.proc.pid
    status = json.loads(up.docflow("status", "--json").stdout)
    assert status["broker"].startswith("up at") and status["workers"], status
    drop = data_dir.parent / "more"
    drop.mkdir()
    (drop / "talks.txt").write_text(ARTICLE)
    sent = up.docflow("ingest", str(drop))
    assert sent.returncode == 0, sent.stderr
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    assert wait_until(lambda: store.counts()["indexed"] == 2, 60), up.log()[-3000:]
    second = start_up("--no-flower", "--workers", "1")
    second.proc.wait(30)
    assert second.proc.returncode == 2
    refusal = [line for line in second.log().splitlines() if line.strip()]
    assert len(refusal) == 1 and "already runs" in refusal[0], refusal
    assert f"pid {up.proc.pid}" in refusal[0] and state["kind"] == "up"
    assert up.proc.poll() is None
    assert up.stop() < 15
    assert not (data_dir / "run" / "stack.json").exists()
