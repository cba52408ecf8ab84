"""The CLI's sub-commands, one module per area; each registers itself on `workers.cli.app`."""

from __future__ import annotations

from pathlib import Path

from tasks.store import Store, open_store
from workers.logging import configure_logging
from workers.settings import Settings, get_settings


def setup(*, logs: bool = True) -> Settings:
    """Settings for a command, with logging configured from them."""
    settings = get_settings()
    if logs:
        configure_logging(settings.log_format, settings.log_level)
    return settings


def store_for(settings: Settings, *, read_only: bool = False) -> Store:
    """The configured store; read-only commands skip SQLite's schema migration (no write
    lock), unless the file does not exist yet, so a fresh data dir reads as empty."""
    if not settings.store.startswith("sqlite:///"):
        return open_store(settings.store)  # PostgreSQL migrates under an advisory lock
    fresh = not Path(settings.store[len("sqlite:///") :]).exists()
    return open_store(settings.store, migrate=fresh or not read_only)
