"""SQLite store: one file, WAL mode, FTS5 full-text index; safe for several processes."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from tasks.errors import ConfigError, DocumentNotFound, StaleRun, StoreUnavailable
from tasks.models import (
    Article,
    DocumentRecord,
    EntityRow,
    Mention,
    RawArticle,
    RejectedFileRecord,
    SearchHit,
    Stage,
    StageRun,
    Status,
)
from tasks.store.base import (
    HIGHLIGHT_CLOSE,
    HIGHLIGHT_OPEN,
    INPUT_STATUS,
    StageResult,
    entity_deltas,
    mention_rows,
    query_terms,
)
from tasks.store.batch import BatchScope, Deltas, WriteBatch
from tasks.store.dialects import SQLiteBatch
from tasks.store.migrations import migration_scripts
from tasks.store.sqlite_errors import RETRIED, cannot_write, stuck_connection
from tasks.store.url import StoreURL

BUSY_TIMEOUT_MS = 30_000
#: a document's mentions column, parsed in one go
MENTIONS = TypeAdapter(list[Mention])
_DOC_COLUMNS = (
    "id, content_hash, source, format, status, trace_id, stage, attempts, last_error, "
    "created_at, updated_at, raw, article, mentions, tag_version"
)


class SQLiteStore:
    """The default store. Connections are opened lazily, one per process (fork-safe)."""

    def __init__(self, url: str) -> None:
        parsed = StoreURL.parse(url)
        if parsed.path is None:
            raise ConfigError(f"DOCFLOW_STORE_URL: {parsed.masked!r} is not a sqlite:/// URL")
        self.url = url
        self.path: Path = parsed.path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._batches = BatchScope()

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

    def batch(self, doc_ids: Iterable[str]) -> AbstractContextManager[WriteBatch]:
        """One transaction for these documents' writes (see `tasks.store.batch`)."""
        return self._batches.open(SQLiteBatch(self), doc_ids)

    @contextmanager
    def _write(self, doc_id: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, or one savepoint of the open batch's transaction."""
        if self._batches.active is None:
            with self._transaction() as tx:
                yield tx
        else:
            with self._batches.write(doc_id) as tx:
                yield tx

    def _entity_deltas(self, tx: sqlite3.Connection, deltas: Deltas) -> None:
        """Apply a document's entity changes now, or at the end of the open batch."""
        self._batches.entity_deltas(tx, deltas, self._apply_entity_deltas)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a file that cannot be written now raises StoreUnavailable."""
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

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            unavailable = cannot_write(self.path, exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    def _advance(
        self,
        tx: sqlite3.Connection,
        doc_id: str,
        stage: Stage,
        run: StageResult,
        assignments: str,
        params: tuple[Any, ...],
    ) -> None:
        """UPDATE the document if `run` owns `stage` and it is in its input status.

        Compare-and-set in one statement (the transaction holds SQLite's write lock):
        the document must be in the stage's input status and the stage's recorded run
        must be the caller's (or none recorded). Otherwise StaleRun, and the caller's
        transaction is rolled back: nothing changes.
        """
        cur = tx.execute(
            f"UPDATE documents SET {assignments} WHERE id = ? AND status = ? AND NOT EXISTS"
            " (SELECT 1 FROM stage_runs WHERE doc_id = ? AND stage = ? AND task_id IS NOT ?)",
            (*params, doc_id, INPUT_STATUS[stage], doc_id, str(stage), run.task_id),
        )
        if cur.rowcount == 1:
            return
        row = tx.execute(
            "SELECT d.status, r.task_id FROM documents AS d LEFT JOIN stage_runs AS r"
            " ON r.doc_id = d.id AND r.stage = ? WHERE d.id = ?",
            (str(stage), doc_id),
        ).fetchone()
        if row is None:
            raise DocumentNotFound(f"no document {doc_id!r} in the store {self.path}")
        raise StaleRun(doc_id, str(stage), run.task_id, row["task_id"], row["status"])

    # ---- schema ---------------------------------------------------------------
    def migrate(self) -> int:
        conn = self.conn
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError as exc:
            unavailable = cannot_write(self.path, exc)
            if unavailable is None:
                raise
            raise unavailable from exc
        current = int(row[0] or 0)
        for version, sql in migration_scripts("sqlite"):
            if version <= current:
                continue
            with self._write() as tx:
                for statement in _statements(sql):
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            current = version
        return current

    # ---- writes ---------------------------------------------------------------
    def add_document(
        self, raw: RawArticle, content_hash: str, trace_id: str, run: StageResult
    ) -> tuple[str, bool]:
        doc_id = content_hash[:16]
        now = time.time()
        # joins an open batch undeclared (a new document has no row to lock yet)
        with self._write() as tx:
            cur = tx.execute(
                "INSERT OR IGNORE INTO documents (id, content_hash, source, format, part, raw,"
                " status, trace_id, created_at, updated_at, attempts)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (
                    doc_id,
                    content_hash,
                    raw.source,
                    raw.format,
                    raw.part,
                    raw.content,
                    Status.received,
                    trace_id,
                    now,
                    now,
                ),
            )
            created = cur.rowcount == 1
            if created:
                self._upsert_run(tx, doc_id, run)
        if not created:
            existing = self._read(
                "SELECT id FROM documents WHERE content_hash = ?", (content_hash,)
            )
            if existing:
                doc_id = existing[0]["id"]
        return doc_id, created

    def start_stage(self, doc_id: str, run: StageResult) -> int:
        with self._write(doc_id) as tx:
            tx.execute("UPDATE documents SET updated_at = ? WHERE id = ?", (run.started, doc_id))
            row = tx.execute(
                "INSERT INTO stage_runs (doc_id, stage, worker, task_id, started, attempts,"
                " batch_id, batch_size) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (doc_id, stage) DO UPDATE SET"
                " worker = excluded.worker, task_id = excluded.task_id,"
                " started = excluded.started, duration_ms = NULL, error = NULL,"
                " batch_id = excluded.batch_id, batch_size = excluded.batch_size,"
                " attempts = stage_runs.attempts + 1 RETURNING attempts",
                (
                    doc_id,
                    str(run.stage),
                    run.worker,
                    run.task_id,
                    run.started,
                    run.batch_id,
                    run.batch_size,
                ),
            ).fetchone()
        return int(row[0])

    def save_parsed(self, doc_id: str, article: Article, run: StageResult) -> None:
        with self._write(doc_id) as tx:
            self._advance(
                tx,
                doc_id,
                Stage.parse,
                run,
                "article = ?, title = ?, published = ?, status = ?,"
                " stage = NULL, last_error = NULL, updated_at = ?",
                (
                    article.model_dump_json(),
                    article.title,
                    article.published,
                    Status.parsed,
                    time.time(),
                ),
            )
            self._upsert_run(tx, doc_id, run)

    def save_tags(
        self, doc_id: str, mentions: list[Mention], tag_version: str, run: StageResult
    ) -> None:
        payload = json.dumps([m.model_dump() for m in mentions], ensure_ascii=False)
        with self._write(doc_id) as tx:
            self._advance(
                tx,
                doc_id,
                Stage.tag,
                run,
                "mentions = ?, tag_version = ?, status = ?, stage = NULL,"
                " last_error = NULL, updated_at = ?",
                (payload, tag_version, Status.tagged, time.time()),
            )
            self._upsert_run(tx, doc_id, run)

    def index_document(self, doc_id: str, run: StageResult) -> None:
        now = time.time()
        with self._write(doc_id) as tx:
            # the status moves first: a run that does not own the stage stops here
            self._advance(
                tx,
                doc_id,
                Stage.index,
                run,
                "status = ?, stage = NULL, last_error = NULL, updated_at = ?,"
                " indexed_at = coalesce(indexed_at, ?)",
                (Status.indexed, now, now),
            )
            row = tx.execute(
                "SELECT rowid, article, mentions FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
            rowid = row["rowid"]
            article = Article.model_validate_json(row["article"]) if row["article"] else Article()
            mentions = MENTIONS.validate_json(row["mentions"]) if row["mentions"] else []
            new_rows = mention_rows(mentions)
            old_rows = [
                (r["entity_id"], r["canonical"], r["label"], r["text"])
                for r in tx.execute(
                    "SELECT entity_id, canonical, label, text FROM mentions WHERE doc_id = ?",
                    (doc_id,),
                )
            ]
            tx.execute("DELETE FROM mentions WHERE doc_id = ?", (doc_id,))
            tx.executemany(
                'INSERT INTO mentions (doc_id, start, "end", text, label, canonical, entity_id)'
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (doc_id, m.start, m.end, m.text, m.label, row[1], row[0])
                    for m, row in zip(mentions, new_rows, strict=True)
                ],
            )
            self._entity_deltas(tx, entity_deltas(old_rows, new_rows))
            tx.execute("DELETE FROM documents_fts WHERE rowid = ?", (rowid,))
            tx.execute(
                "INSERT INTO documents_fts (rowid, doc_id, title, body) VALUES (?, ?, ?, ?)",
                (rowid, doc_id, article.title, article.body),
            )
            self._upsert_run(tx, doc_id, run)

    def _apply_entity_deltas(
        self, tx: sqlite3.Connection, deltas: dict[str, tuple[str, str, int, int, set[str]]]
    ) -> None:
        """Count and alias changes for every entity of a document, in a few statements."""
        ids = list(deltas)
        known: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            known.update(
                tx.execute(f"SELECT id, aliases FROM entities WHERE id IN ({marks})", chunk)
            )
        inserts, counts, renamed = [], [], []
        for eid, (name, label, d_mentions, d_docs, forms) in deltas.items():
            new_forms = {f for f in forms if f != name} if name else set()
            if eid not in known:
                if d_mentions > 0:
                    aliases = json.dumps(sorted(new_forms), ensure_ascii=False)
                    inserts.append((eid, name, label, aliases, d_docs, d_mentions))
                continue
            old = set(json.loads(known[eid]))
            if new_forms <= old:
                counts.append((d_docs, d_mentions, eid))
            else:
                aliases = json.dumps(sorted(old | new_forms), ensure_ascii=False)
                renamed.append((d_docs, d_mentions, aliases, eid))
        tx.executemany(
            "INSERT INTO entities (id, name, label, aliases, documents, mentions)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )
        tx.executemany(
            "UPDATE entities SET documents = documents + ?, mentions = mentions + ? WHERE id = ?",
            counts,
        )
        tx.executemany(
            "UPDATE entities SET documents = documents + ?, mentions = mentions + ?,"
            " aliases = ? WHERE id = ?",
            renamed,
        )
        gone = [eid for eid, delta in deltas.items() if delta[2] < 0]
        for i in range(0, len(gone), 500):
            marks = ",".join("?" * len(gone[i : i + 500]))
            tx.execute(
                f"DELETE FROM entities WHERE mentions <= 0 AND id IN ({marks})", gone[i : i + 500]
            )

    def mark_failed(self, doc_id: str, run: StageResult) -> None:
        with self._write(doc_id) as tx:
            self._advance(
                tx,
                doc_id,
                run.stage,
                run,
                "status = ?, stage = ?, last_error = ?, attempts = attempts + 1, updated_at = ?",
                (Status.failed, str(run.stage), run.error, time.time()),
            )
            self._upsert_run(tx, doc_id, run)

    def record_attempt(self, doc_id: str, run: StageResult) -> None:
        with self._write(doc_id) as tx:
            self._advance(
                tx,
                doc_id,
                run.stage,
                run,
                "attempts = attempts + 1, last_error = ?, updated_at = ?",
                (run.error, time.time()),
            )
            self._upsert_run(tx, doc_id, run)

    def reset_to(self, doc_id: str, status: Status) -> None:
        with self._write(doc_id) as tx:
            tx.execute(
                "UPDATE documents SET status = ?, stage = NULL, updated_at = ? WHERE id = ?",
                (status, time.time(), doc_id),
            )

    def record_rejected(self, source: str, error: str, stage: str = "ingest") -> None:
        with self._write() as tx:
            tx.execute(
                "INSERT INTO rejected_files (source, stage, error, at) VALUES (?, ?, ?, ?)",
                (source, stage, error, time.time()),
            )

    @staticmethod
    def _upsert_run(tx: sqlite3.Connection, doc_id: str, run: StageResult) -> None:
        tx.execute(
            "INSERT INTO stage_runs (doc_id, stage, worker, task_id, started, duration_ms,"
            " attempts, error, batch_id, batch_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (doc_id, stage) DO UPDATE SET worker = excluded.worker,"
            " task_id = excluded.task_id, started = excluded.started,"
            " duration_ms = excluded.duration_ms,"
            " attempts = max(stage_runs.attempts, excluded.attempts),"
            " error = excluded.error, batch_id = excluded.batch_id,"
            " batch_size = excluded.batch_size",
            (
                doc_id,
                str(run.stage),
                run.worker,
                run.task_id,
                run.started,
                run.duration_ms,
                run.attempts,
                run.error,
                run.batch_id,
                run.batch_size,
            ),
        )

    # ---- reads ----------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord:
        rows = self._read(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,))
        if not rows:
            raise DocumentNotFound(f"no document {doc_id!r} in the store {self.path}")
        return _record(rows[0])

    def find_ids(self, prefix: str) -> list[str]:
        like = prefix.replace("%", "").replace("_", "") + "%"
        return [r["id"] for r in self._read("SELECT id FROM documents WHERE id LIKE ?", (like,))]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for row in self._read("SELECT status, count(*) AS n FROM documents GROUP BY status"):
            out[row["status"]] = row["n"]
        return out

    def status_counts(self, ids: list[str]) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._read(
                f"SELECT status, count(*) AS n FROM documents WHERE id IN ({marks})"
                " GROUP BY status",
                tuple(chunk),
            ):
                out[row["status"]] += row["n"]
        return out

    def search(
        self, query: str, *, entity: str | None = None, label: str | None = None, limit: int = 10
    ) -> list[SearchHit]:
        phrases = query_terms(query)
        if not phrases and not entity and not label:
            return []
        where: list[str] = []
        params: list[Any] = []
        if phrases:
            match = " ".join('"' + p.replace('"', '""') + '"' for p in phrases)
            where.append("documents_fts MATCH ?")
            params.append(match)
        if entity or label:
            cond, cparams = _entity_condition(entity, label)
            where.append(f"f.doc_id IN (SELECT doc_id FROM mentions WHERE {cond})")
            params.extend(cparams)
        rank = "bm25(documents_fts, 0.0, 10.0, 1.0)" if phrases else "0.0"
        snippet = (
            f"snippet(documents_fts, 2, '{HIGHLIGHT_OPEN}', '{HIGHLIGHT_CLOSE}', '…', 16)"
            if phrases
            else "substr(f.body, 1, 160)"
        )
        sql = (
            f"SELECT f.doc_id AS id, f.title AS title, {rank} AS rank, {snippet} AS snippet,"
            " d.source AS source, d.published AS published"
            " FROM documents_fts AS f JOIN documents AS d ON d.id = f.doc_id"
            f" WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?"
        )
        params.append(max(1, min(limit, 1000)))
        rows = self._read(sql, tuple(params))
        return [
            SearchHit(
                id=r["id"],
                title=r["title"] or "",
                score=round(-float(r["rank"]), 4),
                snippet=r["snippet"] or "",
                source=r["source"],
                published=r["published"],
            )
            for r in rows
        ]

    def entities(self, *, label: str | None = None, limit: int = 50) -> list[EntityRow]:
        sql = "SELECT id, name, label, aliases, documents, mentions FROM entities"
        params: tuple[Any, ...] = ()
        if label:
            sql += " WHERE label = ?"
            params = (label.upper(),)
        sql += " ORDER BY documents DESC, mentions DESC, name LIMIT ?"
        rows = self._read(sql, (*params, max(1, limit)))
        return [
            EntityRow(
                id=r["id"],
                name=r["name"],
                label=r["label"],
                aliases=json.loads(r["aliases"]),
                documents=r["documents"],
                mentions=r["mentions"],
            )
            for r in rows
        ]

    def iter_documents(self, status: Status | None = None) -> Iterator[DocumentRecord]:
        sql = f"SELECT {_DOC_COLUMNS} FROM documents"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        sql += " ORDER BY created_at, id"
        cursor = self.conn.execute(sql, params)
        while batch := cursor.fetchmany(200):
            for row in batch:
                yield _record(row)

    def stage_runs(self, doc_id: str) -> list[StageRun]:
        rows = self._read(
            "SELECT stage, worker, task_id, started, duration_ms, attempts, error, batch_id,"
            " batch_size FROM stage_runs WHERE doc_id = ? ORDER BY started",
            (doc_id,),
        )
        return [StageRun(**dict(r)) for r in rows]

    def failed_documents(self) -> list[DocumentRecord]:
        return list(self.iter_documents(Status.failed))

    def rejected_files(self) -> list[RejectedFileRecord]:
        rows = self._read(
            "SELECT source, stage, error, attempts, at FROM rejected_files ORDER BY at"
        )
        return [RejectedFileRecord(**dict(r)) for r in rows]

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]:
        rows = self._read(
            "SELECT id, status FROM documents WHERE status NOT IN (?, ?) AND updated_at < ?"
            " ORDER BY updated_at",
            (Status.indexed, Status.failed, time.time() - older_than_s),
        )
        return [(r["id"], Status(r["status"])) for r in rows]

    def indexed_since(self, since: float) -> int:
        rows = self._read("SELECT count(*) FROM documents WHERE indexed_at >= ?", (since,))
        return int(rows[0][0])


def _entity_condition(entity: str | None, label: str | None) -> tuple[str, list[Any]]:
    conds: list[str] = []
    params: list[Any] = []
    if entity:
        conds.append("(canonical = ? COLLATE NOCASE OR text = ? COLLATE NOCASE)")
        params.extend([entity, entity])
    if label:
        conds.append("label = ?")
        params.append(label.upper())
    return " AND ".join(conds), params


def _record(row: sqlite3.Row) -> DocumentRecord:
    return DocumentRecord(
        id=row["id"],
        content_hash=row["content_hash"],
        source=row["source"],
        format=row["format"],
        status=Status(row["status"]),
        trace_id=row["trace_id"],
        stage=row["stage"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        raw=row["raw"],
        article=Article.model_validate_json(row["article"]) if row["article"] else None,
        mentions=MENTIONS.validate_json(row["mentions"]) if row["mentions"] else [],
        tag_version=row["tag_version"],
    )


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
