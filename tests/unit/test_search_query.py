"""The search query language: what each query means, what it refuses, and that SQLite
FTS5 and PostgreSQL tsquery find the same documents for it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

import pytest
from pydantic import ValidationError

from tasks.errors import QuerySyntaxError
from tasks.search.query import (
    MAX_QUERY_TERMS,
    Query,
    Term,
    fold,
    parse_query,
    plain_words,
    to_fts5,
    to_tsquery,
)
from tasks.search.request import SearchRequest
from tests.conftest import POSTGRES_URL

DOCS = {
    "a": "Farmers in Brasília protest the new subsidy rules",
    "b": "The yen fell as the central bank held rates",
    "c": "Inflation eased; farmers welcomed the central-bank decision",
    "d": "Recep Tayyip Erdoğan met F-35 makers in Ankara",
    "e": "A trade war over rice hurts farmers and the yen",
}

#: query -> the documents it finds, on every engine
EXPECTED = {
    "farmers": {"a", "c", "e"},
    "FARMERS yen": {"e"},
    "farmers OR yen": {"a", "b", "c", "e"},
    "farmers -subsidy": {"c", "e"},
    'farmers -"trade war"': {"a", "c"},
    '"central bank"': {"b", "c"},
    '"bank central"': set(),
    "infla*": {"c"},
    "erdogan": {"d"},
    "Erdoğan ankara": {"d"},
    "brasilia": {"a"},
    "F-35": {"d"},
    "f35": set(),
    "rice OR inflation yen": {"e"},
    "farmers AND yen": {"e"},
    'NEAR(farmers yen) "OR" ^x:y {z}': set(),
    "col:farmers": set(),
}


def test_words_are_folded_to_lower_case_without_accents() -> None:
    assert fold("Erdoğan BRASÍLIA Straße") == "erdogan brasilia strasse"


def test_the_indexed_words_are_the_words_a_query_sees() -> None:
    assert plain_words("F-35s, U.S. snake_case Erdoğan") == "f 35s u s snake case erdogan"


def test_bare_words_must_all_match_and_each_is_its_own_clause() -> None:
    assert parse_query("Farmers  Yen") == Query(((Term(("farmers",)),), (Term(("yen",)),)))


def test_a_quoted_phrase_and_a_punctuated_token_are_phrases_of_their_words() -> None:
    query = parse_query('"central bank" F-35')
    assert query.clauses == ((Term(("central", "bank")),), (Term(("f", "35")),))


def test_or_joins_the_terms_on_each_side_into_one_clause() -> None:
    query = parse_query("rice OR inflation yen")
    assert query.clauses == (
        (Term(("rice",)), Term(("inflation",))),
        (Term(("yen",)),),
    )


def test_a_minus_excludes_a_word_or_a_phrase() -> None:
    query = parse_query('farmers -subsidy -"trade war"')
    assert query.excluded == (Term(("subsidy",)), Term(("trade", "war")))


def test_a_star_makes_the_last_word_a_prefix() -> None:
    assert parse_query("infla*").clauses == ((Term(("infla",), prefix=True),),)


def test_an_empty_query_is_the_empty_query() -> None:
    assert parse_query("   ").empty and parse_query("").empty


def test_the_words_to_highlight_come_once_each_without_the_excluded_ones() -> None:
    assert parse_query('yen "the yen" OR bank -rice').words() == ["yen", "the", "bank"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('farmers "central bank', "not closed"),
        ("OR farmers", "OR needs"),
        ("farmers OR", "OR needs"),
        ("farmers OR OR yen", "OR needs"),
        ("farmers OR -yen", "cannot join an excluded"),
        ("-subsidy", "only excludes"),
        ("a*", "too short"),
        ("*", "must follow"),
        ("(farmers OR yen) rice", "parentheses"),
        (" ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1)), "more than"),
        ("x" * 1001, "characters long"),
    ],
)
def test_a_query_that_cannot_be_read_says_why_and_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert says in caught.value.message
    assert caught.value.hint


def test_query_syntax_of_the_engines_is_plain_text_in_a_query() -> None:
    rendered = to_fts5(parse_query('NEAR(a b) col:x ^y {z} "OR" AND'))
    assert rendered == '"near a" AND "b" AND "col x" AND "y" AND "z" AND "or"'


# ---- the same documents found on both engines -------------------------------------------


@pytest.fixture(scope="module")
def fts5() -> Iterator[Callable[[str], set[str]]]:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, body, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    db.executemany("INSERT INTO t VALUES (?, ?)", DOCS.items())

    def find(text: str) -> set[str]:
        rendered = to_fts5(parse_query(text))
        return {r[0] for r in db.execute("SELECT id FROM t WHERE t MATCH ?", (rendered,))}

    yield find
    db.close()


@pytest.fixture(scope="module")
def tsquery() -> Iterator[Callable[[str], set[str]]]:
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}")

    def find(text: str) -> set[str]:
        rendered = to_tsquery(parse_query(text))
        rows = conn.execute(
            "SELECT id FROM (VALUES " + ", ".join(["(%s, %s)"] * len(DOCS)) + ") AS d(id, body)"
            " WHERE to_tsvector('simple', d.body) @@ to_tsquery('simple', %s)",
            [*(x for pair in DOCS.items() for x in (pair[0], plain_words(pair[1]))), rendered],
        ).fetchall()
        return {r[0] for r in rows}

    yield find
    conn.close()


@pytest.mark.parametrize(("text", "found"), EXPECTED.items())
def test_sqlite_fts5_finds_what_the_query_means(
    fts5: Callable[[str], set[str]], text: str, found: set[str]
) -> None:
    assert fts5(text) == found


@pytest.mark.parametrize(("text", "found"), EXPECTED.items())
def test_postgresql_tsquery_finds_what_the_query_means(
    tsquery: Callable[[str], set[str]], text: str, found: set[str]
) -> None:
    assert tsquery(text) == found


# ---- the request every entry point shares -----------------------------------------------


def test_a_request_pages_from_one_and_counts_its_offset() -> None:
    request = SearchRequest(q="yen", page=3, per_page=20)
    assert request.offset == 40 and request.query.words() == ["yen"]


@pytest.mark.parametrize(
    "fields",
    [
        {"page": 0},
        {"per_page": 101},
        {"date_from": "2025-03-02", "date_to": "2025-03-01"},
        {"sort": "date"},
    ],
)
def test_a_request_out_of_bounds_is_refused_with_its_field(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SearchRequest.model_validate(fields)
