"""Snippets: the sentence that matched best, escaped, with the matched words marked."""

from __future__ import annotations

from tasks.search.query import parse_query
from tasks.search.snippet import make_snippet

TEXT = (
    "Markets were calm. The central bank held rates on Tuesday, and the central-bank "
    "governor spoke. Bank shares rose <5%."
)


def test_a_phrase_is_marked_as_one_run_of_words() -> None:
    snippet = make_snippet(TEXT, parse_query('"central bank"'))
    assert "The <mark>central bank</mark> held" in snippet
    assert "the <mark>central-bank</mark> governor" in snippet


def test_words_apart_are_marked_apart_and_the_text_stays_escaped() -> None:
    snippet = make_snippet(TEXT, parse_query("bank rose"))
    assert "<mark>Bank</mark> shares <mark>rose</mark> &lt;5%." in snippet
