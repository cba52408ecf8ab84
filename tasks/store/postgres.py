"""PostgreSQL store: tsvector + GIN full-text index; safe for many workers on many machines.

The behaviour is `tasks.store.core.SQLStore`'s; this module is the PostgreSQL dialect of it
(its connections are `tasks.store.postgres_pool.PostgresConnection`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import Cursor, sql
from psycopg.rows import dict_row

from tasks.masking import mask_url
from tasks.models import Article
from tasks.search.fields import KEY_SEP, entity_keys, meta_text
from tasks.search.query import Query, plain_words, to_tsquery
from tasks.store.batch import BatchDialect, Deltas
from tasks.store.core import MentionRows, SQLStore
from tasks.store.dialects import PostgresBatch
from tasks.store.migrations import migration_scripts
from tasks.store.postgres_pool import PostgresConnection
from tasks.store.rows import DOC_COLUMNS, Row
from tasks.store.search import FTS_COPIED, Match

#: documents fetched at a time by iter_documents (by key: no connection held between)
PAGE = 200
#: no stemming, no stop words: the words indexed are the folded words a query sees
TS_CONFIG = "simple"
#: ts_rank weights of D, C (dateline, the article's own id), B (body), A (title)
RANK_WEIGHTS = "{0.1, 0.5, 0.1, 1.0}"
MAX_TITLE_WORDS_CHARS = 16_384
MAX_BODY_WORDS_CHARS = 262_144
MAX_META_WORDS_CHARS = 1_024

PgCursor = Cursor[dict[str, Any]]

__all__ = ["PostgresStore", "mask_url"]


class PostgresStore(PostgresConnection, SQLStore[PgCursor]):
    """The store at scale. One small connection pool per process, created lazily after fork."""

    DISTINCT = "IS DISTINCT FROM"
    BYTEWISE = 'COLLATE "C"'
    CONTAINS = "strpos({0}, {1}) > 0"
    FTS_JOIN = "f.doc_id = x.id"
    SEARCH_ROWS = "documents_fts"
    DOC_KEY = "id"
    PAIR_DOC = "doc_id"
    ROW_KEY = "d.doc_id"
    CONCURRENT_READS = True  # a thread-safe pool: the page and the facets run at once
    SEARCH_FIELDS_VERSION = 4

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

    def _read_search(self, sql: str, params: tuple[Any, ...], match: Match) -> Sequence[Row]:
        """A full-text search reads its matches through the GIN index even when most
        documents match: the planner costs a sequential `tsv @@ q` without detoasting
        every tsvector, which made it ~5x slower than the bitmap scan over 10,000
        documents. Listings plan as usual."""
        if not match.fulltext:
            return self._read(sql, params)
        with self._conn() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL jit = off")  # a disabled path's cost would trigger it
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
                self._after_script(cur, version)
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

    def _write_mentions(self, tx: PgCursor, doc_id: str, rows: MentionRows) -> None:
        """One statement for all of them: arrays, one per column."""
        columns = list(
            zip(
                *(
                    (
                        r.start,
                        r.end,
                        _t(r.text),
                        r.label,
                        _t(r.canonical),
                        _t(r.entity_id),
                        r.occurrences,
                    )
                    for r in rows
                ),
                strict=True,
            )
        )
        tx.execute(
            'INSERT INTO mentions (doc_id, start, "end", text, label, canonical,'
            " entity_id, occurrences) SELECT %s, * FROM unnest(%s::integer[],"
            " %s::integer[], %s::text[], %s::text[], %s::text[], %s::text[], %s::integer[])",
            (doc_id, *(list(c) for c in columns)),
        )

    def _write_text(self, tx: PgCursor, doc_id: str, article: Article) -> None:
        """The text as stored (for snippets), a tsvector of its folded words, and what
        search filters on, copied from the document (`save_parsed` wrote it)."""
        weighted = " || ".join(
            f"setweight(to_tsvector('{TS_CONFIG}', %s), '{weight}')" for weight in "ABC"
        )
        copied = ", ".join(f"{c} = excluded.{c}" for c in FTS_COPIED.split(", "))
        tx.execute(
            f"INSERT INTO documents_fts (doc_id, {FTS_COPIED}, title, body, tsv)"
            f" SELECT id, {FTS_COPIED}, %s, %s, {weighted} FROM documents WHERE id = %s"
            f" ON CONFLICT (doc_id) DO UPDATE SET {copied}, title = excluded.title,"
            " body = excluded.body, tsv = excluded.tsv",
            (
                _t(article.title),
                _t(article.body),
                _words(article.title, MAX_TITLE_WORDS_CHARS),
                _words(article.body, MAX_BODY_WORDS_CHARS),
                _words(meta_text(article), MAX_META_WORDS_CHARS),
                doc_id,
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
                aliases = sorted({_t(f) for f in forms if f != name})
                keys = _t(entity_keys(name, aliases))
                upserts.append(
                    (_t(eid), _t(name), label, json.dumps(aliases), keys, d_docs, d_mentions)
                )
            else:  # only in the old mentions: the row exists, its name stays
                updates.append((d_docs, d_mentions, _t(eid)))
        if upserts:
            # one statement, rows in id order (arrays keep it); aliases travel as JSON
            # because a text[][] cannot hold rows of different lengths
            columns = list(zip(*upserts, strict=True))
            tx.execute(
                "INSERT INTO entities AS e (id, name, label, aliases, keys, documents,"
                " mentions) SELECT u.id, u.name, u.label,"
                " ARRAY(SELECT jsonb_array_elements_text(u.aliases::jsonb)),"
                " u.keys, u.documents, u.mentions"
                " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
                " %s::integer[], %s::integer[]) WITH ORDINALITY"
                " AS u (id, name, label, aliases, keys, documents, mentions, n) ORDER BY u.n"
                " ON CONFLICT (id) DO UPDATE SET documents = e.documents + excluded.documents,"
                " mentions = e.mentions + excluded.mentions,"
                ' aliases = ARRAY(SELECT a FROM (SELECT DISTINCT a COLLATE "C" AS a'
                " FROM unnest(e.aliases || excluded.aliases) AS u (a)) AS s ORDER BY a),"
                # the folded names of both, once each (tasks.search.fields.entity_keys)
                " keys = CASE WHEN e.keys = excluded.keys THEN e.keys ELSE"
                " (SELECT %s || string_agg(k, %s ORDER BY k) || %s FROM (SELECT DISTINCT"
                ' k COLLATE "C" AS k FROM unnest(string_to_array(e.keys || excluded.keys, %s))'
                " AS u (k) WHERE k <> '') AS s) END",
                [*(list(c) for c in columns), KEY_SEP, KEY_SEP, KEY_SEP, KEY_SEP],
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

    def _match(self, query: Query) -> Match:
        """tsquery over the folded words; ts_rank (title above all) on the words looked for
        (a query with -excluded words would rank every hit near 0)."""
        wanted = Query(query.clauses)
        return Match(
            f"documents_fts AS d CROSS JOIN to_tsquery('{TS_CONFIG}', ?) AS q"
            f" CROSS JOIN to_tsquery('{TS_CONFIG}', ?) AS r WHERE d.tsv @@ q",
            f"ts_rank('{RANK_WEIGHTS}', d.tsv, r)",
            (to_tsquery(query), to_tsquery(wanted)),
            "d.doc_id",
            self.ROW_KEY,
            fulltext=True,
        )

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
    """The folded words of a text as queries see them (`plain_words`), cut to a length.

    PostgreSQL's own parser reads "F-35" as "F" and "-35"; indexing the words the query
    language splits keeps indexed text and queries in step. The cut keeps a tsvector
    under its 1 MB limit.
    """
    return plain_words(text[: limit * 2])[:limit]


def _t(value: str | None) -> Any:
    """Text PostgreSQL can hold: NUL becomes U+FFFD (same length, so offsets still hold)."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd")
