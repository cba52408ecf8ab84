"""PostgreSQL-only store behaviour: races between workers, fork safety, an unreachable server."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasks.errors import StaleRun, StoreUnavailable
from tasks.models import Article, Mention, RawArticle, Stage, Status
from tasks.search.request import SearchRequest
from tasks.store import StageResult, open_store
from tests.unit.test_store import _postgres_url

psycopg = pytest.importorskip("psycopg")
postgres = pytest.importorskip("tasks.store.postgres")
PostgresStore = postgres.PostgresStore

THREADS = 8


@pytest.fixture(scope="module")
def url() -> str:
    return _postgres_url()


@pytest.fixture
def schema(url: str) -> Iterator[str]:
    name = f"test_pg_{uuid.uuid4().hex[:12]}"
    yield name
    cleanup = PostgresStore(url, schema=name)
    cleanup.drop_schema()
    cleanup.close()


@pytest.fixture
def stores(url: str, schema: str) -> Iterator[Callable[[], Any]]:
    """Makes stores on one throwaway schema, as separate workers would; closes them after."""
    made: list[Any] = []

    def make() -> Any:
        store = PostgresStore(url, schema=schema)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def run(stage: Stage) -> StageResult:
    return StageResult(
        stage=stage, worker="w1@host", task_id="t1", started=time.time(), duration_ms=1.0
    )


def lease(stage: Stage, task_id: str, error: str | None = None) -> StageResult:
    return StageResult(
        stage=stage,
        worker="w@host",
        task_id=task_id,
        started=time.time(),
        duration_ms=1.0,
        error=error,
    )


def raw(text: str) -> tuple[RawArticle, str]:
    return (
        RawArticle(source=f"{text[:10]}.txt", format="text", content=text),
        hashlib.sha256(text.encode()).hexdigest(),
    )


def mention(text: str, start: int, canonical: str, label: str = "PERSON") -> Mention:
    return Mention(
        text=text,
        label=label,
        start=start,
        end=start + len(text),
        canonical=canonical,
        entity_id=f"{label}:{canonical.lower().replace(' ', '-')}",
    )


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Runs work(i) in count threads released together; re-raises the first error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def tagged_stories(setup: Any, count: int, prefix: str) -> list[str]:
    """Tagged documents all naming Fidan and Rubio (Ankara every other one), in varying order."""
    ids = []
    for i in range(count):
        article, digest = raw(f"{prefix} {i}")
        doc_id, _ = setup.add_document(article, digest, "trace", run(Stage.ingest))
        setup.save_parsed(
            doc_id,
            Article(title=f"Story {i}", paragraphs=["Fidan met Rubio. Fidan spoke."]),
            run(Stage.parse),
        )
        found = [mention("Fidan", 0, "Hakan Fidan"), mention("Fidan", 17, "Hakan Fidan")]
        found.insert(i % 3, mention("Rubio", 10, "Marco Rubio"))  # varying lock order
        if i % 2:
            found.append(mention("Ankara", 30, "Ankara", "GPE"))
        setup.save_tags(doc_id, found, "v1", run(Stage.tag))
        ids.append(doc_id)
    return ids


def _add_in_child(url: str, schema: str, text: str, barrier: Any, out: Any) -> None:
    store = PostgresStore(url, schema=schema)
    article, digest = raw(text)
    barrier.wait(timeout=30)
    out.put(store.add_document(article, digest, "trace", run(Stage.ingest)))
    store.close()


def test_threads_adding_the_same_content_at_once_make_one_document(stores) -> None:
    shared = stores()
    shared.migrate()
    fresh = stores()  # its pool is created lazily by all the threads at once
    article, digest = raw("Breaking: the same wire story, twice")

    results = in_threads(
        THREADS,
        lambda i: (shared if i % 2 else fresh).add_document(
            article, digest, f"trace-{i}", run(Stage.ingest)
        ),
    )

    assert len({doc_id for doc_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert shared.counts()["received"] == 1
    assert [r.stage for r in shared.stage_runs(results[0][0])] == ["ingest"]


def test_processes_adding_the_same_content_at_once_make_one_document(
    url: str, schema: str, stores
) -> None:
    store = stores()
    store.migrate()
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [
        ctx.Process(target=_add_in_child, args=(url, schema, "one story", barrier, out))
        for _ in range(4)
    ]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)

    assert len({doc_id for doc_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert store.counts()["received"] == 1


def _use_inherited_store(store: Any, text: str) -> None:
    article, digest = raw(text)
    store.add_document(article, digest, "trace", run(Stage.ingest))


def test_a_forked_worker_gets_its_own_connections_and_leaves_the_parents_alone(stores) -> None:
    store = stores()
    store.migrate()
    store.counts()  # the parent's pool exists before the fork
    child = multiprocessing.get_context("fork").Process(
        target=_use_inherited_store, args=(store, "written by the child")
    )
    child.start()
    child.join(timeout=60)

    assert child.exitcode == 0
    assert store.counts()["received"] == 1  # the parent's pooled connections still work


def test_concurrent_indexing_of_documents_sharing_entities_keeps_exact_counts(stores) -> None:
    setup = stores()
    setup.migrate()
    ids = tagged_stories(setup, THREADS, "story")
    workers = [stores() for _ in range(THREADS)]

    def index_all() -> None:
        in_threads(THREADS, lambda i: workers[i].index_document(ids[i], run(Stage.index)))

    def counts() -> dict[str, tuple[int, int]]:
        return {e.name: (e.documents, e.mentions) for e in setup.entities()}

    index_all()
    assert counts() == {
        "Hakan Fidan": (8, 16),
        "Marco Rubio": (8, 8),
        "Ankara": (4, 4),
    }
    for doc_id in ids:  # reprocessed from index: idempotent, every indexer again at once
        setup.reset_to(doc_id, Status.tagged)
    index_all()
    assert counts() == {"Hakan Fidan": (8, 16), "Marco Rubio": (8, 8), "Ankara": (4, 4)}

    for doc_id in ids:  # re-tagged: Fidan once, no Rubio, no Ankara
        setup.reset_to(doc_id, Status.parsed)
        setup.save_tags(doc_id, [mention("Fidan", 0, "Hakan Fidan")], "v2", run(Stage.tag))
    index_all()
    assert counts() == {"Hakan Fidan": (8, 8)}
    assert setup.counts()["indexed"] == THREADS


def test_the_same_document_indexed_by_several_workers_at_once_counts_once(stores) -> None:
    setup = stores()
    setup.migrate()
    article, digest = raw("a story delivered twice")
    doc_id, _ = setup.add_document(article, digest, "trace", run(Stage.ingest))
    setup.save_parsed(doc_id, Article(title="T", paragraphs=["Fidan, Fidan."]), run(Stage.parse))
    found = [mention("Fidan", 0, "Hakan Fidan"), mention("Fidan", 7, "Hakan Fidan")]
    setup.save_tags(doc_id, found, "v1", run(Stage.tag))
    workers = [stores() for _ in range(THREADS)]

    def index(i: int) -> str:
        try:
            workers[i].index_document(doc_id, run(Stage.index))
        except StaleRun:
            return "stale"
        return "indexed"

    outcomes = in_threads(THREADS, index)

    # one copy indexes it; every other copy finds it indexed and writes nothing
    assert sorted(outcomes) == ["indexed"] + ["stale"] * (THREADS - 1)
    ((name, documents, mentions),) = [(e.name, e.documents, e.mentions) for e in setup.entities()]
    assert (name, documents, mentions) == ("Hakan Fidan", 1, 2)
    assert [h.id for h in setup.search_page(SearchRequest(q="Fidan")).hits] == [doc_id]


def test_a_stale_failure_racing_a_new_lease_never_lands_beside_the_new_runs_outcome(
    stores,
) -> None:
    # run A fails its tag stage while the sweep's run B takes the stage and tags it:
    # whatever the interleaving, exactly one of the two outcomes is written
    setup = stores()
    setup.migrate()
    ids = []
    for i in range(THREADS):
        article, digest = raw(f"raced story {i}")
        doc_id, _ = setup.add_document(article, digest, "trace", run(Stage.ingest))
        setup.save_parsed(doc_id, Article(title="T", paragraphs=["p"]), run(Stage.parse))
        setup.start_stage(doc_id, lease(Stage.tag, "run-a"))
        ids.append(doc_id)
    workers = [stores() for _ in range(2 * THREADS)]

    def race(i: int) -> str:
        doc_id, store = ids[i // 2], workers[i]
        try:
            if i % 2:
                store.mark_failed(doc_id, lease(Stage.tag, "run-a", "late failure"))
                return "a"
            store.start_stage(doc_id, lease(Stage.tag, "run-b"))
            store.save_tags(doc_id, [], "v1", lease(Stage.tag, "run-b"))
            return "b"
        except StaleRun:
            return "stale"

    outcomes = in_threads(2 * THREADS, race)

    for n, doc_id in enumerate(ids):
        pair = sorted(outcomes[2 * n : 2 * n + 2])
        status = setup.get_document(doc_id).status
        assert pair in (["a", "stale"], ["b", "stale"]), pair
        assert status is (Status.failed if "a" in pair else Status.tagged)


def test_a_read_only_server_is_retryable_and_says_what_to_do(url: str, schema: str) -> None:
    writable = PostgresStore(url, schema=schema)
    writable.migrate()
    writable.close()
    joiner = "&" if "?" in url else "?"
    read_only = PostgresStore(
        f"{url}{joiner}options=-c%20default_transaction_read_only%3Don", schema=schema
    )
    try:
        assert read_only.counts()["received"] == 0  # reads still work
        with pytest.raises(StoreUnavailable) as caught:
            read_only.record_rejected("big.txt", "too big")
    finally:
        read_only.close()
    message = caught.value.describe()
    assert "read-only" in message and "primary" in message, message
    assert postgres.mask_url(url) in message


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("DiskFull", "disk is full"),
        ("TooManyConnections", "max_connections"),
        ("ReadOnlySqlTransaction", "primary"),
        ("AdminShutdown", "shutting down"),
    ],
)
def test_a_server_that_cannot_take_writes_now_gets_advice_for_its_sqlstate(
    error: str, advice: str
) -> None:
    store = PostgresStore("postgresql://docflow@db.example/docflow", schema="anywhere")
    unavailable = store._unavailable(getattr(psycopg.errors, error)("server said no"))
    assert isinstance(unavailable, StoreUnavailable)
    assert advice in unavailable.describe() and "db.example" in unavailable.describe()


def test_several_workers_migrating_at_once_apply_each_migration_once(stores) -> None:
    workers = [stores() for _ in range(THREADS)]

    versions = in_threads(THREADS, lambda i: workers[i].migrate())

    assert len(set(versions)) == 1 and versions[0] >= 1
    with workers[0]._conn() as conn:
        rows = conn.execute("SELECT version FROM schema_version").fetchall()
    assert sorted(r[0] for r in rows) == list(range(1, versions[0] + 1))


def test_a_connection_the_server_dropped_is_replaced_on_next_use(url: str, stores) -> None:
    store = stores()
    store.migrate()
    with store._conn() as conn:
        (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    assert store.counts()["received"] == 0


def test_an_unreachable_server_is_retryable_and_never_shows_the_password() -> None:
    for url in (
        "postgresql://docflow:s3cret-pw@127.0.0.1:1/test",
        "postgresql://docflow@127.0.0.1:1/test?password=s3cret-pw&connect_timeout=2",
    ):
        store = PostgresStore(url, schema="anywhere")
        with pytest.raises(StoreUnavailable) as caught:
            store.counts()
        text = f"{caught.value.describe()} {caught.value!r} {store!r}"
        assert "s3cret-pw" not in text
        assert "***" in text and "127.0.0.1:1" in text
        with pytest.raises(StoreUnavailable) as again:
            open_store(url)
        assert "s3cret-pw" not in again.value.describe()


# ---- batches: one transaction for many documents --------------------------------------


def _waiting_on_the_batch_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'SELECT id FROM documents%FOR UPDATE'"
        ).fetchone()
    return bool(row and row[0])


def test_two_batches_sharing_documents_written_in_opposite_orders_never_deadlock(
    url: str, stores
) -> None:
    # Given two documents and two workers whose batches both hold them
    setup = stores()
    setup.migrate()
    ids = []
    for text in ("first shared story", "second shared story"):
        article, digest = raw(text)
        ids.append(setup.add_document(article, digest, "trace", run(Stage.ingest))[0])
    first, second = stores(), stores()
    first_wrote = threading.Event()
    second_waits = threading.Event()
    errors: list[BaseException] = []

    def batch_in_reverse() -> None:
        try:
            with first.batch(ids):
                first.start_stage(ids[1], lease(Stage.parse, "first"))
                first_wrote.set()
                assert second_waits.wait(timeout=60)
                first.start_stage(ids[0], lease(Stage.parse, "first"))
        except BaseException as exc:
            errors.append(exc)
            first_wrote.set()

    def batch_in_order() -> None:
        try:
            with second.batch(ids):
                for doc_id in ids:
                    second.start_stage(doc_id, lease(Stage.parse, "second"))
        except BaseException as exc:
            errors.append(exc)

    # When the first writes the second document, the second batch starts on both, and only
    # then does the first write the first document
    one = threading.Thread(target=batch_in_reverse)
    one.start()
    assert first_wrote.wait(timeout=60)
    two = threading.Thread(target=batch_in_order)
    two.start()
    for _ in range(600):  # the second batch waits for the first one's row locks
        if _waiting_on_the_batch_lock(url):
            break
        time.sleep(0.05)
    else:
        second_waits.set()
        pytest.fail("the second batch never waited for the first one's row locks")
    second_waits.set()
    one.join(timeout=60)
    two.join(timeout=60)

    # Then neither deadlocks: the second batch ran after the first, whole
    assert errors == []
    for doc_id in ids:
        (parse_run,) = [r for r in setup.stage_runs(doc_id) if r.stage == "parse"]
        assert (parse_run.task_id, parse_run.attempts) == ("second", 2)


def test_concurrent_batches_of_documents_sharing_entities_keep_exact_counts(stores) -> None:
    setup = stores()
    setup.migrate()
    ids = tagged_stories(setup, THREADS * 4, "batched story")
    workers = [stores() for _ in range(THREADS)]

    def index_batch(i: int) -> int:
        mine = ids[i::THREADS]  # every batch touches every entity, in its own order
        with workers[i].batch(mine) as batch:
            for doc_id in reversed(mine) if i % 2 else mine:
                workers[i].index_document(doc_id, run(Stage.index))
        return batch.commits

    assert in_threads(THREADS, index_batch) == [1] * THREADS
    counts = {e.name: (e.documents, e.mentions) for e in setup.entities()}
    assert counts == {"Hakan Fidan": (32, 64), "Marco Rubio": (32, 32), "Ankara": (16, 16)}
    assert setup.counts()["indexed"] == THREADS * 4
