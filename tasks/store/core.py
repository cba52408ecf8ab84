"""The one store core: every write of the Store protocol, once, for SQLite and PostgreSQL.

`SQLStore` is written against `?` placeholders and a small dialect interface (the
abstract methods below and in `tasks.store.reads.SQLReads`); `SQLiteStore` and
`PostgresStore` supply only what differs between the two databases: connections,
transactions and their errors, row locks, the full-text index, bulk inserts of
mentions and entity counts, search SQL and migrations.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Generic, TypeVar

from tasks.errors import StaleRun
from tasks.models import Article, Mention, RawArticle, Stage, Status, document_id
from tasks.search.fields import search_fields
from tasks.store.base import (
    INPUT_STATUS,
    MentionRow,
    StageResult,
    Written,
    entity_deltas,
    mention_rows,
)
from tasks.store.batch import BatchDialect, BatchScope, Deltas, WriteBatch
from tasks.store.reads import SQLReads
from tasks.store.refill import fill_search_fields
from tasks.store.rows import (
    SEARCH_FIELDS_SET,
    Result,
    Span,
    article_of,
    mentions_json,
    mentions_of,
    spans_json,
)
from tasks.store.statements import DONE, INSERT_DOCUMENT, OWNER, START_RUN, UPSERT_RUN

#: a write transaction's handle: a sqlite3.Connection or a psycopg cursor
Tx = TypeVar("Tx")
#: a document's rows of `mentions`, as `mention_rows` makes them
MentionRows = list[MentionRow]


class SQLStore(SQLReads, Generic[Tx]):
    """A Store over SQL: every behaviour once; the subclasses are the two dialects.

    Writes on a document's stage are compare-and-set on the run that owns the stage
    (`_advance`), inside `_write`: its own transaction, or a savepoint of the open batch.
    """

    url: str
    #: "these two values differ", NULL being a value like any other
    DISTINCT: ClassVar[str]
    #: the schema version that added the search columns (filled by `_fill_search_fields`)
    SEARCH_FIELDS_VERSION: ClassVar[int]

    def __init__(self) -> None:
        self._batches = BatchScope()

    # ---- what each dialect supplies ----------------------------------------------
    @abstractmethod
    def migrate(self) -> int:
        """Bring the schema up to date; returns the schema version."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _transaction(self, durable: bool = True) -> AbstractContextManager[Tx]:
        """One write transaction (durable=False: its commit may skip the log flush)."""

    @abstractmethod
    def _run(self, tx: Tx, sql: str, params: tuple[Any, ...] = ()) -> Result:
        """Execute one `?`-placeholder statement inside `tx`."""

    @abstractmethod
    def _batch_dialect(self) -> BatchDialect: ...

    @abstractmethod
    def _lock_document(self, tx: Tx, doc_id: str) -> None:
        """Hold the document's row until the commit (if the database locks rows)."""

    @abstractmethod
    def _write_mentions(self, tx: Tx, doc_id: str, rows: MentionRows) -> None:
        """Insert a document's rows of mentions (its old ones are deleted already)."""

    @abstractmethod
    def _write_text(self, tx: Tx, doc_id: str, article: Article) -> None:
        """Put the document's title and body in the full-text index, replacing its row."""

    @abstractmethod
    def _apply_entity_deltas(self, tx: Tx, deltas: Deltas) -> None:
        """Entity count and alias changes, in entity id order."""

    # ---- migrations ------------------------------------------------------------------
    def _after_script(self, tx: Tx, version: int) -> None:
        """The Python part of a migration, in its transaction, after its SQL script."""
        if version == self.SEARCH_FIELDS_VERSION:
            fill_search_fields(self, tx)

    # ---- transactions --------------------------------------------------------------
    def batch(self, doc_ids: Iterable[str]) -> AbstractContextManager[WriteBatch]:
        """One transaction for these documents' writes (see `tasks.store.batch`)."""
        return self._batches.open(self._batch_dialect(), doc_ids)

    @contextmanager
    def _write(self, doc_id: str | None = None, durable: bool = True) -> Iterator[Tx]:
        """One write transaction, or one savepoint of the open batch's transaction."""
        if self._batches.active is None:
            with self._transaction(durable) as tx:
                yield tx
        else:
            with self._batches.write(doc_id, durable) as tx:
                yield tx

    def _advance(
        self,
        tx: Tx,
        doc_id: str,
        stage: Stage,
        run: StageResult,
        assignments: str,
        params: tuple[Any, ...],
    ) -> None:
        """UPDATE the document if `run` owns `stage` and it is in its input status.

        Compare-and-set inside the caller's transaction. The row lock (where the database
        has one) comes first, in the order `start_stage` takes its locks, so the UPDATE
        sees any lease committed before it: the document must be in the stage's input
        status and the stage's recorded run must be the caller's (or none recorded).
        Otherwise StaleRun, and the transaction is rolled back: nothing changes.
        """
        self._lock_document(tx, doc_id)
        cur = self._run(
            tx,
            f"UPDATE documents SET {assignments} WHERE id = ? AND status = ? AND NOT EXISTS"
            " (SELECT 1 FROM stage_runs WHERE doc_id = ? AND stage = ?"
            f" AND task_id {self.DISTINCT} ?)",
            (*params, doc_id, INPUT_STATUS[stage].value, doc_id, str(stage), run.task_id),
        )
        if cur.rowcount == 1:
            return
        row = self._run(tx, OWNER, (str(stage), doc_id)).fetchone()
        if row is None:
            raise self._not_found(doc_id)
        raise StaleRun(doc_id, str(stage), run.task_id, row["task_id"], row["status"])

    def _settle(
        self,
        doc_id: str,
        stage: Stage,
        run: StageResult,
        assignments: str,
        params: tuple[Any, ...],
        *,
        durable: bool,
        then: Callable[[Tx], None] | None = None,
    ) -> None:
        """A stage's outcome: the document advances, `then` writes more, the run is kept."""
        with self._write(doc_id, durable) as tx:
            self._advance(tx, doc_id, stage, run, assignments, params)
            if then is not None:
                then(tx)
            self._upsert_run(tx, doc_id, run)

    def _upsert_run(self, tx: Tx, doc_id: str, run: StageResult) -> None:
        self._run(
            tx,
            UPSERT_RUN,
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

    # ---- writes --------------------------------------------------------------------
    def add_document(
        self, raw: RawArticle, content_hash: str, trace_id: str, run: StageResult
    ) -> tuple[str, bool]:
        doc_id = document_id(content_hash)
        now = time.time()
        row = (doc_id, content_hash, raw.source, raw.format, raw.part, raw.content)
        # joins an open batch undeclared (a new document has no row to lock yet)
        with self._write() as tx:
            # A racing insert of the same content waits for the other to commit, then
            # does nothing; the SELECT below then sees the winner's row.
            inserted = self._run(
                tx, INSERT_DOCUMENT, (*row, Status.received.value, trace_id, now, now)
            ).fetchone()
            created = inserted is not None
            if created:
                self._upsert_run(tx, doc_id, run)
            else:
                existing = self._run(
                    tx, "SELECT id FROM documents WHERE content_hash = ?", (content_hash,)
                ).fetchone()
                if existing is not None:
                    doc_id = existing["id"]
        return doc_id, created

    def start_stage(self, doc_id: str, run: StageResult) -> int:
        with self._write(doc_id, durable=False) as tx:
            self._run(tx, "UPDATE documents SET updated_at = ? WHERE id = ?", (run.started, doc_id))
            row = self._run(
                tx,
                START_RUN,
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
        return int(row["attempts"])

    def save_parsed(self, doc_id: str, article: Article, run: StageResult) -> None:
        self._settle(
            doc_id,
            Stage.parse,
            run,
            f"article = ?, title = ?, published = ?, {SEARCH_FIELDS_SET}, status = ?, {DONE}",
            (
                article.model_dump_json(),
                article.title,
                article.published,
                *search_fields(article),
                Status.parsed.value,
                time.time(),
            ),
            durable=False,
        )

    def save_tags(
        self,
        doc_id: str,
        mentions: list[Mention],
        tag_version: str,
        run: StageResult,
        raw_spans: list[Span] | None = None,
    ) -> None:
        self._settle(
            doc_id,
            Stage.tag,
            run,
            f"mentions = ?, tag_version = ?, raw_spans = ?, status = ?, {DONE}",
            (
                mentions_json(mentions),
                tag_version,
                spans_json(raw_spans),
                Status.tagged.value,
                time.time(),
            ),
            durable=False,
        )

    def relink(self, doc_id: str, mentions: list[Mention], tag_version: str) -> bool:
        with self._write(doc_id) as tx:
            self._lock_document(tx, doc_id)
            done = self._run(
                tx,
                "UPDATE documents SET mentions = ?, tag_version = ?, updated_at = ?"
                " WHERE id = ? AND status = ? AND stage IS NULL",
                (mentions_json(mentions), tag_version, time.time(), doc_id, Status.indexed.value),
            )
            if done.rowcount != 1:
                return False
            self._index(tx, doc_id)
        return True

    def index_document(self, doc_id: str, run: StageResult, written: Written | None = None) -> None:
        now = time.time()
        # the status moves first: a run that does not own the stage stops there
        self._settle(
            doc_id,
            Stage.index,
            run,
            f"status = ?, {DONE}, indexed_at = coalesce(indexed_at, ?)",
            (Status.indexed.value, now, now),
            durable=False,
            then=lambda tx: self._index(tx, doc_id, written),
        )

    def _index(self, tx: Tx, doc_id: str, written: Written | None = None) -> None:
        """Mentions, entity counts and the full-text row of a document now `indexed`."""
        if written is None:
            row = self._run(
                tx, "SELECT article, mentions FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
            written = Written(article_of(row["article"]) or Article(), mentions_of(row["mentions"]))
        article, mentions = written
        new_rows = mention_rows(mentions)
        old_rows = [
            MentionRow(*(r[c] for c in MentionRow._fields))
            for r in self._run(
                tx,
                'SELECT entity_id, canonical, label, text, start, "end", occurrences'
                " FROM mentions WHERE doc_id = ?",
                (doc_id,),
            ).fetchall()
        ]
        self._run(tx, "DELETE FROM mentions WHERE doc_id = ?", (doc_id,))
        if new_rows:
            self._write_mentions(tx, doc_id, new_rows)
        self._batches.entity_deltas(
            tx, entity_deltas(old_rows, new_rows), self._apply_entity_deltas
        )
        self._write_text(tx, doc_id, article)
        self._write_doc_entities(tx, doc_id)

    def _write_doc_entities(self, tx: Tx, doc_id: str) -> None:
        """Each entity and each label of the document once (what the facets count),
        keyed by the document's `DOC_KEY`."""
        pair, key = self.PAIR_DOC, self.DOC_KEY
        this = f"(SELECT {key} FROM documents WHERE id = ?)"
        for table in ("doc_entities", "doc_labels"):
            self._run(tx, f"DELETE FROM {table} WHERE {pair} = {this}", (doc_id,))
        self._run(
            tx,
            f"INSERT INTO doc_entities ({pair}, entity_id, label) SELECT d.{key}, m.entity_id,"
            " min(m.label) FROM mentions AS m JOIN documents AS d ON d.id = m.doc_id"
            f" WHERE m.doc_id = ? GROUP BY d.{key}, m.entity_id",
            (doc_id,),
        )
        self._run(
            tx,
            f"INSERT INTO doc_labels ({pair}, label) SELECT DISTINCT {pair}, label"
            f" FROM doc_entities WHERE {pair} = {this}",
            (doc_id,),
        )

    def mark_failed(self, doc_id: str, run: StageResult) -> None:
        self._settle(
            doc_id,
            run.stage,
            run,
            "status = ?, stage = ?, last_error = ?, attempts = attempts + 1, updated_at = ?",
            (Status.failed.value, str(run.stage), run.error, time.time()),
            durable=True,
        )

    def record_attempt(self, doc_id: str, run: StageResult) -> None:
        self._settle(
            doc_id,
            run.stage,
            run,
            "attempts = attempts + 1, last_error = ?, updated_at = ?",
            (run.error, time.time()),
            durable=False,
        )

    def reset_to(self, doc_id: str, status: Status) -> None:
        with self._write(doc_id) as tx:
            self._run(
                tx,
                "UPDATE documents SET status = ?, stage = NULL, updated_at = ? WHERE id = ?",
                (Status(status).value, time.time(), doc_id),
            )

    def record_rejected(self, source: str, error: str, stage: str = "ingest") -> None:
        with self._write() as tx:
            self._run(
                tx,
                "INSERT INTO rejected_files (source, stage, error, at) VALUES (?, ?, ?, ?)",
                (source, str(stage), error, time.time()),
            )
