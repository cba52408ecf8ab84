"""PostgreSQL connections: one small pool per process, created lazily after fork.

`PostgresConnection` is the connection half of `tasks.store.postgres.PostgresStore`: the
pool, its fork safety, and errors turned into StoreUnavailable without the password.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from tasks.errors import ConfigError, StoreUnavailable
from tasks.masking import mask_url
from tasks.store.postgres_errors import what_to_do

POOL_MIN = 1
POOL_MAX = 4
CONNECT_TIMEOUT_S = 10
POOL_TIMEOUT_S = 15.0
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

# Pools inherited across fork: never closed or collected in the child (closing would end
# the parent's sessions), just forgotten.
_INHERITED: list[ConnectionPool[Any]] = []
_pool_lock = threading.Lock()


def _reset_pool_lock() -> None:
    global _pool_lock
    _pool_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_pool_lock)


def _password(url: str) -> str | None:
    """The password libpq reads from a URL or conninfo string (to scrub it from errors)."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        return None
    return str(password) if password else None


class PostgresConnection:
    """A store's connections to one PostgreSQL schema (autocommit, search_path set)."""

    def __init__(self, url: str, schema: str = "public") -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"PostgreSQL schema name {schema!r} is not a plain identifier")
        self.url = url
        self.schema = schema
        self._safe_url = mask_url(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise ConfigError(
                f"DOCFLOW_STORE_URL: cannot read {self._safe_url}: {self._scrub(exc)}",
                hint="use postgresql://user[:password]@host[:port]/database",
            ) from exc
        self._kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:
            self._kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in params:
            self._kwargs["application_name"] = "docflow"
        self._pool: ConnectionPool[Any] | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._safe_url!r}, schema={self.schema!r})"

    def _scrub(self, exc: BaseException | str) -> str:
        text = " ".join(str(exc).split())
        password = _password(self.url)
        if password:
            text = text.replace(password, "***")
            if unquote(password) != password:
                text = text.replace(unquote(password), "***")
        return mask_url(text.replace(self.url, self._safe_url))

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        reason = self._scrub(exc)
        if isinstance(exc, PoolTimeout):
            busy = f"all {POOL_MAX} pooled connections are busy"
            reason = f"{reason}; {self._probe() or busy}"
        return StoreUnavailable(
            f"the store {self._safe_url} (schema {self.schema}) is unavailable: {reason}",
            hint=what_to_do(exc),
        )

    def _probe(self) -> str | None:
        """Why a fresh connection cannot be opened, or None when it can."""
        try:
            with psycopg.connect(self.url, **self._kwargs):
                return None
        except psycopg.Error as exc:
            return self._scrub(exc)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    @property
    def pool(self) -> ConnectionPool[Any]:
        pid = os.getpid()
        pool = self._pool
        if pool is not None and self._pid == pid:
            return pool
        with _pool_lock:
            if self._pool is not None and self._pid == pid:
                return self._pool
            if self._pool is not None:
                _INHERITED.append(self._pool)
                self._pool = None
            # Connect once directly first: a down server fails fast, with its real reason.
            try:
                with psycopg.connect(self.url, **self._kwargs):
                    pass
            except psycopg.OperationalError as exc:
                raise self._unavailable(exc) from exc
            except psycopg.Error as exc:
                raise ConfigError(
                    f"DOCFLOW_STORE_URL: cannot connect to {self._safe_url}: {self._scrub(exc)}"
                ) from exc
            pool = ConnectionPool(
                self.url,
                kwargs=self._kwargs,
                min_size=POOL_MIN,
                max_size=POOL_MAX,
                open=False,
                configure=self._configure,
                check=ConnectionPool.check_connection,
                timeout=POOL_TIMEOUT_S,
                name=f"docflow-{self.schema}",
            )
            pool.open()
            self._pool, self._pid = pool, pid
            return pool

    def close(self) -> None:
        with _pool_lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            elif self._pool is not None:
                _INHERITED.append(self._pool)
            self._pool = None

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit); OperationalError becomes StoreUnavailable."""
        pool = self.pool
        try:
            with pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction) as exc:
            # down, full, out of connections or read-only: the store cannot be written now
            raise self._unavailable(exc) from exc

    def drop_schema(self) -> None:
        """Drop the store's schema and everything in it (for tests); never `public`."""
        if self.schema == "public":
            raise ConfigError("refusing to drop the public schema")
        with self._conn() as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )
