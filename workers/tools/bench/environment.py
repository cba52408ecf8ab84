"""The private settings of a bench run, the environment its processes get, and how the
run itself takes a SIGTERM.

Nothing of the caller's configuration reaches a run except `KEPT_SETTINGS`: the bench's
own `Settings` is built explicitly (defaults, the run's folders and store, no `.env`),
and its child processes get exactly those settings as DOCFLOW_* variables, with every
DOCFLOW_* of the caller removed, and a working directory with no `.env` in it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from workers.settings import ENV_PREFIX, Settings

#: DOCFLOW_* variables of the caller that a benchmark honours; every other one is dropped
KEPT_SETTINGS = ("DOCFLOW_SPACY_MODEL",)


def private_settings(
    root: Path, store_url: str, environ: Mapping[str, str] | None = None
) -> Settings:
    """Every setting at its default but the run's folders under `root`, its store and
    `KEPT_SETTINGS` from `environ` (this process's by default); no `.env` is read."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {
        name: info.get_default(call_default_factory=True)
        for name, info in Settings.model_fields.items()
    }
    for key in KEPT_SETTINGS:
        if env.get(key):
            values[key.removeprefix(ENV_PREFIX).lower()] = env[key]
    data = root / "data"
    values.update(
        data_dir=data,
        store_url=store_url,
        inbox_dir=root / "inbox",
        processed_dir=data / "processed",
        failed_dir=data / "failed",
        entities_file=data / "entities.toml",
        log_format="json",
        log_level="INFO",
    )
    # explicit values for every field: no DOCFLOW_* of this process can override one
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as DOCFLOW_* variables (unset ones left out), for a child process."""
    out: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out[f"{ENV_PREFIX}{name.upper()}"] = text
    return out


def child_environ(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (this process's by default) without any DOCFLOW_*, plus `settings`'."""
    env = os.environ if environ is None else environ
    kept = {key: value for key, value in env.items() if not key.startswith(ENV_PREFIX)}
    return {**kept, **settings_env(settings)}


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so the clean-up of a run happens for it too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
