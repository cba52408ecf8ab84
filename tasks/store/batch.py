"""One store transaction for a batch of per-document writes, shared by SQLite and PostgreSQL.

    with store.batch(doc_ids) as batch:
        for doc_id, mentions, run in results:
            try:
                store.save_tags(doc_id, mentions, version, run)
            except StaleRun:
                ...  # refused alone: its batch-mates still commit
    # here every write that was not refused is committed, in one transaction

Inside the block the store's write methods (`start_stage`, `save_parsed`, `save_tags`,
`index_document`, `mark_failed`, `record_attempt`, and the others) join the batch's one
transaction, each call inside its own SAVEPOINT, with the same compare-and-set as
outside a batch:

- a per-document error (`StaleRun`, or a `PermanentError` such as `DocumentNotFound`)
  rolls back that call's writes only, is recorded in `batch.refused[doc_id]` and is
  raised to the caller exactly as the call would raise it alone;
- any other exception (`StoreUnavailable`, a database error, a bug) aborts the whole
  batch: nothing of it is written, and the exception propagates out of the block, even
  if the caller caught it inside;
- leaving the block normally commits once (`batch.commits` counts it).

Outside a block every method is its own transaction, as before.

Locks. The batch declares its documents up front; on PostgreSQL their rows are locked at
the start, in id order, so two batches that share documents wait for each other instead
of deadlocking. A write to a document the batch did not declare is a programming error
(ValueError, the batch aborts); `add_document` and `record_rejected` join any batch
undeclared, as they write new rows only (`store.batch(())` around them is how
`tasks.ingest.record_files` records a group of files in one transaction). Entity
counts are the other shared rows: a batch adds up its documents' entity changes and
applies them once, in entity id order, just before the commit (a single write applies
its own at once, also in id order).

Reads inside a block: on SQLite they see the batch's uncommitted writes (one connection),
on PostgreSQL they do not (another pooled connection); entity counts change only at
commit. A batch belongs to the thread that opened it; batches do not nest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from tasks.errors import DocflowError, PermanentError, StaleRun

#: errors about one document: its write is rolled back alone and the batch goes on
PER_DOCUMENT_ERRORS: tuple[type[DocflowError], ...] = (StaleRun, PermanentError)

#: per entity id: (name, label, mention delta, document delta, surface forms); see base.py
Deltas = dict[str, tuple[str, str, int, int, set[str]]]


class BatchDialect(Protocol):
    """What a store lends a batch: its own transaction verbs, on one connection."""

    def batch_transaction(self) -> AbstractContextManager[Any]:
        """Begin; yield the cursor; commit on a clean exit, roll back on an exception."""

    def batch_savepoint(self, tx: Any, name: str) -> AbstractContextManager[Any]:
        """A savepoint in `tx`: released on a clean exit, rolled back to on an exception."""

    def lock_documents(self, tx: Any, doc_ids: list[str]) -> None:
        """Lock these documents' rows, in this (sorted) order, until the commit."""

    def apply_entity_deltas(self, tx: Any, deltas: Deltas) -> None:
        """Apply entity count and alias changes (in entity id order)."""

    def before_commit(self, tx: Any, durable: bool) -> None:
        """Last statements of the transaction (e.g. relax durability for progress only)."""


def merge_deltas(into: Deltas, more: Deltas) -> None:
    """Add one document's entity changes to a batch's: counts add up, forms join."""
    for eid, (name, label, d_mentions, d_docs, forms) in more.items():
        if eid not in into:
            into[eid] = (name, label, d_mentions, d_docs, set(forms))
            continue
        old_name, old_label, old_mentions, old_docs, old_forms = into[eid]
        into[eid] = (
            old_name or name,
            old_label or label,
            old_mentions + d_mentions,
            old_docs + d_docs,
            old_forms | forms,
        )


@dataclass
class WriteBatch:
    """One open batch: its documents, what was refused, and how many commits it took."""

    doc_ids: frozenset[str]
    tx: Any = None
    #: per document, the per-document error its last refused write raised
    refused: dict[str, DocflowError] = field(default_factory=dict)
    #: the document of each write call that took effect (a released savepoint), in order
    written: list[str | None] = field(default_factory=list)
    savepoints: int = 0
    commits: int = 0
    durable: bool = False
    _failure: BaseException | None = None
    _deltas: Deltas = field(default_factory=dict)
    _pending: Deltas | None = None

    @property
    def failed(self) -> BaseException | None:
        """The exception that aborted the batch, if one did."""
        return self._failure

    def defer_entity_deltas(self, deltas: Deltas) -> None:
        """Keep a write's entity changes; they apply only if its savepoint is released."""
        if self._pending is None:
            raise RuntimeError("entity changes belong inside a batch write")
        merge_deltas(self._pending, deltas)


class BatchScope:
    """The shared logic: a store holds one of these and asks it where a write belongs."""

    def __init__(self) -> None:
        self._batch: WriteBatch | None = None
        self._thread = 0
        self._dialect: BatchDialect | None = None

    @property
    def active(self) -> WriteBatch | None:
        """The open batch of the calling thread, or None (a write is then its own transaction)."""
        if self._batch is not None and self._thread == threading.get_ident():
            return self._batch
        return None

    @contextmanager
    def open(self, dialect: BatchDialect, doc_ids: Iterable[str]) -> Iterator[WriteBatch]:
        """The batch: one transaction, committed once when the block ends without error."""
        if self._batch is not None:
            raise RuntimeError("a batch is already open on this store (batches do not nest)")
        batch = WriteBatch(doc_ids=frozenset(doc_ids))
        with dialect.batch_transaction() as tx:
            batch.tx = tx
            self._batch, self._thread, self._dialect = batch, threading.get_ident(), dialect
            try:
                dialect.lock_documents(tx, sorted(batch.doc_ids))
                yield batch
                if batch._failure is not None:  # the caller caught it: the batch still aborts
                    raise batch._failure
                if batch._deltas:
                    dialect.apply_entity_deltas(tx, batch._deltas)
                dialect.before_commit(tx, batch.durable)
            except BaseException as exc:
                if batch._failure is None:
                    batch._failure = exc
                raise
            finally:
                self._batch, self._dialect = None, None
        batch.commits += 1

    @contextmanager
    def write(self, doc_id: str | None, durable: bool = True) -> Iterator[Any]:
        """One write call inside the open batch: its own savepoint in the batch's transaction."""
        batch, dialect = self._batch, self._dialect
        assert batch is not None and dialect is not None, "write() needs an open batch"
        if batch._failure is not None:
            raise batch._failure
        if batch._pending is not None:
            raise RuntimeError("store writes inside a batch do not nest")
        try:
            if doc_id is not None and doc_id not in batch.doc_ids:
                raise ValueError(f"document {doc_id!r} is not one of this batch's documents")
            batch.savepoints += 1
            batch._pending = {}
            with dialect.batch_savepoint(batch.tx, f"docflow_w{batch.savepoints}") as tx:
                yield tx
        except PER_DOCUMENT_ERRORS as exc:
            if doc_id is not None:
                batch.refused[doc_id] = exc
            raise
        except BaseException as exc:
            batch._failure = exc
            raise
        else:
            merge_deltas(batch._deltas, batch._pending)
            batch.written.append(doc_id)
            batch.durable = batch.durable or durable
        finally:
            batch._pending = None

    def entity_deltas(self, tx: Any, deltas: Deltas, apply_now: Any) -> None:
        """Defer entity changes to the batch's end inside a batch; else apply them now."""
        batch = self.active
        if batch is None:
            apply_now(tx, deltas)
        else:
            batch.defer_entity_deltas(deltas)
