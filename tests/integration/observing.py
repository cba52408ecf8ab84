"""Helpers for the observability integration tests: the CLI, JSON log lines, a real Flower."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

from tests.conftest import REPO

CLI = [sys.executable, "-m", "workers.cli"]


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records in a process's output (Celery's banner is plain text)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return records


def get(url: str, auth: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    """(HTTP status, body) of a GET, with optional basic auth user:password."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class FlowerProcess:
    """`docflow flower` as a real subprocess on a free port; its output kept for assertions."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [*CLI, "flower", "--port", str(port), "--address", "127.0.0.1"],
            env=env,
            cwd=REPO,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"Flower exited {self.proc.returncode}:\n{self.log()}")
            try:
                if get(self.url + "/healthcheck", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"Flower did not answer on {self.url}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def pids(self) -> list[int]:
        """This process and its children (the real Flower runs in a child)."""
        found = [self.proc.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in found:
                found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
