"""A bench run's settings are its own: built explicitly, handed to its children, not the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from workers.settings import Settings
from workers.tools.bench.environment import child_environ, private_settings, settings_env

USERS = {
    "DOCFLOW_DATA_DIR": "/home/someone/data",
    "DOCFLOW_BROKER_URL": "redis://127.0.0.1:1/0",
    "DOCFLOW_STORE_URL": "sqlite:////home/someone/users.db",
    "DOCFLOW_BATCH_MAX_DOCS": "3",
    "DOCFLOW_SPACY_MODEL": "my_model",
    "PATH": "/usr/bin",
}


def test_the_private_settings_take_none_of_the_users_but_the_spacy_model(tmp_path: Path) -> None:
    settings = private_settings(tmp_path, f"sqlite:///{tmp_path}/data/docflow.db", USERS)
    assert settings.data_path == tmp_path / "data"
    assert settings.store == f"sqlite:///{tmp_path}/data/docflow.db"
    assert settings.inbox_dir == tmp_path / "inbox"
    assert settings.broker_url is None
    assert settings.batch_max_docs == Settings.model_fields["batch_max_docs"].default
    assert settings.spacy_model == "my_model"


def test_building_them_leaves_this_process_environment_alone(tmp_path: Path) -> None:
    before = dict(os.environ)
    private_settings(tmp_path, "sqlite:///x.db", USERS)
    assert dict(os.environ) == before


def test_the_children_get_the_private_settings_and_no_other_docflow_variable(
    tmp_path: Path,
) -> None:
    settings = private_settings(tmp_path, f"sqlite:///{tmp_path}/d.db", USERS)
    env = child_environ(settings, USERS)
    assert env["PATH"] == "/usr/bin"
    assert env["DOCFLOW_DATA_DIR"] == str(tmp_path / "data")
    assert env["DOCFLOW_BATCH_MAX_DOCS"] == "32"
    assert env["DOCFLOW_SPACY_MODEL"] == "my_model"
    assert "DOCFLOW_BROKER_URL" not in env
    assert {k for k in env if k.startswith("DOCFLOW_")} == set(settings_env(settings))


def test_a_child_reading_its_environment_gets_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = private_settings(tmp_path, f"sqlite:///{tmp_path}/d.db", USERS)
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in child_environ(settings, USERS).items():
        monkeypatch.setenv(key, value)
    assert Settings(_env_file=None) == settings  # type: ignore[call-arg]
