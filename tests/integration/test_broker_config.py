"""No code path publishes to a broker nobody configured.

With no DOCFLOW_BROKER_URL and no live `docflow up` on the data dir, the Celery app holds
a sentinel URL that names no host, and refuses to publish. The only Redis touched here
besides private servers is the shared one on 6379, and only to read: a queue's length
and whether a unique id appears in it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest
import redis

from tests.conftest import REPO, docflow_env
from tests.fixtures.cluster import write_articles

pytestmark = pytest.mark.integration

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def python(env: dict[str, str], code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def messages_naming(marker: str, queue: str = "parse") -> int | None:
    """How many messages in a queue of the default Redis (db 0) mention `marker`; None if
    no Redis listens there. Read-only."""
    try:
        client = redis.Redis.from_url(DEFAULT_REDIS, socket_connect_timeout=1)
        return sum(marker.encode() in m for m in client.lrange(queue, 0, -1))
    except redis.RedisError:
        return None


def test_with_no_broker_configured_publishing_raises_and_nothing_reaches_the_default_redis(
    data_dir,
) -> None:
    """Given no DOCFLOW_BROKER_URL and no `docflow up` on the data dir,
    When a document's chain is published,
    Then a ConfigError says no broker is configured and what to set,
    And no message naming that document reaches a Redis on the default port."""
    marker = f"no-broker-{uuid.uuid4().hex}"
    env = docflow_env(data_dir)
    before = messages_naming(marker)
    result = python(
        env,
        f"""
        from tasks.errors import ConfigError
        from workers.publish import enqueue_chain
        try:
            enqueue_chain({marker!r}, "trace")
        except ConfigError as exc:
            print("refused:", exc.describe())
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "refused: no broker is configured" in result.stdout, result.stdout + result.stderr
    assert "DOCFLOW_BROKER_URL" in result.stdout
    assert messages_naming(marker) == before  # 0 (or None: no Redis on 6379 at all)


def test_a_celery_worker_without_a_configured_broker_says_so_in_one_line(data_dir) -> None:
    """Given no DOCFLOW_BROKER_URL and no `docflow up` on the data dir,
    When `celery -A workers.app worker` starts,
    Then it exits at once with one line saying no broker is configured,
    instead of connecting to a Redis on the default port."""
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", "solo"],
        env=docflow_env(data_dir),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2, lines
    assert len(lines) == 1 and "no broker is configured" in lines[0], lines


def test_the_stacks_sweep_publishes_to_the_stacks_broker_when_the_app_has_none(
    private_redis, data_dir, tmp_path
) -> None:
    """Given documents recorded in the store whose messages were lost, and a process whose
    Celery app has no broker (as in `docflow up` once its state file is gone),
    When the recovery sweep runs there with the stack's broker URL,
    Then the documents are re-sent to that broker, and none to the default Redis."""
    folder = tmp_path / "batch"
    write_articles(folder, 3, prefix=f"sweep{uuid.uuid4().hex[:8]}")
    env = docflow_env(data_dir)
    result = python(
        env,
        f"""
        from pathlib import Path
        from tasks.ingest import ingest_file
        from tasks.store import open_store
        from workers.app import app, is_unconfigured
        from workers.recovery import recover_once
        from workers.settings import get_settings

        assert is_unconfigured(app.conf.broker_url), app.conf.broker_url
        settings = get_settings()
        store = open_store(settings.store)
        for path in sorted(Path({str(folder)!r}).iterdir()):
            ingest_file(store, path.name, path.read_bytes(), max_bytes=1 << 20)
        ids = recover_once({private_redis.url!r}, settings, older_than_s=0, lock=False)
        print("ids:", " ".join(ids))
        """,
    )
    assert result.returncode == 0, result.stderr
    ids = next(line for line in result.stdout.splitlines() if line.startswith("ids:")).split()[1:]
    assert len(ids) == 3, result.stdout + result.stderr
    queued = redis.Redis.from_url(private_redis.url).lrange("parse", 0, -1)
    assert sorted(i for i in ids if any(i.encode() in m for m in queued)) == sorted(ids)
    assert all(messages_naming(i) in (0, None) for i in ids)
