"""The CLI's sub-commands, one module per area; each registers itself on `workers.cli_app.app`.

This module holds what several command modules share; a command module imports no sibling.
"""

from __future__ import annotations

import sys

import typer

from tasks.errors import ConfigError, DocumentNotFound
from tasks.store import Store, open_store
from workers.logging import configure_logging
from workers.output import console
from workers.resources import check_model, check_store_location
from workers.settings import Settings, get_settings

#: what to do when a read-only command finds no store
NO_STORE_HINT = (
    "run `docflow up` or `docflow run` first to create one, or point DOCFLOW_STORE_URL / "
    "DOCFLOW_DATA_DIR at an existing store"
)

#: the `docflow entities` group: `workers.commands.entities` adds it to the app and defines
#: its callback and rule commands, `workers.commands.entities_review` its `review` command
entities_app = typer.Typer(
    help="Canonical entities, and the user's alias / merge / block rules (entities.toml).",
    invoke_without_command=True,
    no_args_is_help=False,
)

#: where `docflow entities review` logs each decision (in the data dir), and where
#: `docflow eval --reviewed` reads them as gold by default
DECISIONS_FILE = "entities-reviewed.jsonl"

REPROCESS_HINT = "run `docflow reprocess --stage tag` to apply it to documents already stored"


def setup(*, logs: bool = True, needs_model: bool = False) -> Settings:
    """Settings for a command, with logging configured from them.

    needs_model: this command starts workers that tag, so an uninstalled
    DOCFLOW_SPACY_MODEL stops it here, in one line, instead of at the first document.
    """
    settings = get_settings()
    if logs:
        configure_logging(settings.log_format, settings.log_level)
    if needs_model:
        check_model(settings.spacy_model)
    return settings


def store_for(settings: Settings, *, read_only: bool = False) -> Store:
    """The configured store.

    read_only: the store must exist already: a missing SQLite file is a ConfigError
    ("no docflow store at <path>"), and nothing is created; the schema is not migrated
    (no write lock). Otherwise the store is created if need be (see
    `check_store_location`) and migrated.
    """
    store = settings.parsed_store
    if store.path is None:
        return open_store(store)  # PostgreSQL migrates under an advisory lock
    if read_only:
        if not store.path.is_file():
            raise ConfigError(f"no docflow store at {store.path}", hint=NO_STORE_HINT)
        return open_store(store, migrate=False)
    check_store_location(settings)
    return open_store(store)


def resolve_id(store: Store, ident: str) -> str:
    """A full document id from a unique prefix."""
    ids = store.find_ids(ident)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise DocumentNotFound(
            f"no document with id {ident!r}",
            hint="ids are shown by `docflow search` and `docflow status`",
        )
    raise DocumentNotFound(f"{len(ids)} documents start with {ident!r}", hint="give more of the id")


def write_rule(kind: str, name: str, other: str | None = None, *, hint: bool = True) -> None:
    """Add a rule to the user's rules file (DOCFLOW_ENTITIES_FILE) and say what changed.

    `kind` and `other` as `tasks.entities.config.add_rule` takes them; hint: end the line
    with how to apply the rule to documents already stored.
    """
    from tasks.entities.config import add_rule

    path = setup(logs=False).entities_path
    path.parent.mkdir(parents=True, exist_ok=True)
    done = add_rule(path, kind, name, other)
    console.print(f"{path}: {done}; {REPROCESS_HINT}" if hint else f"{path}: {done}")


def point_app_at(url: str) -> None:
    """Send this process's Celery messages to the broker at `url`."""
    from workers.app import app as celery_app

    celery_app.conf.broker_url = url


def require_broker(settings: Settings) -> str:
    """The configured broker URL, or the error that says how to get one."""
    from workers.app import no_broker_error

    url = settings.resolved_broker_url()
    if url is None:
        raise no_broker_error()
    return url


def serve_command() -> list[str]:
    """The command line of a `docflow serve` child process (`docflow up` starts one)."""
    return [sys.executable, "-c", "from workers.cli import main; main()", "serve"]


__all__ = [
    "DECISIONS_FILE",
    "REPROCESS_HINT",
    "check_store_location",
    "entities_app",
    "point_app_at",
    "require_broker",
    "resolve_id",
    "serve_command",
    "setup",
    "store_for",
    "write_rule",
]
