"""Stores: SQLite by default, PostgreSQL at scale; `open_store(url)` picks one."""

from __future__ import annotations

from tasks.errors import ConfigError
from tasks.store.base import StageResult, Store


def open_store(url: str, *, migrate: bool = True) -> Store:
    """The store for a URL, its schema brought up to date unless migrate=False."""
    store: Store
    if url.startswith("sqlite:///"):
        from tasks.store.sqlite import SQLiteStore

        store = SQLiteStore(url)
    elif url.startswith(("postgresql://", "postgres://")):
        try:
            from tasks.store.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise ConfigError(f"DOCFLOW_STORE_URL: PostgreSQL support unavailable: {exc}") from exc
        store = PostgresStore(url)
    else:
        raise ConfigError(
            f"DOCFLOW_STORE_URL: unsupported store URL scheme in {url.split(':', 1)[0]!r}",
            hint="use sqlite:///path/to/docflow.db or postgresql://user@host/db",
        )
    if migrate:
        store.migrate()
    return store


__all__ = ["StageResult", "Store", "open_store"]
