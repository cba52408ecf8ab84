"""The store contract, run against every backend available (SQLite always)."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from tasks.errors import QuerySyntaxError, StaleRun
from tasks.models import Article, Mention, RawArticle, SearchHit, Stage, Status
from tasks.search.request import SearchRequest
from tasks.store import StageResult, Store, open_store
from tests.conftest import POSTGRES_URL


def _postgres_url() -> str:
    psycopg = pytest.importorskip("psycopg")
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'docflow.db'}")
    else:
        pytest.importorskip("tasks.store.postgres")
        from tasks.store.postgres import PostgresStore

        s = PostgresStore(_postgres_url(), schema=f"test_{int(time.time() * 1e6)}")
        s.migrate()
    yield s
    if request.param == "postgres":
        s.drop_schema()  # type: ignore[attr-defined]
    s.close()


def search(store: Store, q: str, **filters: Any) -> list[SearchHit]:
    """The hits of one search (first page of 100)."""
    return store.search_page(SearchRequest(q=q, per_page=100, **filters)).hits


def run(stage: Stage) -> StageResult:
    return StageResult(
        stage=stage, worker="w1@host", task_id="t1", started=time.time(), duration_ms=1.5
    )


def add(store: Store, text: str = "Body", source: str = "a.txt") -> str:
    raw = RawArticle(source=source, format="text", content=text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    doc_id, created = store.add_document(raw, digest, "trace-1", run(Stage.ingest))
    assert created
    return doc_id


def index(
    store: Store, doc_id: str, title: str, paragraphs: list[str], mentions: list[Mention]
) -> None:
    store.save_parsed(doc_id, Article(title=title, paragraphs=paragraphs), run(Stage.parse))
    store.save_tags(doc_id, mentions, "v1", run(Stage.tag))
    store.index_document(doc_id, run(Stage.index))


def fidan(start: int, text: str = "Fidan") -> Mention:
    return Mention(
        text=text,
        label="PERSON",
        start=start,
        end=start + len(text),
        canonical="Hakan Fidan",
        entity_id="PERSON:hakan-fidan",
    )


def test_a_document_moves_through_every_status_and_is_searchable(store: Store) -> None:
    doc_id = add(store)
    assert store.counts()["received"] == 1
    index(store, doc_id, "Fidan visits Washington", ["Talks on the F-35 program."], [fidan(0)])
    assert store.counts()["indexed"] == 1
    hits = search(store, "F-35")
    assert [h.id for h in hits] == [doc_id]
    assert "<mark>" in hits[0].snippet


def test_indexing_twice_changes_nothing(store: Store) -> None:
    doc_id = add(store)
    index(store, doc_id, "Fidan", ["Fidan met Rubio."], [fidan(0), fidan(7)])
    before = (store.entities(), search(store, "Rubio"))
    with pytest.raises(StaleRun):  # the document is indexed already: it says so
        store.index_document(doc_id, run(Stage.index))
    store.reset_to(doc_id, Status.tagged)  # `docflow reprocess --from index`
    store.index_document(doc_id, run(Stage.index))
    after = (store.entities(), search(store, "Rubio"))
    assert before[0] == after[0]
    assert [h.id for h in before[1]] == [h.id for h in after[1]]
    assert store.entities()[0].mentions == 2 and store.entities()[0].documents == 1


def test_entities_count_documents_and_collect_aliases(store: Store) -> None:
    index(store, add(store, "one"), "Fidan", ["x"], [fidan(0, "Hakan Fidan")])
    index(store, add(store, "two"), "Fidan", ["x"], [fidan(0), fidan(10)])
    (entity,) = store.entities(label="PERSON")
    assert (entity.name, entity.documents, entity.mentions) == ("Hakan Fidan", 2, 3)
    assert entity.aliases == ["Fidan"]


def test_a_name_said_again_in_a_document_is_one_mention_row_counting_its_occurrences(
    store: Store,
) -> None:
    doc_id = add(store)
    index(store, doc_id, "Fidan", ["Fidan met Fidan."], [fidan(0), fidan(10), fidan(20)])
    rows = store._read(  # type: ignore[attr-defined]
        "SELECT start, occurrences FROM mentions WHERE doc_id = ?", (doc_id,)
    )
    assert [(r["start"], r["occurrences"]) for r in rows] == [(0, 3)]  # the first occurrence
    assert [len(d.mentions) for d in [store.get_document(doc_id)]] == [3]  # every offset kept
    assert (store.entities()[0].mentions, store.entities()[0].documents) == (3, 1)
    # when the document is tagged again with the name once, the counts follow exactly
    store.reset_to(doc_id, Status.parsed)
    store.save_tags(doc_id, [fidan(0)], "v2", run(Stage.tag))
    store.index_document(doc_id, run(Stage.index))
    assert (store.entities()[0].mentions, store.entities()[0].documents) == (1, 1)


def test_search_filters_by_entity_and_label(store: Store) -> None:
    a = add(store, "one")
    index(store, a, "Talks", ["Talks in Ankara."], [fidan(0)])
    b = add(store, "two")
    index(store, b, "Talks", ["Talks in Ankara too."], [])
    assert [h.id for h in search(store, "talks", entity="hakan fidan")] == [a]
    assert [h.id for h in search(store, "talks", label="PERSON")] == [a]
    assert {h.id for h in search(store, "talks")} == {a, b}


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "(((",
        "NEAR(a b",
        "a AND OR NOT",
        "title:x",
        "'; DROP TABLE documents; --",
        "*",
        "x" * 5000,
        "^start",
        'a" OR "1"="1',
    ],
)
def test_hostile_queries_are_refused_or_read_as_words_and_never_inject(
    store: Store, query: str
) -> None:
    doc_id = add(store)
    index(store, doc_id, "Safe", ["Nothing to see here."], [])
    try:
        search(store, query)
    except QuerySyntaxError as exc:
        assert exc.hint  # refused with a way to write it
    except ValidationError as exc:  # longer than a request may be
        assert "at most 1000 characters" in str(exc)
    assert store.counts()["indexed"] == 1


def test_a_failure_is_recorded_with_stage_reason_and_attempts(store: Store) -> None:
    doc_id = add(store)
    failed = StageResult(
        stage=Stage.parse,
        worker="w",
        task_id="t",
        started=time.time(),
        duration_ms=2,
        error="a.txt: no text",
    )
    store.mark_failed(doc_id, failed)
    doc = store.get_document(doc_id)
    assert (doc.status, doc.stage, doc.last_error) == (Status.failed, "parse", "a.txt: no text")
    assert [d.id for d in store.failed_documents()] == [doc_id]
    runs = {r.stage: r for r in store.stage_runs(doc_id)}
    assert runs["parse"].error == "a.txt: no text" and runs["ingest"].worker == "w1@host"


def test_stuck_documents_are_found_by_age(store: Store) -> None:
    doc_id = add(store)
    assert store.stuck_documents(older_than_s=3600) == []
    assert store.stuck_documents(older_than_s=-1) == [(doc_id, Status.received)]


def test_rejected_files_are_kept_with_their_reason(store: Store) -> None:
    store.record_rejected("bad.bin", "bad.bin: not text")
    (rejected,) = store.rejected_files()
    assert (rejected.source, rejected.error, rejected.stage) == (
        "bad.bin",
        "bad.bin: not text",
        "ingest",
    )


def test_migrations_are_versioned_and_run_once(store: Store) -> None:
    version = store.migrate()
    assert version >= 1 and store.migrate() == version


def test_documents_are_iterated_a_page_at_a_time_in_creation_order(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[type(store).__module__], "PAGE", 3)
    made = [add(store, f"doc {i}") for i in range(10)]
    store.reset_to(made[4], Status.failed)

    assert [d.id for d in store.iter_documents()] == made
    assert [d.id for d in store.iter_documents(Status.failed)] == [made[4]]
    assert [d.id for d in store.failed_documents()] == [made[4]]


def test_find_ids_treats_like_wildcards_as_plain_text(store: Store) -> None:
    doc_id = add(store, "some text")

    assert store.find_ids(doc_id[:5]) == [doc_id]
    assert store.find_ids("%") == [] and store.find_ids("_") == []
    many = [doc_id, "missing", *(f"other-{i}" for i in range(1200))]  # more than one chunk
    assert store.status_counts(many)["received"] == 1
    assert set(store.status_counts([]).values()) == {0}


def test_search_matches_hyphenated_and_dotted_terms_and_ranks_titles_first(store: Store) -> None:
    ids = []
    for title, body in [
        ("Budget news", "The U.S. pays for more F-35 jets."),
        ("F-35 deliveries", "Jets arrive."),
    ]:
        doc_id = add(store, title + body)
        index(store, doc_id, title, [body], [])
        ids.append(doc_id)

    assert [h.id for h in search(store, "F-35")] == [ids[1], ids[0]]
    (hit,) = search(store, "U.S. jets")
    assert hit.id == ids[0] and "<mark>" in hit.snippet and hit.score > 0


# ---- every outcome is a compare-and-set on the run that owns the stage -----------------


def lease(stage: Stage, task_id: str, error: str | None = None) -> StageResult:
    return StageResult(
        stage=stage,
        worker=f"{task_id}@host",
        task_id=task_id,
        started=time.time(),
        duration_ms=3.0,
        error=error,
    )


def indexed_by_run_b(store: Store) -> str:
    """A document whose tag run A lost its lease: the sweep resent it, run B indexed it."""
    doc_id = add(store)
    store.start_stage(doc_id, lease(Stage.parse, "parse-1"))
    store.save_parsed(
        doc_id, Article(title="Fidan", paragraphs=["Fidan spoke."]), lease(Stage.parse, "parse-1")
    )
    store.start_stage(doc_id, lease(Stage.tag, "run-a"))  # then run A froze
    store.start_stage(doc_id, lease(Stage.tag, "run-b"))
    store.save_tags(doc_id, [fidan(0)], "v1", lease(Stage.tag, "run-b"))
    store.start_stage(doc_id, lease(Stage.index, "run-b-index"))
    store.index_document(doc_id, lease(Stage.index, "run-b-index"))
    return doc_id


LATE_WRITES = {
    "mark_failed": lambda store, doc_id, late: store.mark_failed(doc_id, late),
    "save_tags": lambda store, doc_id, late: store.save_tags(doc_id, [], "v0", late),
    "record_attempt": lambda store, doc_id, late: store.record_attempt(doc_id, late),
}


@pytest.mark.parametrize("write", sorted(LATE_WRITES))
def test_a_late_write_from_a_run_that_lost_its_lease_changes_nothing_and_says_it_lost(
    store: Store, write: str
) -> None:
    doc_id = indexed_by_run_b(store)
    before = (store.get_document(doc_id), store.stage_runs(doc_id), store.entities())
    late = lease(Stage.tag, "run-a", error="TaggingError: SoftTimeLimitExceeded()")
    with pytest.raises(StaleRun) as lost:
        LATE_WRITES[write](store, doc_id, late)
    assert (lost.value.owner, lost.value.status, lost.value.task_id) == (
        "run-b",
        "indexed",
        "run-a",
    )
    assert (store.get_document(doc_id), store.stage_runs(doc_id), store.entities()) == before
    doc = store.get_document(doc_id)
    assert (doc.status, doc.last_error, doc.stage) == (Status.indexed, None, None)
    runs = {r.stage: r for r in store.stage_runs(doc_id)}
    assert (runs["tag"].task_id, runs["tag"].error) == ("run-b", None)


def test_a_run_that_lost_its_lease_cannot_write_even_while_the_status_still_matches(
    store: Store,
) -> None:
    doc_id = add(store)
    store.save_parsed(doc_id, Article(title="T", paragraphs=["Fidan."]), lease(Stage.parse, "p"))
    store.start_stage(doc_id, lease(Stage.tag, "run-a"))
    store.start_stage(doc_id, lease(Stage.tag, "run-b"))  # the document is still `parsed`
    with pytest.raises(StaleRun) as lost:
        store.save_tags(doc_id, [fidan(0)], "v1", lease(Stage.tag, "run-a"))
    assert (lost.value.owner, lost.value.status) == ("run-b", "parsed")
    assert store.get_document(doc_id).status is Status.parsed
    with pytest.raises(StaleRun):
        store.mark_failed(doc_id, lease(Stage.tag, "run-a", error="late"))
    store.save_tags(doc_id, [fidan(0)], "v1", lease(Stage.tag, "run-b"))  # the owner wins
    assert store.get_document(doc_id).status is Status.tagged


def test_the_run_that_owns_a_stage_records_its_retries_and_then_its_failure(store: Store) -> None:
    doc_id = add(store)
    store.start_stage(doc_id, lease(Stage.parse, "task-1"))
    store.record_attempt(doc_id, lease(Stage.parse, "task-1", error="StoreUnavailable: busy"))
    store.start_stage(doc_id, lease(Stage.parse, "task-1"))  # the retry: same task id
    store.mark_failed(doc_id, lease(Stage.parse, "task-1", error="ParseError: no text"))
    doc = store.get_document(doc_id)
    assert (doc.status, doc.stage, doc.last_error) == (
        Status.failed,
        "parse",
        "ParseError: no text",
    )
    with pytest.raises(StaleRun):  # failed is final: even its own late write changes nothing
        store.record_attempt(doc_id, lease(Stage.parse, "task-1", error="again"))
    assert store.get_document(doc_id).last_error == "ParseError: no text"


def test_a_stage_run_remembers_the_batch_it_ran_in_and_a_run_alone_has_none(
    store: Store,
) -> None:
    doc_id = add(store)
    parse = dataclasses.replace(run(Stage.parse), batch_id="batch-7", batch_size=32)
    store.start_stage(doc_id, parse)
    store.save_parsed(doc_id, Article(title="T", paragraphs=["Body"]), parse)
    runs = {r.stage: r for r in store.stage_runs(doc_id)}
    assert (runs["parse"].batch_id, runs["parse"].batch_size) == ("batch-7", 32)
    assert (runs["ingest"].batch_id, runs["ingest"].batch_size) == (None, None)
    # a later run alone (a retry in its own message) says so
    alone = run(Stage.tag)
    store.start_stage(doc_id, alone)
    store.save_tags(doc_id, [], "v0", alone)
    runs = {r.stage: r for r in store.stage_runs(doc_id)}
    assert runs["tag"].batch_id is None and runs["parse"].batch_id == "batch-7"


def test_indexing_what_the_caller_just_wrote_gives_what_reading_it_back_gives(
    store: Store,
) -> None:
    from tasks.store.base import Written

    article = Article(title="Fidan in Ankara", paragraphs=["Fidan met Rubio on the F-35."])
    mentions = [fidan(0), fidan(16)]
    read_back, handed = add(store, "one"), add(store, "two", source="b.txt")
    for doc_id in (read_back, handed):
        store.save_parsed(doc_id, article, run(Stage.parse))
        store.save_tags(doc_id, mentions, "v1", run(Stage.tag))
    store.index_document(read_back, run(Stage.index))
    store.index_document(handed, run(Stage.index), Written(article, mentions))
    assert {h.id for h in search(store, "Rubio")} == {read_back, handed}
    assert {h.id for h in search(store, "Rubio", entity="Hakan Fidan")} == {read_back, handed}
    (entity,) = store.entities()
    assert (entity.documents, entity.mentions) == (2, 4)
