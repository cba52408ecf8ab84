"""The bench's store access: read-only SQL for figures, and a private PostgreSQL database."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from tasks.errors import ConfigError
from tasks.store import StoreURL


class StoreReader:
    """Plain SQL over a store's tables, read-only, for figures the Store API does not give."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = StoreURL.parse(url)
        self.postgres = self.location.is_postgres
        self._conn: Any = None

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._conn is None:
            if self.postgres:
                import psycopg

                self._conn = psycopg.connect(self.url, autocommit=True)
            else:
                import sqlite3

                path = self.location.path
                self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        if self.postgres:
            sql = sql.replace("?", "%s")
        return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def create_private_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of a postgresql:// URL; (its URL, drop function)."""
    import psycopg
    from psycopg import sql

    server = StoreURL.parse(url, setting="--store-url")
    if not server.is_postgres:
        raise ConfigError(f"--store-url: {server.masked!r} is not postgresql://")
    name = f"docflow_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ConfigError(
            f"--store-url: cannot create a private benchmark database: {str(exc).strip()}",
            hint="the benchmark never writes to an existing database; give a role that may "
            "CREATE DATABASE",
        ) from exc
    private = server.with_database(name)

    def drop_database() -> None:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return private, drop_database
