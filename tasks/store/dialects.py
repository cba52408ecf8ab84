"""Each store's transaction verbs for a batch (`tasks.store.batch.BatchDialect`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from tasks.errors import StoreUnavailable
from tasks.store.batch import Deltas
from tasks.store.sqlite_errors import cannot_write


class SQLiteHost(Protocol):
    """What a SQLite batch needs of its store (tasks.store.sqlite.SQLiteStore)."""

    path: Path

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
    def _drop_if_stuck(self, exc: sqlite3.Error) -> None: ...
    def _apply_entity_deltas(self, tx: sqlite3.Connection, deltas: Deltas) -> None: ...


class PostgresHost(Protocol):
    """What a PostgreSQL batch needs of its store (tasks.store.postgres.PostgresStore)."""

    def _transaction(self, durable: bool = True) -> AbstractContextManager[Any]: ...
    def _unavailable(self, exc: BaseException) -> StoreUnavailable: ...
    def _apply_entity_deltas(self, cur: Any, deltas: Deltas) -> None: ...


class SQLiteBatch:
    """SQLite: BEGIN IMMEDIATE holds the database's one write lock, so no row locks."""

    def __init__(self, store: SQLiteHost) -> None:
        self.store = store

    @contextmanager
    def batch_transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            with self.store._transaction() as tx:
                yield tx
        except StoreUnavailable as exc:
            # a savepoint turned the error into StoreUnavailable after the rollback: a
            # connection SQLite keeps read-only is dropped as a single write drops it
            if isinstance(exc.__cause__, sqlite3.Error):
                self.store._drop_if_stuck(exc.__cause__)
            raise

    @contextmanager
    def batch_savepoint(self, tx: sqlite3.Connection, name: str) -> Iterator[sqlite3.Connection]:
        tx.execute(f"SAVEPOINT {name}")
        try:
            yield tx
        except BaseException as exc:
            with suppress(sqlite3.Error):  # SQLITE_FULL and I/O errors end the transaction
                tx.execute(f"ROLLBACK TO {name}")
                tx.execute(f"RELEASE {name}")
            if isinstance(exc, sqlite3.Error):
                unavailable = cannot_write(self.store.path, exc)
                if unavailable is not None:
                    raise unavailable from exc
            raise
        tx.execute(f"RELEASE {name}")

    def lock_documents(self, tx: sqlite3.Connection, doc_ids: list[str]) -> None:
        """Nothing to lock: the transaction already holds SQLite's write lock."""

    def apply_entity_deltas(self, tx: sqlite3.Connection, deltas: Deltas) -> None:
        self.store._apply_entity_deltas(tx, deltas)

    def before_commit(self, tx: sqlite3.Connection, durable: bool) -> None:
        """Nothing: every SQLite commit has the same durability (synchronous=NORMAL)."""


class PostgresBatch:
    """PostgreSQL: the batch's document rows are locked first, in id order (no deadlocks)."""

    def __init__(self, store: PostgresHost) -> None:
        self.store = store

    def batch_transaction(self) -> Any:
        return self.store._transaction()

    @contextmanager
    def batch_savepoint(self, tx: Any, name: str) -> Iterator[Any]:
        import psycopg

        try:
            with tx.connection.transaction(savepoint_name=name):
                yield tx
        except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction) as exc:
            # as a single write reports it: the store cannot be written now (retryable)
            raise self.store._unavailable(exc) from exc

    def lock_documents(self, tx: Any, doc_ids: list[str]) -> None:
        if doc_ids:
            tx.execute(
                "SELECT id FROM documents WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (doc_ids,)
            )

    def apply_entity_deltas(self, tx: Any, deltas: Deltas) -> None:
        self.store._apply_entity_deltas(tx, deltas)

    def before_commit(self, tx: Any, durable: bool) -> None:
        """A batch of stage progress only commits without waiting for the WAL flush.

        Like a single progress write (`PostgresStore._transaction(durable=False)`); one
        durable write (a failure, a new document) makes the whole batch durable.
        """
        if not durable:
            tx.execute("SET LOCAL synchronous_commit TO OFF")
