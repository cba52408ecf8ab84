"""The store URL is parsed once, into a kind, a SQLite file or a database, and a masked form."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import ConfigError
from tasks.store import open_store
from tasks.store.url import StoreURL
from workers.settings import Settings


def test_a_sqlite_url_with_three_slashes_names_a_relative_file() -> None:
    url = StoreURL.parse("sqlite:///data/docflow.db")
    assert url.kind == "sqlite" and url.is_sqlite and not url.is_postgres
    assert url.path == Path("data/docflow.db")
    assert url.database is None


def test_a_sqlite_url_with_four_slashes_names_an_absolute_file() -> None:
    assert StoreURL.parse("sqlite:////srv/docflow/docflow.db").path == Path(
        "/srv/docflow/docflow.db"
    )


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_both_postgresql_schemes_name_a_database_and_no_file(scheme: str) -> None:
    url = StoreURL.parse(f"{scheme}://docflow:hunter2@db:5432/news%20archive?sslmode=require")
    assert url.kind == "postgresql" and url.is_postgres
    assert url.path is None
    assert url.database == "news archive"


def test_the_masked_form_repr_and_str_never_show_the_password() -> None:
    url = StoreURL.parse("postgresql://docflow:hunter2@db/docflow?password=hunter2")
    assert url.masked == "postgresql://docflow:***@db/docflow?password=***"
    assert str(url) == url.masked
    assert "hunter2" not in repr(url)


def test_another_database_on_the_same_server_keeps_user_host_and_options() -> None:
    url = StoreURL.parse("postgresql://u:p@db:5433/main?sslmode=require")
    assert url.with_database("bench_1") == "postgresql://u:p@db:5433/bench_1?sslmode=require"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "mysql://root@db/docflow",
            "must start with sqlite:/// or postgresql:// (got mysql scheme)",
        ),
        ("docflow.db", "must start with sqlite:/// or postgresql:// (got no scheme)"),
        ("", "(got no scheme)"),
        ("sqlite://docflow.db", "is not a sqlite:/// URL"),
        ("sqlite:///", "names no file"),
        ("postgresql:docflow", "is not a postgresql:// URL"),
        ("postgresql://[::1/docflow", "cannot read"),
    ],
)
def test_any_other_url_is_a_config_error_naming_the_setting_with_what_to_use(
    url: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        StoreURL.parse(url)
    assert caught.value.message.startswith("DOCFLOW_STORE_URL: ")
    assert says in caught.value.message
    assert "sqlite:///" in caught.value.hint and "postgresql://" in caught.value.hint


def test_a_bad_url_error_names_the_option_it_came_from_and_hides_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        StoreURL.parse("sqlite://u:hunter2@x", setting="--store-url")
    assert caught.value.message.startswith("--store-url: ")
    assert "hunter2" not in caught.value.describe()


def test_open_store_refuses_an_unknown_scheme_with_the_same_error() -> None:
    with pytest.raises(ConfigError, match="must start with sqlite:///"):
        open_store("mysql://root@db/docflow")


def test_settings_validate_the_store_url_through_the_parser(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DOCFLOW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DOCFLOW_STORE_URL", "mysql://root@db/docflow")
    with pytest.raises(ValueError, match=r"must start with sqlite:/// or postgresql://"):
        Settings()


def test_settings_give_the_parsed_store_default_under_the_data_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("DOCFLOW_STORE_URL", raising=False)
    monkeypatch.setenv("DOCFLOW_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.store == f"sqlite:///{tmp_path.resolve() / 'docflow.db'}"
    assert settings.parsed_store.path == tmp_path.resolve() / "docflow.db"
