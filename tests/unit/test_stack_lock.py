"""One stack per data dir: the lock decides, the state file only describes it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tasks.errors import ConfigError
from workers.settings import STACK_FILE, Settings
from workers.stack import LocalStack, live_stack


def settings_for(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, broker_url=None)  # type: ignore[call-arg]


def test_a_second_stack_on_a_locked_data_dir_is_refused_naming_the_first(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = LocalStack(settings, kind="up")
    first.lock()
    settings.run_dir.joinpath(STACK_FILE).write_text(json.dumps({"pid": 4242, "kind": "up"}))
    try:
        with pytest.raises(ConfigError, match=r"already runs .*`docflow up`, pid 4242"):
            LocalStack(settings, kind="run").lock()
        assert live_stack(settings) == {"pid": 4242, "kind": "up"}
    finally:
        first.unlock()
    assert live_stack(settings) is None


def test_a_state_file_left_by_a_dead_stack_counts_for_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.run_dir.mkdir(parents=True)
    state = {"pid": os.getpid(), "kind": "up", "broker_url": "redis://127.0.0.1:1/0"}
    settings.run_dir.joinpath(STACK_FILE).write_text(json.dumps(state))
    assert live_stack(settings) is None  # no lock file: nothing runs
    stack = LocalStack(settings, kind="up")
    stack.lock()
    stack.stop()  # never wrote the state file, so leaves it alone
    assert settings.run_dir.joinpath(STACK_FILE).exists()
    assert live_stack(settings) is None
