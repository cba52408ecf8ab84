"""SQLite store: one file, WAL mode, FTS5 full-text index; safe for several processes.

The behaviour is `tasks.store.core.SQLStore`'s; this module is the SQLite dialect of it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError, StoreUnavailable
from tasks.models import Article
from tasks.search.fields import entity_keys, meta_text
from tasks.search.query import Query, to_fts5
from tasks.store.batch import BatchDialect, Deltas
from tasks.store.core import MentionRows, SQLStore
from tasks.store.dialects import SQLiteBatch
from tasks.store.migrations import migration_scripts
from tasks.store.rows import DOC_COLUMNS, Row
from tasks.store.search import FTS_COPIED, Match
from tasks.store.sqlite_errors import RETRIED, cannot_write, stuck_connection
from tasks.store.url import StoreURL

BUSY_TIMEOUT_MS = 30_000
#: at most this many `?` in one IN (...) list
CHUNK = 500
#: documents fetched at a time by iter_documents
PAGE = 200
#: bm25 weights of the full-text columns: title, body, meta (the dateline and the
#: article's own id); negated: higher is better
_SCORE = "-bm25(documents_fts, 10.0, 1.0, 5.0)"


class SQLiteStore(SQLStore[sqlite3.Connection]):
    """The default store. Connections are opened lazily, one per process (fork-safe)."""

    DISTINCT = "IS NOT"
    BYTEWISE = "COLLATE BINARY"
    CONTAINS = "instr({0}, {1}) > 0"
    FTS_JOIN = "f.rowid = x.rowid"
    SEARCH_ROWS = "search_rows"
    DOC_KEY = "rowid"
    PAIR_DOC = "doc"
    ROW_KEY = "d.rowid"
    SEARCH_FIELDS_VERSION = 5

    def __init__(self, url: str) -> None:
        super().__init__()
        parsed = StoreURL.parse(url)
        if parsed.path is None:
            raise ConfigError(f"DOCFLOW_STORE_URL: {parsed.masked!r} is not a sqlite:/// URL")
        self.url = url
        self.path: Path = parsed.path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    # ---- connection -------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"the store {self.path} cannot be created: {exc.strerror}",
                    hint=f"create the folder {self.path.parent} or make it writable",
                ) from exc
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            except sqlite3.Error as exc:
                raise self._unavailable(exc, "cannot open the store") from exc
            conn.row_factory = sqlite3.Row
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    @property
    def _store_name(self) -> str:
        return str(self.path)

    def _unavailable(self, exc: sqlite3.Error, doing: str) -> StoreUnavailable:
        """What `exc` means for the user; retryable even when it is not one we know."""
        self._drop_if_stuck(exc)
        return cannot_write(self.path, exc) or StoreUnavailable(
            f"{doing} {self.path}: {exc}", hint=RETRIED
        )

    def _drop_if_stuck(self, exc: sqlite3.Error) -> None:
        """Close a connection that would stay broken after the cause is fixed.

        SQLite falls back to a read-only handle when it cannot open the file for writing
        (mode, `chattr +i`, a read-only mount), and keeps it: without a fresh connection a
        worker would go on failing after the file became writable again.
        """
        if stuck_connection(exc):
            self.close()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Roll back if a transaction is still open (SQLITE_FULL and I/O errors end it)."""
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _batch_dialect(self) -> BatchDialect:
        return SQLiteBatch(self)

    @contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; a file that cannot be written now raises StoreUnavailable.

        Every commit has the same durability here (synchronous=NORMAL): `durable` is unused.
        """
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._unavailable(exc, "cannot start writing to the store") from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            self._rollback(conn)
            unavailable = cannot_write(self.path, exc)
            if unavailable is None:
                raise
            self._drop_if_stuck(exc)
            raise unavailable from exc
        except BaseException:
            self._rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            self._rollback(conn)
            raise self._unavailable(exc, "cannot commit to the store") from exc

    def _run(
        self, tx: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()
    ) -> sqlite3.Cursor:
        return tx.execute(sql, params)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> Sequence[Row]:
        try:
            rows: list[Row] = self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            unavailable = cannot_write(self.path, exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        return rows

    # ---- schema ---------------------------------------------------------------
    def migrate(self) -> int:
        conn = self.conn
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        except sqlite3.OperationalError as exc:
            unavailable = cannot_write(self.path, exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        current = int(self._read("SELECT max(version) AS v FROM schema_version")[0]["v"] or 0)
        for version, sql in migration_scripts("sqlite"):
            if version <= current:
                continue
            with self._write() as tx:
                # another process may have applied it since the read above: the write lock
                # is held now, so this second look is the one that counts
                row = tx.execute("SELECT max(version) FROM schema_version").fetchone()
                if int(row[0] or 0) < version:
                    for statement in _statements(sql):
                        tx.execute(statement)
                    self._after_script(tx, version)
                    tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            current = version
        return current

    # ---- the dialect's writes -------------------------------------------------------
    def _lock_document(self, tx: sqlite3.Connection, doc_id: str) -> None:
        """Nothing to lock: BEGIN IMMEDIATE holds the database's one write lock."""

    def _write_mentions(self, tx: sqlite3.Connection, doc_id: str, rows: MentionRows) -> None:
        tx.executemany(
            'INSERT INTO mentions (doc_id, start, "end", text, label, canonical, entity_id,'
            " occurrences) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (doc_id, r.start, r.end, r.text, r.label, r.canonical, r.entity_id, r.occurrences)
                for r in rows
            ],
        )

    def _write_text(self, tx: sqlite3.Connection, doc_id: str, article: Article) -> None:
        """The full-text row and the search row share the document's rowid: replaced by
        key, no index scan. The search row copies what search filters on from the
        document (`save_parsed` wrote it)."""
        tx.execute(
            "DELETE FROM documents_fts WHERE rowid = (SELECT rowid FROM documents WHERE id = ?)",
            (doc_id,),
        )
        tx.execute(
            "INSERT INTO documents_fts (rowid, title, body, meta)"
            " SELECT rowid, ?, ?, ? FROM documents WHERE id = ?",
            (article.title, article.body, meta_text(article), doc_id),
        )
        tx.execute(
            f"INSERT OR REPLACE INTO search_rows (rowid, doc_id, {FTS_COPIED})"
            f" SELECT rowid, id, {FTS_COPIED} FROM documents WHERE id = ?",
            (doc_id,),
        )

    def _apply_entity_deltas(self, tx: sqlite3.Connection, deltas: Deltas) -> None:
        """Count and alias changes for every entity of a document, in a few statements."""
        known: dict[str, tuple[str, str]] = {}
        for cond, params in self._ids_in("id", list(deltas)):
            for row in tx.execute(f"SELECT id, name, aliases FROM entities WHERE {cond}", params):
                known[row["id"]] = (row["name"], row["aliases"])
        inserts, counts, renamed = [], [], []
        for eid, (name, label, d_mentions, d_docs, forms) in deltas.items():
            new_forms = {f for f in forms if f != name} if name else set()
            if eid not in known:
                if d_mentions > 0:
                    aliases = sorted(new_forms)
                    keys = entity_keys(name, aliases)
                    inserts.append((eid, name, label, _json(aliases), keys, d_docs, d_mentions))
                continue
            old = set(json.loads(known[eid][1]))
            if new_forms <= old:
                counts.append((d_docs, d_mentions, eid))
            else:
                aliases = sorted(old | new_forms)
                keys = entity_keys(known[eid][0], aliases)
                renamed.append((d_docs, d_mentions, _json(aliases), keys, eid))
        tx.executemany(
            "INSERT INTO entities (id, name, label, aliases, keys, documents, mentions)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        tx.executemany(
            "UPDATE entities SET documents = documents + ?, mentions = mentions + ? WHERE id = ?",
            counts,
        )
        tx.executemany(
            "UPDATE entities SET documents = documents + ?, mentions = mentions + ?,"
            " aliases = ?, keys = ? WHERE id = ?",
            renamed,
        )
        gone = [eid for eid, delta in deltas.items() if delta[2] < 0]
        for cond, params in self._ids_in("id", gone):
            tx.execute(f"DELETE FROM entities WHERE mentions <= 0 AND {cond}", params)

    # ---- the dialect's reads --------------------------------------------------------
    def _ids_in(self, column: str, ids: list[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        for i in range(0, len(ids), CHUNK):
            chunk = tuple(ids[i : i + CHUNK])
            yield f"{column} IN ({','.join('?' * len(chunk))})", chunk

    def _match(self, query: Query) -> Match:
        """FTS5 finds the full-text rowids (never reading a stored record) and bm25 ranks
        them; the narrow search row of each gives what search filters and counts on."""
        return Match(
            "documents_fts JOIN search_rows AS d ON d.rowid = documents_fts.rowid"
            " WHERE documents_fts MATCH ?",
            _SCORE,
            (to_fts5(query),),
            "d.doc_id",
            self.ROW_KEY,
            fulltext=True,
        )

    def _document_rows(self, where: str, params: tuple[Any, ...]) -> Iterator[Row]:
        """One cursor, fetched a page at a time."""
        cursor = self.conn.execute(
            f"SELECT {DOC_COLUMNS} FROM documents WHERE {where} ORDER BY created_at, id", params
        )
        while page := cursor.fetchmany(PAGE):
            yield from page


def _json(aliases: list[str]) -> str:
    return json.dumps(aliases, ensure_ascii=False)


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
