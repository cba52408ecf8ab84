"""PostgreSQL store: tsvector + GIN full-text index; safe for many workers on many machines.

The behaviour is `tasks.store.core.SQLStore`'s; this module is the PostgreSQL dialect of it
(its connections are `tasks.store.postgres_pool.PostgresConnection`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import Cursor, sql
from psycopg.rows import dict_row

from tasks.masking import mask_url
from tasks.models import Article, Mention
from tasks.store.base import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN
from tasks.store.batch import BatchDialect, Deltas
from tasks.store.core import MentionRows, SQLStore
from tasks.store.dialects import PostgresBatch
from tasks.store.migrations import migration_scripts
from tasks.store.postgres_pool import PostgresConnection
from tasks.store.reads import Filter
from tasks.store.rows import DOC_COLUMNS, Row

#: documents fetched at a time by iter_documents (by key: no connection held between)
PAGE = 200
TS_CONFIG = "english"
HEADLINE_OPTIONS = (
    f'StartSel="{HIGHLIGHT_OPEN}", StopSel="{HIGHLIGHT_CLOSE}", MaxWords=35, MinWords=15,'
    ' MaxFragments=2, FragmentDelimiter=" … "'
)
MAX_TITLE_WORDS_CHARS = 16_384
MAX_BODY_WORDS_CHARS = 262_144
_WORD = re.compile(r"\w+", re.UNICODE)  # the word split of tasks.store.base.query_terms

PgCursor = Cursor[dict[str, Any]]

__all__ = ["PostgresStore", "mask_url"]


class PostgresStore(PostgresConnection, SQLStore[PgCursor]):
    """The store at scale. One small connection pool per process, created lazily after fork."""

    DISTINCT = "IS DISTINCT FROM"
    SAME_TEXT = "lower({}) = lower(?)"
    BYTEWISE = 'COLLATE "C"'

    def __init__(self, url: str, schema: str = "public") -> None:
        PostgresConnection.__init__(self, url, schema)
        SQLStore.__init__(self)

    @property
    def _store_name(self) -> str:
        return self._safe_url

    def _batch_dialect(self) -> BatchDialect:
        return PostgresBatch(self)

    @contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[PgCursor]:
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

    def _run(self, tx: PgCursor, sql: str, params: tuple[Any, ...] = ()) -> PgCursor:
        return tx.execute(_pg(sql), _clean(params))

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> Sequence[Row]:
        with self._conn() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(_pg(sql), _clean(params))
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

    # ---- the dialect's writes -------------------------------------------------------
    def _lock_document(self, tx: PgCursor, doc_id: str) -> None:
        """The row lock serialises the writes on one document; other documents go on."""
        tx.execute("SELECT status FROM documents WHERE id = %s FOR UPDATE", (doc_id,))

    def _write_mentions(
        self, tx: PgCursor, doc_id: str, mentions: list[Mention], rows: MentionRows
    ) -> None:
        """One statement for all of them: arrays, one per column."""
        columns = list(
            zip(
                *(
                    (m.start, m.end, _t(m.text), m.label, _t(row[1]), _t(row[0]))
                    for m, row in zip(mentions, rows, strict=True)
                ),
                strict=True,
            )
        )
        tx.execute(
            'INSERT INTO mentions (doc_id, start, "end", text, label, canonical,'
            " entity_id) SELECT %s, * FROM unnest(%s::integer[], %s::integer[],"
            " %s::text[], %s::text[], %s::text[], %s::text[])",
            (doc_id, *(list(c) for c in columns)),
        )

    def _write_text(self, tx: PgCursor, doc_id: str, article: Article) -> None:
        tx.execute(
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

    def _apply_entity_deltas(self, tx: PgCursor, deltas: Deltas) -> None:
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
            tx.execute(
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
            tx.executemany(
                "UPDATE entities SET documents = documents + %s, mentions = mentions + %s"
                " WHERE id = %s",
                updates,
            )
        if deltas:
            tx.execute(
                "DELETE FROM entities WHERE id = ANY(%s) AND mentions <= 0",
                (sorted(_t(e) for e in deltas),),
            )

    # ---- the dialect's reads --------------------------------------------------------
    def _ids_in(self, column: str, ids: list[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        if ids:
            yield f"{column} = ANY(?)", (list(ids),)

    def _search_sql(
        self, phrases: list[str], mentions: Filter | None, limit: int
    ) -> tuple[str, tuple[Any, ...]]:
        """Phrases are plain words that phraseto_tsquery quotes itself: no tsquery syntax."""
        where: list[str] = []
        params: list[Any] = []
        after: tuple[Any, ...] = ()
        if phrases:
            tsquery = " && ".join(["phraseto_tsquery(?::regconfig, ?)"] * len(phrases))
            params.extend(v for phrase in phrases for v in (TS_CONFIG, phrase))
            where.append("f.tsv @@ q.q")
            score = "ts_rank_cd(f.tsv, q.q)"
            snippet = "ts_headline(?::regconfig, h.body, q.q, ?)"
            after = (TS_CONFIG, HEADLINE_OPTIONS)
        else:
            tsquery, score, snippet = "NULL::tsquery", "0.0::real", "substr(h.body, 1, 160)"
        if mentions is not None:
            cond = f"m.doc_id = f.doc_id AND {mentions[0]}"
            where.append(f"EXISTS (SELECT 1 FROM mentions AS m WHERE {cond})")
            params.extend(mentions[1])
        query = (
            f"WITH q AS (SELECT {tsquery} AS q),"
            f" h AS (SELECT f.doc_id, f.title, f.body, {score} AS score"
            f" FROM documents_fts AS f CROSS JOIN q WHERE {' AND '.join(where)}"
            " ORDER BY score DESC, f.doc_id LIMIT ?)"
            f" SELECT h.doc_id AS id, h.title, h.score, {snippet} AS snippet,"
            " d.source, d.published"
            " FROM h JOIN documents AS d ON d.id = h.doc_id CROSS JOIN q"
            " ORDER BY h.score DESC, h.doc_id"
        )
        return query, (*params, limit, *after)

    def _document_rows(self, where: str, params: tuple[Any, ...]) -> Iterator[Row]:
        """Fetched in pages by key (created_at, id): no connection is held in between."""
        after = ""
        last: tuple[Any, ...] = ()
        while True:
            rows = self._read(
                f"SELECT {DOC_COLUMNS} FROM documents WHERE {where}{after}"
                " ORDER BY created_at, id LIMIT ?",
                (*params, *last, PAGE),
            )
            yield from rows
            if len(rows) < PAGE:
                return
            after = " AND (created_at, id) > (?, ?)"
            last = (rows[-1]["created_at"], rows[-1]["id"])


@functools.lru_cache(maxsize=512)
def _pg(query: str) -> str:
    """A `?`-placeholder statement of the core in psycopg's `%s` style."""
    return query.replace("%", "%%").replace("?", "%s")


def _clean(params: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_t(v) if isinstance(v, str) else v for v in params)


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
