"""`docflow status --watch` rides out a broker that goes away and comes back."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import docflow, docflow_env, wait_until
from tests.fixtures.cluster import docflow_background, stop

pytestmark = pytest.mark.integration


def frames(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(errors="replace") if log.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_status_watch_keeps_refreshing_while_the_broker_is_down_and_recovers(
    private_redis, data_dir: Path
) -> None:
    """Given `docflow status --watch --json` on a store and a private redis-server
    When the redis-server is killed, left down a few refreshes, then started again
    Then the watch keeps printing a frame every interval, says "unreachable at <masked
    url> since ..., retrying" while it is down, shows the broker up again by itself,
    and never prints a traceback
    """
    env = docflow_env(data_dir, private_redis.url)
    assert docflow(env, "migrate").returncode == 0
    log = data_dir / "status.log"
    proc = docflow_background(env, log, "status", "--watch", "--json", "--interval", "0.5")
    try:
        assert wait_until(lambda: any(f["broker_up"] for f in frames(log)), 30), log.read_text()
        # kill it half-way through a refresh: after the interval and the ping, while the
        # worker ping waits for replies (1 s): the moment that used to end in a traceback
        shown = len(frames(log))
        assert wait_until(lambda: len(frames(log)) > shown, 10, every=0.02)
        time.sleep(0.9)
        private_redis.stop()
        seen = len(frames(log))

        def down_frames() -> list[dict[str, Any]]:
            return [f for f in frames(log)[seen:] if "unreachable at" in f["broker"]]

        assert wait_until(lambda: len(down_frames()) >= 3, 30), log.read_text()[-3000:]
        assert proc.poll() is None, log.read_text()[-3000:]
        line = down_frames()[-1]["broker"]
        assert f"127.0.0.1:{private_redis.port}" in line and "retrying" in line, line
        assert private_redis.password not in log.read_text()
        assert len({f["broker_down_since"] for f in down_frames()}) == 1  # one outage, one "since"

        private_redis.start()
        seen = len(frames(log))
        assert wait_until(lambda: any(f["broker_up"] for f in frames(log)[seen:]), 30), (
            log.read_text()[-3000:]
        )
        assert proc.poll() is None
        assert "Traceback" not in log.read_text()
    finally:
        stop(proc)
