"""The read side of the Store protocol, once for both stores; a dialect supplies the SQL bits."""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Collection, Iterator
from typing import Any

from tasks.errors import DocumentNotFound
from tasks.models import DocumentRecord, EntityRow, RejectedFileRecord, StageRun, Status
from tasks.store.base import EntityDocuments
from tasks.store.rows import (
    DOC_COLUMNS,
    ENTITY_COLUMNS,
    REJECTED_COLUMNS,
    STAGE_RUN_COLUMNS,
    Row,
    Span,
    document_record,
    entity_row,
    rejected_file,
    spans_of,
    stage_run,
)
from tasks.store.search import SQLSearch


class SQLReads(SQLSearch):
    """Every read of a store, written against `?` placeholders and a few dialect hooks
    (search: `tasks.store.search`)."""

    def raw_spans(self, doc_id: str) -> list[Span] | None:
        rows = self._read("SELECT raw_spans FROM documents WHERE id = ?", (doc_id,))
        return spans_of(rows[0]["raw_spans"]) if rows else None

    # ---- what each dialect supplies ----------------------------------------------
    @property
    @abstractmethod
    def _store_name(self) -> str:
        """The store as messages name it (a file, or a URL without its password)."""

    @abstractmethod
    def _ids_in(self, column: str, ids: list[str]) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Conditions `column` is one of `ids`, with their parameters; none for no ids."""

    @abstractmethod
    def _document_rows(self, where: str, params: tuple[Any, ...]) -> Iterator[Row]:
        """`DOC_COLUMNS` of the documents matching `where`, by (created_at, id)."""

    # ---- reads ---------------------------------------------------------------------
    def _not_found(self, doc_id: str) -> DocumentNotFound:
        return DocumentNotFound(f"no document {doc_id!r} in the store {self._store_name}")

    def get_document(self, doc_id: str) -> DocumentRecord:
        rows = self._read(f"SELECT {DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,))
        if not rows:
            raise self._not_found(doc_id)
        return document_record(rows[0])

    def find_ids(self, prefix: str) -> list[str]:
        """Ids that start with `prefix`; LIKE wildcards in it are plain text."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._read(
            "SELECT id FROM documents WHERE id LIKE ? ESCAPE '\\' ORDER BY id", (like,)
        )
        return [r["id"] for r in rows]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for row in self._read("SELECT status, count(*) AS n FROM documents GROUP BY status"):
            out[row["status"]] = int(row["n"])
        return out

    def status_counts(self, ids: list[str]) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for cond, params in self._ids_in("id", ids):
            for row in self._read(
                f"SELECT status, count(*) AS n FROM documents WHERE {cond} GROUP BY status", params
            ):
                out[row["status"]] += int(row["n"])
        return out

    def entities(self, *, label: str | None = None, limit: int = 50) -> list[EntityRow]:
        sql = f"SELECT {ENTITY_COLUMNS} FROM entities"
        params: tuple[Any, ...] = ()
        if label:
            sql += " WHERE label = ?"
            params = (label.upper(),)
        sql += f" ORDER BY documents DESC, mentions DESC, name {self.BYTEWISE} LIMIT ?"
        return [entity_row(r) for r in self._read(sql, (*params, max(1, limit)))]

    def entity_documents(
        self, entity_ids: Collection[str], doc_ids: Collection[str] = ()
    ) -> EntityDocuments:
        """Documents per entity id (primary-key lookups in `entities`), and the ones among
        those entities each of `doc_ids` counts in (its rows of `mentions`)."""
        documents: dict[str, int] = {}
        for cond, params in self._ids_in("id", sorted(set(entity_ids))):
            for row in self._read(f"SELECT id, documents FROM entities WHERE {cond}", params):
                documents[row["id"]] = int(row["documents"])
        own: dict[str, set[str]] = {}
        if documents and doc_ids:
            for cond, params in self._ids_in("doc_id", sorted(set(doc_ids))):
                sql = f"SELECT DISTINCT doc_id, entity_id FROM mentions WHERE {cond}"
                for row in self._read(sql, params):
                    if row["entity_id"] in documents:
                        own.setdefault(row["doc_id"], set()).add(row["entity_id"])
        return EntityDocuments(documents, {doc: frozenset(ids) for doc, ids in own.items()})

    def iter_documents(self, status: Status | None = None) -> Iterator[DocumentRecord]:
        """Documents in creation order, read a page at a time."""
        if status is None:
            rows = self._document_rows("TRUE", ())
        else:
            rows = self._document_rows("status = ?", (Status(status).value,))
        for row in rows:
            yield document_record(row)

    def stage_runs(self, doc_id: str) -> list[StageRun]:
        rows = self._read(
            f"SELECT {STAGE_RUN_COLUMNS} FROM stage_runs WHERE doc_id = ? ORDER BY started",
            (doc_id,),
        )
        return [stage_run(r) for r in rows]

    def failed_documents(self) -> list[DocumentRecord]:
        return list(self.iter_documents(Status.failed))

    def rejected_files(self) -> list[RejectedFileRecord]:
        rows = self._read(f"SELECT {REJECTED_COLUMNS} FROM rejected_files ORDER BY at, id")
        return [rejected_file(r) for r in rows]

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]:
        rows = self._read(
            "SELECT id, status FROM documents WHERE status NOT IN (?, ?) AND updated_at < ?"
            " ORDER BY updated_at",
            (Status.indexed.value, Status.failed.value, time.time() - older_than_s),
        )
        return [(r["id"], Status(r["status"])) for r in rows]

    def indexed_since(self, since: float) -> int:
        rows = self._read("SELECT count(*) AS n FROM documents WHERE indexed_at >= ?", (since,))
        return int(rows[0]["n"])
