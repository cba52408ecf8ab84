"""Stores: SQLite by default, PostgreSQL at scale; `open_store(url)` picks one."""

from __future__ import annotations

from tasks.errors import ConfigError
from tasks.store.base import StageResult, Store
from tasks.store.url import StoreURL


def open_store(url: str | StoreURL, *, migrate: bool = True) -> Store:
    """The store for a URL, its schema brought up to date unless migrate=False.

    A URL that is neither sqlite:/// nor postgresql:// is a ConfigError (`StoreURL.parse`).
    """
    parsed = url if isinstance(url, StoreURL) else StoreURL.parse(url)
    store: Store
    if parsed.is_sqlite:
        from tasks.store.sqlite import SQLiteStore

        store = SQLiteStore(parsed.url)
    else:
        try:
            from tasks.store.postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise ConfigError(f"DOCFLOW_STORE_URL: PostgreSQL support unavailable: {exc}") from exc
        store = PostgresStore(parsed.url)
    if migrate:
        store.migrate()
    return store


__all__ = ["StageResult", "Store", "StoreURL", "open_store"]
