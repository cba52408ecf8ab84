"""One store transaction for a batch of documents, with every per-document guarantee kept.

Run on SQLite always and on PostgreSQL when it is reachable (skipped with the reason if not).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasks.errors import DocumentNotFound, StaleRun, StoreUnavailable
from tasks.models import Article, Mention, RawArticle, Stage, Status
from tasks.store import StageResult, Store, open_store
from tests.unit.test_store import _postgres_url, search

BATCH = 32
T0 = 1_700_000_000.0
QUERIES = ["Washington", "talks", '"strategic talks"', "Ankara", "document"]


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[], Store]]:
    """Makes fresh, empty stores of one kind (each its own file or schema)."""
    made: list[Store] = []

    def make() -> Store:
        if request.param == "sqlite":
            s = open_store(f"sqlite:///{tmp_path / f'docflow{len(made)}.db'}")
        else:
            from tasks.store.postgres import PostgresStore

            s = PostgresStore(_postgres_url(), schema=f"test_batch_{uuid.uuid4().hex[:12]}")
            s.migrate()
        made.append(s)
        return s

    yield make
    for s in made:
        if request.param == "postgres":
            s.drop_schema()  # type: ignore[attr-defined]
        s.close()


def run(stage: Stage, task_id: str = "t1", n: int = 0) -> StageResult:
    """A stage run with fixed times, so two stores can be compared field by field."""
    return StageResult(
        stage=stage, worker="w1@host", task_id=task_id, started=T0 + n, duration_ms=1.5
    )


def article(i: int) -> Article:
    return Article(
        title=f"Fidan goes to Washington, document {i}",
        paragraphs=[f"Hakan Fidan and Marco Rubio hold strategic talks, round {i}, in Ankara."],
    )


def mentions(i: int) -> list[Mention]:
    """Entities shared across the batch (with different surface forms) and one of its own."""
    text = article(i).text

    def m(surface: str, label: str, canonical: str, nth: int = 0) -> Mention:
        start = -1
        for _ in range(nth + 1):
            start = text.index(surface, start + 1)
        eid = f"{label}:{canonical.lower().replace(' ', '-')}"
        return Mention(
            text=surface,
            label=label,
            start=start,
            end=start + len(surface),
            canonical=canonical,
            entity_id=eid,
        )

    found = [m("Fidan", "PERSON", "Hakan Fidan"), m("Washington", "GPE", "Washington")]
    found.append(m("Hakan Fidan", "PERSON", "Hakan Fidan"))
    if i % 3 == 0:
        found.append(m("Marco Rubio", "PERSON", "Marco Rubio"))
    if i % 4 == 0:
        found.append(m(f"round {i}", "CARDINAL", f"round {i}"))
    return found


def add_documents(store: Store, n: int = BATCH) -> list[str]:
    ids = []
    for i in range(n):
        content = f"raw document {i}"
        raw = RawArticle(source=f"d{i}.txt", format="text", content=content)
        digest = hashlib.sha256(content.encode()).hexdigest()
        doc_id, created = store.add_document(raw, digest, f"trace-{i}", run(Stage.ingest))
        assert created
        ids.append(doc_id)
    return ids


def parse_tag_index(store: Store, i: int, doc_id: str) -> None:
    """Every write of one document's journey, as a worker makes them."""
    for n, stage in enumerate([Stage.parse, Stage.tag, Stage.index]):
        store.start_stage(doc_id, run(stage, n=n))
    store.save_parsed(doc_id, article(i), run(Stage.parse, n=1))
    store.save_tags(doc_id, mentions(i), "v1", run(Stage.tag, n=2))
    store.index_document(doc_id, run(Stage.index, n=3))


def snapshot(store: Store, ids: list[str]) -> dict[str, Any]:
    """What a user can see: statuses, documents, stage runs, entities, search hits."""
    docs = {}
    for doc_id in ids:
        record = store.get_document(doc_id).model_dump(exclude={"created_at", "updated_at"})
        docs[doc_id] = record
    return {
        "counts": store.counts(),
        "docs": docs,
        "runs": {d: [r.model_dump() for r in store.stage_runs(d)] for d in ids},
        "entities": [e.model_dump() for e in store.entities(limit=1000)],
        "search": {q: search(store, q) for q in QUERIES},
        "by_entity": [h.id for h in search(store, "", entity="Marco Rubio")],
    }


def count_sqlite_statements(store: Store) -> list[str]:
    """Every BEGIN and COMMIT the SQLite connection really executes (its trace callback)."""
    seen: list[str] = []
    conn: sqlite3.Connection | None = getattr(store, "conn", None)
    if isinstance(conn, sqlite3.Connection):

        def trace(statement: str) -> None:
            word = statement.split(None, 1)[0].upper() if statement.strip() else ""
            if word in {"BEGIN", "COMMIT", "ROLLBACK"}:
                seen.append(word)

        conn.set_trace_callback(trace)
    return seen


def is_sqlite(store: Store) -> bool:
    return store.url.startswith("sqlite")


def test_32_documents_in_one_batch_end_exactly_as_32_separate_writes(
    make_store: Callable[[], Store],
) -> None:
    separate, batched = make_store(), make_store()
    ids = add_documents(separate)
    assert add_documents(batched) == ids

    for i, doc_id in enumerate(ids):
        parse_tag_index(separate, i, doc_id)
    statements = count_sqlite_statements(batched)
    with batched.batch(ids) as batch:
        for i, doc_id in enumerate(ids):
            parse_tag_index(batched, i, doc_id)

    assert batch.commits == 1 and batch.refused == {}
    assert batch.savepoints == len(batch.written) == 6 * BATCH
    if is_sqlite(batched):
        assert statements == ["BEGIN", "COMMIT"]  # one transaction, seen by SQLite itself
    expected = snapshot(separate, ids)
    assert expected["counts"]["indexed"] == BATCH
    assert len(expected["search"]["Washington"]) == BATCH
    assert {e["id"]: e["mentions"] for e in expected["entities"]}["PERSON:hakan-fidan"] == 64
    assert snapshot(batched, ids) == expected


def test_separate_writes_are_still_one_transaction_each(make_store: Callable[[], Store]) -> None:
    store = make_store()
    ids = add_documents(store, 2)
    statements = count_sqlite_statements(store)
    parse_tag_index(store, 0, ids[0])
    if is_sqlite(store):
        assert statements == ["BEGIN", "COMMIT"] * 6
    assert store.get_document(ids[0]).status == Status.indexed


def test_a_stale_document_in_a_batch_of_32_is_refused_alone_and_the_other_31_commit(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store)
    for i, doc_id in enumerate(ids):
        store.start_stage(doc_id, run(Stage.parse))
        store.save_parsed(doc_id, article(i), run(Stage.parse))
        store.start_stage(doc_id, run(Stage.tag))
    stale = ids[7]
    store.start_stage(stale, run(Stage.tag, task_id="t-new"))  # a newer run took the lease

    refused = []
    with store.batch(ids) as batch:
        for i, doc_id in enumerate(ids):
            try:
                store.save_tags(doc_id, mentions(i), "v1", run(Stage.tag))
            except StaleRun as exc:
                refused.append(exc)

    assert [e.doc_id for e in refused] == [stale] and refused[0].owner == "t-new"
    assert batch.refused == {stale: refused[0]} and batch.commits == 1
    assert store.counts()["tagged"] == BATCH - 1
    assert store.get_document(stale).status == Status.parsed
    assert store.get_document(stale).mentions == []
    (tag_run,) = [r for r in store.stage_runs(stale) if r.stage == "tag"]
    assert tag_run.task_id == "t-new" and tag_run.duration_ms is None


def test_a_missing_document_in_a_batch_is_refused_alone(make_store: Callable[[], Store]) -> None:
    store = make_store()
    ids = add_documents(store, 3)
    missing = "0000000000000000"
    with store.batch([*ids, missing]) as batch:
        for i, doc_id in enumerate([ids[0], missing, ids[1]]):
            with contextlib.suppress(DocumentNotFound):
                store.save_parsed(doc_id, article(i), run(Stage.parse))
    assert set(batch.refused) == {missing}
    assert store.counts()["parsed"] == 2


def _half_written(store: Store, ids: list[str], fail: Callable[[], None]) -> None:
    for i, doc_id in enumerate(ids):
        if i == len(ids) // 2:
            fail()
        parse_tag_index(store, i, doc_id)


def _nothing_written(store: Store, ids: list[str]) -> None:
    assert store.counts()["received"] == len(ids)
    assert store.entities(limit=1000) == []
    assert search(store, "Washington") == []
    for doc_id in ids:
        assert [r.stage for r in store.stage_runs(doc_id)] == ["ingest"]
        assert store.get_document(doc_id).attempts == 1


class _Crash(Exception):
    """Anything that is not about one document: a bug, a lost connection, a time limit."""


def test_an_exception_in_the_middle_of_a_batch_leaves_none_of_its_writes(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store)

    def crash() -> None:
        raise _Crash("the worker's time is up")

    with pytest.raises(_Crash), store.batch(ids):
        _half_written(store, ids, crash)
    _nothing_written(store, ids)


def _cut_off(store: Store, batch: Any) -> None:
    """A real outage under the open batch: SQLite's disk fills up, PostgreSQL's link dies."""
    if is_sqlite(store):
        conn = batch.tx
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return
    import psycopg

    pid = batch.tx.connection.info.backend_pid
    with psycopg.connect(_postgres_url(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_store_outage_inside_a_batch_aborts_it_even_when_the_caller_caught_it(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store)
    caught: list[StoreUnavailable] = []
    with pytest.raises(StoreUnavailable), store.batch(ids) as batch:
        for i, doc_id in enumerate(ids[:2]):
            parse_tag_index(store, i, doc_id)
        _cut_off(store, batch)
        for i, doc_id in enumerate(ids[2:], start=2):
            try:
                parse_tag_index(store, i, doc_id)
            except StoreUnavailable as exc:
                caught.append(exc)  # a careless caller carries on with the next document
    assert caught and batch.commits == 0 and batch.failed is caught[0]
    assert all(exc is caught[0] for exc in caught)  # later writes refused at once
    _nothing_written(store, ids)


def test_a_write_for_a_document_the_batch_did_not_declare_aborts_the_batch(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store, 3)
    undeclared = "not one of this batch's documents"
    with pytest.raises(ValueError, match=undeclared), store.batch(ids[:2]):
        parse_tag_index(store, 0, ids[0])
        parse_tag_index(store, 2, ids[2])
    _nothing_written(store, ids)


def test_a_batch_of_one_equals_the_single_calls(make_store: Callable[[], Store]) -> None:
    single, batched = make_store(), make_store()
    (doc_id,) = add_documents(single, 1)
    add_documents(batched, 1)
    parse_tag_index(single, 0, doc_id)
    with batched.batch([doc_id]) as batch:
        parse_tag_index(batched, 0, doc_id)
    assert batch.commits == 1
    assert snapshot(batched, [doc_id]) == snapshot(single, [doc_id])


def test_a_failure_and_an_attempt_in_a_batch_are_compare_and_set_like_single_calls(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store, 3)
    for doc_id in ids:
        store.start_stage(doc_id, run(Stage.parse))
    store.start_stage(ids[2], run(Stage.parse, task_id="t-new"))
    failed = StageResult(**{**run(Stage.parse).__dict__, "error": "ParseError: no text"})
    with store.batch(ids) as batch:
        store.mark_failed(ids[0], failed)
        store.record_attempt(ids[1], failed)
        with pytest.raises(StaleRun):
            store.mark_failed(ids[2], failed)
    assert set(batch.refused) == {ids[2]}
    assert store.get_document(ids[0]).status == Status.failed
    second = store.get_document(ids[1])
    assert second.status == Status.received and second.attempts == 2
    assert second.last_error == "ParseError: no text"
    assert store.get_document(ids[2]).status == Status.received


def test_batches_do_not_nest(make_store: Callable[[], Store]) -> None:
    store = make_store()
    ids = add_documents(store, 1)
    inner = store.batch(ids)
    with pytest.raises(RuntimeError, match="do not nest"), store.batch(ids), inner:
        pass
    with store.batch(ids) as batch:  # the store is usable again
        store.start_stage(ids[0], run(Stage.parse))
    assert batch.commits == 1


def test_writes_after_a_batch_are_their_own_transactions_again(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store, 2)
    with store.batch(ids[:1]):
        parse_tag_index(store, 0, ids[0])
    parse_tag_index(store, 1, ids[1])  # not declared in the batch, and no batch is open
    assert store.counts()["indexed"] == 2


def test_a_lease_taken_earlier_in_a_batch_is_the_one_its_later_writes_compare_against(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    ids = add_documents(store, 1)
    with store.batch(ids):
        store.start_stage(ids[0], run(Stage.parse, task_id="t2"))
        store.save_parsed(ids[0], article(0), run(Stage.parse, task_id="t2"))
    assert store.get_document(ids[0]).status == Status.parsed
