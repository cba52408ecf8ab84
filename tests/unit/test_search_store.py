"""Search on a store: one suite, run on SQLite and on PostgreSQL alike.

Query syntax, every filter, facets over the whole result, pages and totals, scores,
snippets (highlighted, one line, HTML-safe), the dateline and the article's own id,
entities found by name or alias without accents, and a store migrated from the schema
before search (and from the first search schema).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tasks.errors import QuerySyntaxError
from tasks.models import Article, Mention, RawArticle, Stage, Status
from tasks.search.request import FACET_LIMIT, FACETS, SearchPage, SearchRequest
from tasks.search.snippet import MAX_SNIPPET_CHARS
from tasks.store import Store
from tests.unit.test_search_query import DOCS, EXPECTED
from tests.unit.test_store import run, store  # noqa: F401  # `store`: both backends

_counter = itertools.count()


def person(text: str, start: int, canonical: str) -> Mention:
    slug = canonical.lower().replace(" ", "-").replace("ğ", "g")
    return Mention(
        text=text,
        label="PERSON",
        start=start,
        end=start + len(text),
        canonical=canonical,
        entity_id=f"PERSON:{slug}",
    )


def put(
    db: Store,
    title: str,
    body: str,
    *,
    published: str | None = None,
    dateline: str | None = None,
    language: str | None = "en",
    fmt: str = "text",
    metadata: dict[str, Any] | None = None,
    mentions: list[Mention] | None = None,
    status: Status = Status.indexed,
) -> str:
    """A document written through the store API, up to `status`."""
    content = f"{title}\n{body}\n{next(_counter)}"
    raw = RawArticle(source=f"{title[:12]}.{fmt}", format=fmt, content=content)
    digest = hashlib.sha256(content.encode()).hexdigest()
    doc_id, _ = db.add_document(raw, digest, "trace", run(Stage.ingest))
    if status is Status.received:
        return doc_id
    article = Article(
        title=title,
        paragraphs=body.split("\n\n"),
        published=published,
        dateline=dateline,
        language=language,
        metadata=metadata or {},
    )
    db.save_parsed(doc_id, article, run(Stage.parse))
    if status is not Status.parsed:
        db.save_tags(doc_id, mentions or [], "v1", run(Stage.tag))
        db.index_document(doc_id, run(Stage.index))
    return doc_id


def page(db: Store, q: str = "", **fields: Any) -> SearchPage:
    return db.search_page(SearchRequest(q=q, **fields))


def ids(db: Store, q: str = "", **fields: Any) -> set[str]:
    return {h.id for h in page(db, q, per_page=100, **fields).hits}


@pytest.fixture
def news(store: Store) -> dict[str, str]:  # noqa: F811
    """Five articles: name -> document id."""
    erdogan = "Recep Tayyip Erdoğan"
    return {
        "a": put(
            store,
            "Farmers protest in Brasília",
            "Farmers in Brasília protest the new subsidy rules.",
            published="2025-02-14",
            dateline="BRASÍLIA (Reuters)",
            metadata={"id": "br-2025-0214"},
        ),
        "b": put(
            store,
            "Yen falls",
            "The yen fell as the central bank held rates.",
            published="2025-02-20T09:30:00Z",
            dateline="TOKYO",
            language="ja",
        ),
        "c": put(
            store,
            "Inflation eases",
            "Inflation eased; farmers welcomed the central-bank decision.",
            published="2025-03-01",
            dateline="TOKYO",
            fmt="markdown",
        ),
        "d": put(
            store,
            "Talks in Ankara",
            f"{erdogan} met F-35 makers in Ankara. Erdoğan said little.",
            published="2025-03-02",
            dateline="ANKARA",
            mentions=[
                person(erdogan, 0, erdogan),
                person("Erdoğan", 60, erdogan),
            ],
        ),
        "e": put(
            store,
            "Rice trade",
            "A trade war over rice hurts farmers and the yen.",
            published=None,
        ),
    }


# ---- the query language ------------------------------------------------------------


@pytest.fixture
def engine_docs(store: Store) -> dict[str, str]:  # noqa: F811
    """The documents of the query language's own tests, as bodies: name -> id."""
    return {name: put(store, "", text) for name, text in DOCS.items()}


@pytest.mark.parametrize(("query", "expected"), EXPECTED.items())
def test_a_query_finds_the_documents_its_syntax_asks_for(
    store: Store,  # noqa: F811
    engine_docs: dict[str, str],
    query: str,
    expected: set[str],
) -> None:
    assert ids(store, query) == {engine_docs[k] for k in expected}


@pytest.mark.parametrize("query", ['"unclosed', "a OR", "-only", "(a b)", "*"])
def test_a_query_that_cannot_be_read_raises_a_syntax_error_with_a_hint(
    store: Store,  # noqa: F811
    news: dict[str, str],
    query: str,
) -> None:
    with pytest.raises(QuerySyntaxError) as raised:
        page(store, query)
    assert raised.value.hint


def test_the_dateline_and_the_articles_own_id_are_searchable(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    assert ids(store, "br-2025-0214") == {news["a"]}
    assert ids(store, "tokyo") == {news["b"], news["c"]}


# ---- filters -------------------------------------------------------------------------


def test_an_entity_is_found_by_id_name_or_alias_without_accents_or_case(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    for key in ["PERSON:recep-tayyip-erdogan", "Recep Tayyip Erdogan", "recep tayyip erdoğan"]:
        assert ids(store, entity=key) == {news["d"]}, key
    found = store.entity("erdogan")  # an alias (a surface form), without its accent
    assert found is not None and found.name == "Recep Tayyip Erdoğan"
    assert store.entity("Nobody Known") is None
    assert page(store, "ankara", entity="Nobody Known").total == 0


def test_an_alias_first_seen_in_a_later_document_finds_the_entity(store: Store) -> None:  # noqa: F811
    name = "Recep Tayyip Erdoğan"
    first = put(store, "One", f"{name} spoke.", mentions=[person(name, 5, name)])
    later = put(store, "Two", "Tayyip spoke.", mentions=[person("Tayyip", 5, name)])
    found = store.entity("TAYYIP")
    assert found is not None and found.name == name and found.documents == 2
    assert ids(store, entity="tayyip") == {first, later}


def test_each_filter_narrows_the_result(store: Store, news: dict[str, str]) -> None:  # noqa: F811
    assert ids(store, "farmers", label="person") == set()
    assert ids(store, label="PERSON") == {news["d"]}
    assert ids(store, date_from="2025-02-20", date_to="2025-03-01") == {news["b"], news["c"]}
    assert ids(store, date_from="2025-03-02") == {news["d"]}
    assert ids(store, "yen", date_to="2025-02-28") == {news["b"]}
    assert ids(store, dateline="Brasilia") == {news["a"]}
    assert ids(store, dateline="tokyo (Reuters)") == {news["b"], news["c"]}
    assert ids(store, lang="JA") == {news["b"]}
    assert ids(store, "farmers", format="markdown") == {news["c"]}


def test_an_empty_query_lists_documents_newest_first_and_by_status(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    waiting = put(store, "Not yet", "Still parsing.", status=Status.parsed)
    listed = page(store, per_page=100)
    assert [h.id for h in listed.hits] == [news[k] for k in "dcbae"]  # unknown date last
    assert ids(store, status=Status.parsed) == {waiting}
    with pytest.raises(QuerySyntaxError):
        page(store, "farmers", status=Status.parsed)


# ---- facets, pages, scores ---------------------------------------------------------


def test_facets_count_the_whole_result_not_just_the_page(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    result = page(store, per_page=1)
    assert len(result.hits) == 1 and result.total == 5
    facets = {name: [(c.value, c.count) for c in counts] for name, counts in result.facets.items()}
    assert set(facets) == set(FACETS)
    assert facets["months"] == [("2025-02", 2), ("2025-03", 2)]
    assert facets["datelines"][0] == ("tokyo", 2)
    assert facets["languages"] == [("en", 4), ("ja", 1)]
    assert facets["formats"] == [("text", 4), ("markdown", 1)]
    assert facets["labels"] == [("PERSON", 1)]
    (entity,) = result.facets["entities"]
    assert (entity.value, entity.name, entity.label, entity.count) == (
        "PERSON:recep-tayyip-erdogan",
        "Recep Tayyip Erdoğan",
        "PERSON",
        1,
    )
    assert result.facets["datelines"][1].name == "ANKARA"


def test_a_facet_lists_at_most_the_limit_biggest_first(store: Store) -> None:  # noqa: F811
    for day in range(1, FACET_LIMIT + 3):
        for _ in range(1 if day > 2 else 2):
            put(store, f"Day {day}", "Markets moved.", published=f"2025-01-{day:02d}")
    days = page(store, "markets").facets["days"]
    assert len(days) == FACET_LIMIT
    assert [(d.value, d.count) for d in days[:3]] == [
        ("2025-01-01", 2),
        ("2025-01-02", 2),
        ("2025-01-03", 1),
    ]


def test_the_entity_facet_keeps_the_top_of_each_label_so_numbers_cannot_crowd_out_names(
    store: Store,  # noqa: F811
) -> None:
    for i in range(FACET_LIMIT + 2):  # each number is in two reports, the name in one
        first, second = str(100 + i), str(101 + i)
        body = f"Output rose {first} units, then {second} units."
        numbers = [
            Mention(text=n, label="CARDINAL", start=at, end=at + 3, entity_id=f"CARDINAL:{n}")
            for n, at in ((first, body.index(first)), (second, body.rindex(second)))
        ]
        extra = [person("Ada Lovelace", len(body) + 1, "Ada Lovelace")] if i == 0 else []
        put(
            store, f"Report {i}", body + " Ada Lovelace spoke." * (i == 0), mentions=numbers + extra
        )
    entities = page(store, "output").facets["entities"]
    assert [c.label for c in entities] == ["CARDINAL"] * FACET_LIMIT + ["PERSON"]
    assert all(c.count == 2 for c in entities[:FACET_LIMIT])
    assert (entities[-1].name, entities[-1].count) == ("Ada Lovelace", 1)


def test_facets_of_a_broad_search_counted_from_the_unmatched_side_equal_the_direct_count(
    store: Store,  # noqa: F811
    news: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a document indexed again with other entities (the entity counts move)
    body = "Erdoğan and Lula met in Ankara."
    again = [person("Erdoğan", 0, "Recep Tayyip Erdoğan"), person("Lula", 12, "Lula")]
    store.reset_to(news["d"], Status.parsed)  # `docflow reprocess --from tag`
    store.save_tags(news["d"], again, "v2", run(Stage.tag))
    store.index_document(news["d"], run(Stage.index))
    put(store, "Lula in Rome", body, mentions=[person("Lula", 12, "Lula")])
    # When a search finds most documents, and the same search counts the direct way
    broad = ["farmers OR yen OR ankara", ""]
    shortcut = {q: page(store, q).facets for q in broad}
    monkeypatch.setattr(type(store), "_count_the_others", lambda *_: False)
    direct = {q: page(store, q).facets for q in broad}
    # Then both ways give the same facets
    assert shortcut == direct
    assert [(c.name, c.count) for c in direct[""]["entities"]] == [
        ("Lula", 2),
        ("Recep Tayyip Erdoğan", 1),
    ]


def test_pages_hold_per_page_hits_and_every_page_knows_the_total(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    seen = [h.id for n in (1, 2, 3) for h in page(store, per_page=2, page=n).hits]
    assert seen == [news[k] for k in "dcbae"]
    assert page(store, per_page=2, page=3).total == 5
    beyond = page(store, per_page=2, page=9)
    assert beyond.hits == [] and beyond.total == 5 and beyond.pages == 3


def test_every_hit_scores_above_zero_in_a_stable_order(
    store: Store,  # noqa: F811
    news: dict[str, str],
) -> None:
    assert all(h.score > 0 for h in page(store, "farmers OR yen").hits)
    assert all(h.score > 0 for h in page(store, entity="Recep Tayyip Erdogan").hits)
    assert all(h.score > 0 for h in page(store, "ankara", label="PERSON").hits)
    first = [h.id for h in page(store, "farmers OR yen").hits]
    assert first == [h.id for h in page(store, "farmers OR yen").hits]


def test_a_single_document_scores_above_zero(store: Store) -> None:  # noqa: F811
    put(store, "Lone", "Only one article here.")
    (hit,) = page(store, "article").hits
    assert hit.score > 0


def test_a_word_in_the_title_ranks_above_the_same_word_in_the_body(store: Store) -> None:  # noqa: F811
    body = put(store, "Markets", "Copper prices rose on Monday in every market.")
    title = put(store, "Copper prices", "Markets rose on Monday in every market.")
    assert [h.id for h in page(store, "copper").hits] == [title, body]


# ---- snippets -----------------------------------------------------------------------


def test_a_snippet_marks_the_matched_words_on_one_line(store: Store, news: dict[str, str]) -> None:  # noqa: F811
    (hit,) = page(store, "erdogan").hits
    assert "<mark>Erdoğan</mark>" in hit.snippet
    assert "\n" not in hit.snippet


def test_a_snippet_is_escaped_html_around_its_marks(store: Store) -> None:  # noqa: F811
    put(store, "Alert", "The page ran <script>alert('x')</script> before the vote & count.")
    (hit,) = page(store, "vote").hits
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "&amp;" in hit.snippet
    assert "<mark>vote</mark>" in hit.snippet


def test_a_snippet_is_one_or_two_sentences_around_the_best_match(store: Store) -> None:  # noqa: F811
    filler = " ".join(f"Sentence {i} says nothing much." for i in range(60))
    put(store, "Long", f"{filler}\n\nThe harbour reopened on Friday. Ships came back.\n\n{filler}")
    (hit,) = page(store, "harbour").hits
    text = hit.snippet.replace("<mark>", "").replace("</mark>", "")
    assert text == "The harbour reopened on Friday. Ships came back."
    words = " ".join(["word"] * 300)
    put(store, "Run-on", f"{words} needle {words}")
    (long,) = page(store, "needle").hits
    shown = long.snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<mark>needle</mark>" in long.snippet and len(shown) <= MAX_SNIPPET_CHARS


# ---- migration ------------------------------------------------------------------------


def test_an_older_store_is_migrated_and_searchable_with_its_facets(old_store: Store) -> None:
    assert page(old_store, "brasilia").total == 1  # the dateline, searchable only after
    assert page(old_store, "br-2025-0214").total == 1  # the article's own id, likewise
    assert page(old_store, entity="Recep Tayyip Erdogan").total == 1
    assert page(old_store, dateline="Brasilia", date_from="2025-02-14").total == 1
    (hit,) = page(old_store, "erdogan").hits
    assert "<mark>Erdoğan</mark>" in hit.snippet and hit.score > 0
    facets = page(old_store, "farmers").facets
    assert facets["entities"][0].name == "Recep Tayyip Erdoğan"
    assert [(c.value, c.count) for c in facets["labels"]] == [("PERSON", 1)]


@pytest.fixture(params=[2, 1], ids=["from-before-search", "from-the-first-search-schema"])
def old_store(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Store]:
    """A store of the same backend built with the migrations of an older schema (before
    search's, or search's first one without the narrow facet rows), holding one indexed
    document written as the old code wrote it; then migrated."""
    import tasks.store.postgres as postgres_module
    import tasks.store.sqlite as sqlite_module

    sqlite = store.url.startswith("sqlite")
    module: Any = sqlite_module if sqlite else postgres_module
    if sqlite:
        old: Any = sqlite_module.SQLiteStore(store.url.replace(".db", "-old.db"))
    else:
        old = postgres_module.PostgresStore(store.url, schema=f"{store.schema}_old")  # type: ignore[attr-defined]
    before = old.SEARCH_FIELDS_VERSION - request.param
    scripts = module.migration_scripts
    monkeypatch.setattr(module, "migration_scripts", lambda b: scripts(b)[:before])
    assert old.migrate() == before
    _write_as_before(old, json.dumps(["Erdoğan"]) if sqlite else ["Erdoğan"])
    monkeypatch.setattr(module, "migration_scripts", scripts)
    assert old.migrate() == scripts("sqlite" if sqlite else "postgres")[-1][0]  # the newest
    yield old
    if not sqlite:
        old.drop_schema()
    old.close()


def _write_as_before(old: Any, aliases: Any) -> None:
    """One indexed document, its mention and entity, in the columns that existed."""
    article = Article(
        title="Talks",
        paragraphs=["Recep Tayyip Erdoğan met farmers."],
        published="2025-02-14",
        dateline="BRASÍLIA (Reuters)",
        metadata={"id": "br-2025-0214"},
    )
    mention = person("Recep Tayyip Erdoğan", 7, "Recep Tayyip Erdoğan")
    with old._write() as tx:
        old._run(
            tx,
            "INSERT INTO documents (id, content_hash, source, format, raw, status, trace_id,"
            " created_at, updated_at, article, mentions, title, published)"
            " VALUES ('old1', 'h', 's.txt', 'text', 'raw', 'indexed', 't', 1, 1, ?, ?, ?, ?)",
            (article.model_dump_json(), f"[{mention.model_dump_json()}]", "Talks", "2025-02-14"),
        )
        old._run(
            tx,
            'INSERT INTO mentions (doc_id, start, "end", text, label, canonical, entity_id)'
            " VALUES ('old1', 7, 27, ?, 'PERSON', ?, ?)",
            (mention.text, mention.canonical, mention.entity_id),
        )
        old._run(
            tx,
            "INSERT INTO entities (id, name, label, aliases, documents, mentions)"
            " VALUES (?, ?, 'PERSON', ?, 1, 1)",
            (mention.entity_id, mention.canonical, aliases),
        )
