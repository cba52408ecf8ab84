"""PostgreSQL store: tsvector + GIN full-text index; safe for many workers on many machines."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from tasks.errors import ConfigError, DocumentNotFound, StaleRun, StoreUnavailable
from tasks.masking import mask_url
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
from tasks.store.batch import BatchScope, WriteBatch
from tasks.store.dialects import PostgresBatch
from tasks.store.migrations import migration_scripts
from tasks.store.postgres_errors import what_to_do

POOL_MIN = 1
POOL_MAX = 4
CONNECT_TIMEOUT_S = 10
POOL_TIMEOUT_S = 15.0
BATCH = 200
TS_CONFIG = "english"
HEADLINE_OPTIONS = (
    f'StartSel="{HIGHLIGHT_OPEN}", StopSel="{HIGHLIGHT_CLOSE}", MaxWords=35, MinWords=15,'
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
_DOC_COLUMNS = sql.SQL(
    "id, content_hash, source, format, status, trace_id, stage, attempts, last_error,"
    " created_at, updated_at, raw, article, mentions, tag_version"
)
MAX_TITLE_WORDS_CHARS = 16_384
MAX_BODY_WORDS_CHARS = 262_144
_WORD = re.compile(r"\w+", re.UNICODE)  # the word split of tasks.store.base.query_terms
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Deltas = dict[str, tuple[str, str, int, int, set[str]]]


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


class PostgresStore:
    """The store at scale. One small connection pool per process, created lazily after fork."""

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
        self._batches = BatchScope()

    def __repr__(self) -> str:
        return f"PostgresStore({self._safe_url!r}, schema={self.schema!r})"

    # ---- connection -------------------------------------------------------------
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

    def batch(self, doc_ids: Iterable[str]) -> AbstractContextManager[WriteBatch]:
        """One transaction for these documents' writes, their rows locked in id order.

        See `tasks.store.batch`.
        """
        return self._batches.open(PostgresBatch(self), doc_ids)

    @contextmanager
    def _write(
        self, durable: bool = True, doc_id: str | None = None
    ) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        """One transaction (see `_transaction`), or one savepoint of the open batch's."""
        if self._batches.active is None:
            with self._transaction(durable) as cur:
                yield cur
        else:
            with self._batches.write(doc_id, durable) as cur:
                yield cur

    @contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        """A cursor inside one transaction: committed on success, rolled back on error.

        `durable=False` is for stage progress (a stage started or done): its commit does not
        wait for the WAL flush. A server crash can then forget the last fraction of a
        second of progress, atomically per transaction; those documents are found in
        their earlier status by the recovery sweep and the stage runs again. Documents
        coming in (`add_document`), failures and rejections are always durable.
        """
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            if not durable:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
            yield cur

    def _advance(
        self,
        cur: psycopg.Cursor[dict[str, Any]],
        doc_id: str,
        stage: Stage,
        run: StageResult,
        assignments: str,
        params: tuple[Any, ...],
    ) -> None:
        """UPDATE the document if `run` owns `stage` and it is in its input status.

        Compare-and-set inside the caller's transaction. The row lock comes first (in
        the order `start_stage` takes its locks), so the UPDATE's own snapshot sees
        any lease committed before it: the document must be in the stage's input status
        and the stage's recorded run must be the caller's (or none recorded). Otherwise
        StaleRun, and the transaction is rolled back: nothing changes.
        """
        cur.execute("SELECT status FROM documents WHERE id = %s FOR UPDATE", (doc_id,))
        locked = cur.fetchone()
        if locked is None:
            raise DocumentNotFound(f"no document {doc_id!r} in the store {self._safe_url}")
        cur.execute(
            f"UPDATE documents SET {assignments} WHERE id = %s AND status = %s AND NOT EXISTS"
            " (SELECT 1 FROM stage_runs WHERE doc_id = %s AND stage = %s"
            " AND task_id IS DISTINCT FROM %s)",
            (*params, doc_id, INPUT_STATUS[stage].value, doc_id, str(stage), _t(run.task_id)),
        )
        if cur.rowcount == 1:
            return
        cur.execute(
            "SELECT task_id FROM stage_runs WHERE doc_id = %s AND stage = %s",
            (doc_id, str(stage)),
        )
        owner = cur.fetchone()
        raise StaleRun(
            doc_id, str(stage), run.task_id, owner["task_id"] if owner else None, locked["status"]
        )

    def _read(
        self, query: sql.Composable | str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]:
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall()

    # ---- schema ---------------------------------------------------------------
    def migrate(self) -> int:
        """Create the schema and apply new migrations, one worker at a time."""
        lock_key = int.from_bytes(
            hashlib.sha256(f"docflow.migrate:{self.schema}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        with self._write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key,))
            cur.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                " applied_at double precision NOT NULL)"
            )
            cur.execute("SELECT coalesce(max(version), 0) AS v FROM schema_version")
            row = cur.fetchone()
            current = int(row["v"]) if row else 0
            for version, script in migration_scripts("postgres"):
                if version <= current:
                    continue
                cur.execute(script.encode("utf-8"))
                cur.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)",
                    (version, time.time()),
                )
                current = version
        return current

    def drop_schema(self) -> None:
        """Drop the store's schema and everything in it (for tests); never `public`."""
        if self.schema == "public":
            raise ConfigError("refusing to drop the public schema")
        with self._conn() as conn:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
            )

    # ---- writes ---------------------------------------------------------------
    def add_document(
        self, raw: RawArticle, content_hash: str, trace_id: str, run: StageResult
    ) -> tuple[str, bool]:
        doc_id = content_hash[:16]
        now = time.time()
        # joins an open batch undeclared (a new document has no row to lock yet)
        with self._write() as cur:
            # A racing insert of the same content waits here for the other to commit,
            # then does nothing; the SELECT below then sees the winner's row.
            cur.execute(
                "INSERT INTO documents (id, content_hash, source, format, part, raw, status,"
                " trace_id, created_at, updated_at, attempts)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1)"
                " ON CONFLICT DO NOTHING RETURNING id",
                (
                    doc_id,
                    content_hash,
                    _t(raw.source),
                    raw.format,
                    raw.part,
                    _t(raw.content),
                    Status.received.value,
                    trace_id,
                    now,
                    now,
                ),
            )
            created = cur.fetchone() is not None
            if created:
                self._upsert_run(cur, doc_id, run)
            else:
                cur.execute("SELECT id FROM documents WHERE content_hash = %s", (content_hash,))
                existing = cur.fetchone()
                if existing:
                    doc_id = existing["id"]
        return doc_id, created

    def start_stage(self, doc_id: str, run: StageResult) -> int:
        with self._write(durable=False, doc_id=doc_id) as cur:
            cur.execute("UPDATE documents SET updated_at = %s WHERE id = %s", (run.started, doc_id))
            cur.execute(
                "INSERT INTO stage_runs AS r (doc_id, stage, worker, task_id, started, attempts,"
                " batch_id, batch_size) VALUES (%s, %s, %s, %s, %s, 1, %s, %s)"
                " ON CONFLICT (doc_id, stage) DO UPDATE SET"
                " worker = excluded.worker, task_id = excluded.task_id,"
                " started = excluded.started, duration_ms = NULL, error = NULL,"
                " batch_id = excluded.batch_id, batch_size = excluded.batch_size,"
                " attempts = r.attempts + 1 RETURNING attempts",
                (
                    doc_id,
                    str(run.stage),
                    _t(run.worker),
                    _t(run.task_id),
                    run.started,
                    _t(run.batch_id),
                    run.batch_size,
                ),
            )
            row = cur.fetchone()
        return int(row["attempts"]) if row else 0

    def save_parsed(self, doc_id: str, article: Article, run: StageResult) -> None:
        with self._write(durable=False, doc_id=doc_id) as cur:
            self._advance(
                cur,
                doc_id,
                Stage.parse,
                run,
                "article = %s, title = %s, published = %s, status = %s,"
                " stage = NULL, last_error = NULL, updated_at = %s",
                (
                    article.model_dump_json(),
                    _t(article.title),
                    _t(article.published),
                    Status.parsed.value,
                    time.time(),
                ),
            )
            self._upsert_run(cur, doc_id, run)

    def save_tags(
        self, doc_id: str, mentions: list[Mention], tag_version: str, run: StageResult
    ) -> None:
        payload = json.dumps([m.model_dump() for m in mentions], ensure_ascii=False)
        with self._write(durable=False, doc_id=doc_id) as cur:
            self._advance(
                cur,
                doc_id,
                Stage.tag,
                run,
                "mentions = %s, tag_version = %s, status = %s, stage = NULL,"
                " last_error = NULL, updated_at = %s",
                (_t(payload), tag_version, Status.tagged.value, time.time()),
            )
            self._upsert_run(cur, doc_id, run)

    def index_document(self, doc_id: str, run: StageResult) -> None:
        now = time.time()
        with self._write(durable=False, doc_id=doc_id) as cur:
            # The row lock serialises indexing of one document; other documents go on.
            # The status moves first: a run that does not own the stage stops here.
            self._advance(
                cur,
                doc_id,
                Stage.index,
                run,
                "status = %s, stage = NULL, last_error = NULL, updated_at = %s,"
                " indexed_at = coalesce(indexed_at, %s)",
                (Status.indexed.value, now, now),
            )
            cur.execute(
                sql.SQL("SELECT {} FROM documents WHERE id = %s").format(_DOC_COLUMNS), (doc_id,)
            )
            row = cur.fetchone()
            if row is None:
                raise DocumentNotFound(f"no document {doc_id!r} in the store {self._safe_url}")
            doc = _record(row)
            article = doc.article or Article()
            new_rows = mention_rows(doc.mentions)
            cur.execute(
                "SELECT entity_id, canonical, label, text FROM mentions WHERE doc_id = %s",
                (doc_id,),
            )
            old_rows = [
                (r["entity_id"], r["canonical"], r["label"], r["text"]) for r in cur.fetchall()
            ]
            cur.execute("DELETE FROM mentions WHERE doc_id = %s", (doc_id,))
            if doc.mentions:
                # one statement for all of them: arrays, one per column
                columns = list(
                    zip(
                        *(
                            (m.start, m.end, _t(m.text), m.label, _t(row[1]), _t(row[0]))
                            for m, row in zip(doc.mentions, new_rows, strict=True)
                        ),
                        strict=True,
                    )
                )
                cur.execute(
                    'INSERT INTO mentions (doc_id, start, "end", text, label, canonical,'
                    " entity_id) SELECT %s, * FROM unnest(%s::integer[], %s::integer[],"
                    " %s::text[], %s::text[], %s::text[], %s::text[])",
                    (doc_id, *(list(c) for c in columns)),
                )
            self._batches.entity_deltas(
                cur, entity_deltas(old_rows, new_rows), self._apply_entity_deltas
            )
            cur.execute(
                "INSERT INTO documents_fts (doc_id, title, body, tsv) VALUES (%s, %s, %s,"
                " setweight(to_tsvector(%s::regconfig, %s), 'A')"
                " || setweight(to_tsvector(%s::regconfig, %s), 'B'))"
                " ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title,"
                " body = excluded.body, tsv = excluded.tsv",
                (
                    doc_id,
                    _t(article.title),
                    _t(article.body),
                    TS_CONFIG,
                    _words(article.title, MAX_TITLE_WORDS_CHARS),
                    TS_CONFIG,
                    _words(article.body, MAX_BODY_WORDS_CHARS),
                ),
            )
            self._upsert_run(cur, doc_id, run)

    @staticmethod
    def _apply_entity_deltas(cur: psycopg.Cursor[Any], deltas: Deltas) -> None:
        """Atomic count deltas, in id order so concurrent indexers never deadlock."""
        upserts = []
        updates = []
        for eid in sorted(deltas):
            name, label, d_mentions, d_docs, forms = deltas[eid]
            if d_mentions == 0 and d_docs == 0 and not forms:
                continue
            if name:
                aliases = json.dumps(sorted({_t(f) for f in forms if f != name}))
                upserts.append((_t(eid), _t(name), label, aliases, d_docs, d_mentions))
            else:  # only in the old mentions: the row exists, its name stays
                updates.append((d_docs, d_mentions, _t(eid)))
        if upserts:
            # one statement, rows in id order (arrays keep it); aliases travel as JSON
            # because a text[][] cannot hold rows of different lengths
            columns = list(zip(*upserts, strict=True))
            cur.execute(
                "INSERT INTO entities AS e (id, name, label, aliases, documents, mentions)"
                " SELECT u.id, u.name, u.label,"
                " ARRAY(SELECT jsonb_array_elements_text(u.aliases::jsonb)),"
                " u.documents, u.mentions"
                " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::integer[],"
                " %s::integer[]) WITH ORDINALITY"
                " AS u (id, name, label, aliases, documents, mentions, n) ORDER BY u.n"
                " ON CONFLICT (id) DO UPDATE SET documents = e.documents + excluded.documents,"
                " mentions = e.mentions + excluded.mentions,"
                ' aliases = ARRAY(SELECT a FROM (SELECT DISTINCT a COLLATE "C" AS a'
                " FROM unnest(e.aliases || excluded.aliases) AS u (a)) AS s ORDER BY a)",
                [list(c) for c in columns],
            )
        if updates:
            cur.executemany(
                "UPDATE entities SET documents = documents + %s, mentions = mentions + %s"
                " WHERE id = %s",
                updates,
            )
        if deltas:
            cur.execute(
                "DELETE FROM entities WHERE id = ANY(%s) AND mentions <= 0",
                (sorted(_t(e) for e in deltas),),
            )

    def mark_failed(self, doc_id: str, run: StageResult) -> None:
        with self._write(doc_id=doc_id) as cur:
            self._advance(
                cur,
                doc_id,
                run.stage,
                run,
                "status = %s, stage = %s, last_error = %s, attempts = attempts + 1,"
                " updated_at = %s",
                (Status.failed.value, str(run.stage), _t(run.error), time.time()),
            )
            self._upsert_run(cur, doc_id, run)

    def record_attempt(self, doc_id: str, run: StageResult) -> None:
        with self._write(durable=False, doc_id=doc_id) as cur:
            self._advance(
                cur,
                doc_id,
                run.stage,
                run,
                "attempts = attempts + 1, last_error = %s, updated_at = %s",
                (_t(run.error), time.time()),
            )
            self._upsert_run(cur, doc_id, run)

    def reset_to(self, doc_id: str, status: Status) -> None:
        with self._write(doc_id=doc_id) as cur:
            cur.execute(
                "UPDATE documents SET status = %s, stage = NULL, updated_at = %s WHERE id = %s",
                (Status(status).value, time.time(), doc_id),
            )

    def record_rejected(self, source: str, error: str, stage: str = "ingest") -> None:
        with self._write() as cur:
            cur.execute(
                "INSERT INTO rejected_files (source, stage, error, at) VALUES (%s, %s, %s, %s)",
                (_t(source), str(stage), _t(error), time.time()),
            )

    @staticmethod
    def _upsert_run(cur: psycopg.Cursor[Any], doc_id: str, run: StageResult) -> None:
        # Like SQLite: a run for a document that does not exist is an error (foreign key).
        cur.execute(
            "INSERT INTO stage_runs AS r (doc_id, stage, worker, task_id, started, duration_ms,"
            " attempts, error, batch_id, batch_size)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (doc_id, stage) DO UPDATE SET worker = excluded.worker,"
            " task_id = excluded.task_id, started = excluded.started,"
            " duration_ms = excluded.duration_ms,"
            " attempts = greatest(r.attempts, excluded.attempts),"
            " error = excluded.error, batch_id = excluded.batch_id,"
            " batch_size = excluded.batch_size",
            (
                doc_id,
                str(run.stage),
                _t(run.worker),
                _t(run.task_id),
                run.started,
                run.duration_ms,
                run.attempts,
                _t(run.error),
                _t(run.batch_id),
                run.batch_size,
            ),
        )

    # ---- reads ----------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord:
        rows = self._read(
            sql.SQL("SELECT {} FROM documents WHERE id = %s").format(_DOC_COLUMNS), (doc_id,)
        )
        if not rows:
            raise DocumentNotFound(f"no document {doc_id!r} in the store {self._safe_url}")
        return _record(rows[0])

    def find_ids(self, prefix: str) -> list[str]:
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._read(
            "SELECT id FROM documents WHERE id LIKE %s ESCAPE '\\' ORDER BY id", (_t(like),)
        )
        return [r["id"] for r in rows]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for row in self._read("SELECT status, count(*) AS n FROM documents GROUP BY status"):
            out[row["status"]] = int(row["n"])
        return out

    def status_counts(self, ids: list[str]) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        if not ids:
            return out
        for row in self._read(
            "SELECT status, count(*) AS n FROM documents WHERE id = ANY(%s) GROUP BY status",
            (list(ids),),
        ):
            out[row["status"]] += int(row["n"])
        return out

    def search(
        self, query: str, *, entity: str | None = None, label: str | None = None, limit: int = 10
    ) -> list[SearchHit]:
        phrases = query_terms(query)
        if not phrases and not entity and not label:
            return []
        params: dict[str, Any] = {"limit": max(1, min(limit, 1000)), "cfg": TS_CONFIG}
        where: list[sql.Composable] = []
        if phrases:
            # Each phrase is plain words; phraseto_tsquery quotes them itself: no tsquery syntax.
            parts = []
            for i, phrase in enumerate(phrases):
                params[f"p{i}"] = phrase
                parts.append(
                    sql.SQL("phraseto_tsquery(%(cfg)s::regconfig, {})").format(
                        sql.Placeholder(f"p{i}")
                    )
                )
            tsquery: sql.Composable = sql.SQL(" && ").join(parts)
            where.append(sql.SQL("f.tsv @@ q.q"))
            rank: sql.Composable = sql.SQL("ts_rank_cd(f.tsv, q.q)")
            params["headline"] = HEADLINE_OPTIONS
            snippet: sql.Composable = sql.SQL(
                "ts_headline(%(cfg)s::regconfig, h.body, q.q, %(headline)s)"
            )
        else:
            tsquery = sql.SQL("NULL::tsquery")
            rank = sql.SQL("0.0::real")
            snippet = sql.SQL("substr(h.body, 1, 160)")
        if entity or label:
            conds: list[sql.Composable] = []
            if entity:
                params["entity"] = _t(entity)
                same = "lower(%(entity)s)"
                conds.append(sql.SQL(f"(lower(m.canonical) = {same} OR lower(m.text) = {same})"))
            if label:
                params["label"] = label.upper()
                conds.append(sql.SQL("m.label = %(label)s"))
            where.append(
                sql.SQL(
                    "EXISTS (SELECT 1 FROM mentions AS m WHERE m.doc_id = f.doc_id AND {})"
                ).format(sql.SQL(" AND ").join(conds))
            )
        query_sql = sql.SQL(
            "WITH q AS (SELECT {tsquery} AS q),"
            " h AS (SELECT f.doc_id, f.title, f.body, {rank} AS rank"
            " FROM documents_fts AS f CROSS JOIN q WHERE {where}"
            " ORDER BY rank DESC, f.doc_id LIMIT %(limit)s)"
            " SELECT h.doc_id AS id, h.title, h.rank, {snippet} AS snippet,"
            " d.source, d.published"
            " FROM h JOIN documents AS d ON d.id = h.doc_id CROSS JOIN q"
            " ORDER BY h.rank DESC, h.doc_id"
        ).format(tsquery=tsquery, rank=rank, where=sql.SQL(" AND ").join(where), snippet=snippet)
        rows = self._read(query_sql, params)
        return [
            SearchHit(
                id=r["id"],
                title=r["title"] or "",
                score=round(float(r["rank"]), 4),
                snippet=r["snippet"] or "",
                source=r["source"],
                published=r["published"],
            )
            for r in rows
        ]

    def entities(self, *, label: str | None = None, limit: int = 50) -> list[EntityRow]:
        query = "SELECT id, name, label, aliases, documents, mentions FROM entities"
        params: tuple[Any, ...] = ()
        if label:
            query += " WHERE label = %s"
            params = (label.upper(),)
        query += ' ORDER BY documents DESC, mentions DESC, name COLLATE "C" LIMIT %s'
        rows = self._read(query, (*params, max(1, limit)))
        return [
            EntityRow(
                id=r["id"],
                name=r["name"],
                label=r["label"],
                aliases=list(r["aliases"]),
                documents=r["documents"],
                mentions=r["mentions"],
            )
            for r in rows
        ]

    def iter_documents(self, status: Status | None = None) -> Iterator[DocumentRecord]:
        """Documents in creation order, fetched in batches by key (no connection held)."""
        cond = sql.SQL("TRUE") if status is None else sql.SQL("status = %(status)s")
        params: dict[str, Any] = {
            "status": None if status is None else Status(status).value,
            "batch": BATCH,
        }
        after = sql.SQL("")
        while True:
            rows = self._read(
                sql.SQL(
                    "SELECT {} FROM documents WHERE {}{} ORDER BY created_at, id LIMIT %(batch)s"
                ).format(_DOC_COLUMNS, cond, after),
                params,
            )
            for row in rows:
                yield _record(row)
            if len(rows) < BATCH:
                return
            params["after_at"], params["after_id"] = rows[-1]["created_at"], rows[-1]["id"]
            after = sql.SQL(" AND (created_at, id) > (%(after_at)s, %(after_id)s)")

    def stage_runs(self, doc_id: str) -> list[StageRun]:
        rows = self._read(
            "SELECT stage, worker, task_id, started, duration_ms, attempts, error, batch_id,"
            " batch_size FROM stage_runs WHERE doc_id = %s ORDER BY started",
            (doc_id,),
        )
        return [StageRun(**r) for r in rows]

    def failed_documents(self) -> list[DocumentRecord]:
        return list(self.iter_documents(Status.failed))

    def rejected_files(self) -> list[RejectedFileRecord]:
        rows = self._read(
            "SELECT source, stage, error, attempts, at FROM rejected_files ORDER BY at, id"
        )
        return [RejectedFileRecord(**r) for r in rows]

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]:
        rows = self._read(
            "SELECT id, status FROM documents WHERE status <> ALL(%s) AND updated_at < %s"
            " ORDER BY updated_at",
            ([Status.indexed.value, Status.failed.value], time.time() - older_than_s),
        )
        return [(r["id"], Status(r["status"])) for r in rows]

    def indexed_since(self, since: float) -> int:
        rows = self._read("SELECT count(*) AS n FROM documents WHERE indexed_at >= %s", (since,))
        return int(rows[0]["n"])


def _words(text: str, limit: int) -> str:
    """The words of a text as query_terms() splits queries, space-joined, cut to a length.

    PostgreSQL's own parser reads "F-35" as "F" and "-35"; splitting both sides alike keeps
    indexed text and phrases in step. The cut keeps a tsvector under its 1 MB limit.
    """
    return " ".join(_WORD.findall(text[: limit * 2]))[:limit]


def _t(value: str | None) -> Any:
    """Text PostgreSQL can hold: NUL becomes U+FFFD (same length, so offsets still hold)."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd")


def _record(row: dict[str, Any]) -> DocumentRecord:
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
        mentions=[Mention(**m) for m in json.loads(row["mentions"])] if row["mentions"] else [],
        tag_version=row["tag_version"],
    )
