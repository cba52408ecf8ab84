"""The search query language, read once for every store: words, phrases, OR, -, prefix*.

    farmers yen              both words (AND)
    "central bank"           the words next to each other, in this order
    farmers OR yen           either (OR binds tighter than AND: `a b OR c` is a AND (b OR c))
    -subsidy  -"trade war"   documents without the word or phrase
    infla*                   a word starting with `infla` (at least two letters before `*`)

Matching is case- and accent-insensitive: every word is folded (`Erdoğan` = `erdogan`).
A bare token holding punctuation (`F-35`, `U.S.`) is the phrase of its words. A query
this module cannot read raises `QuerySyntaxError` saying what is wrong and how to write
it; nothing is dropped silently. The result (`Query`) holds plain folded words only, so
rendering it for FTS5 (`to_fts5`) or tsquery (`to_tsquery`) cannot inject syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tasks.errors import QuerySyntaxError

MAX_QUERY_CHARS = 1000
MAX_QUERY_TERMS = 32
#: letters a prefix needs before its `*` (a one-letter prefix matches most of the index)
MIN_PREFIX = 2

_TOKEN = re.compile(r'(-?)"([^"]*)("?)|(\()|(\))|(\S+)')
#: a word: letters and digits (an underscore splits words, as both full-text engines do)
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Term:
    """Folded words that must appear together, in order; `prefix`: the last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.words) + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Query:
    """Every clause must match (each clause: any of its terms); no excluded term may."""

    clauses: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.clauses

    def words(self) -> list[str]:
        """Every word the query looks for (for highlighting), in order, once each."""
        seen: dict[str, None] = {}
        for clause in self.clauses:
            for term in clause:
                seen.update(dict.fromkeys(term.words))
        return list(seen)


def fold(text: str) -> str:
    """Lower case without accents: how the stores index words and how queries match them."""
    if text.isascii():  # the common case, and much faster: the same result
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def plain_words(text: str) -> str:
    """`text` as the words a query matches: folded, split as `parse_query` splits them.

    A store whose engine splits words its own way (PostgreSQL reads `F-35` as `f` and
    `-35`) indexes this text instead, so both engines see the words the query sees.
    """
    return " ".join(_WORD.findall(fold(text)))


def parse_query(text: str) -> Query:
    """The query in `text`; an empty or blank text is the empty query (everything)."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            f"the query is {len(text)} characters long; at most {MAX_QUERY_CHARS} are read",
            hint="search for the few words that matter",
        )
    clauses: list[list[Term]] = []
    excluded: list[Term] = []
    joining = False  # the token before was OR
    for match in _TOKEN.finditer(text):
        negated, quoted, closed, opening, closing, bare = match.groups()
        if opening or closing:
            raise QuerySyntaxError(
                "parentheses are not part of the search syntax",
                hint='write `a OR b` for either word, "…" for a phrase, -word to exclude',
            )
        if quoted is not None and not closed:
            raise QuerySyntaxError(
                f"the quote opened at character {match.start() + len(negated) + 1} is not closed",
                hint='close the phrase with a second ", or remove the quote',
            )
        if bare == "OR":
            if not clauses or joining:
                raise QuerySyntaxError(
                    "OR needs a word or phrase on each side",
                    hint="write `farmers OR yen`",
                )
            joining = True
            continue
        if bare == "AND":  # words are joined by AND anyway
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        term = _term(quoted if quoted is not None else bare, phrase=quoted is not None)
        if term is None:
            continue
        if negated:
            if joining:
                raise QuerySyntaxError(
                    "OR cannot join an excluded word",
                    hint="exclude words on their own: `farmers -subsidy`",
                )
            excluded.append(term)
        elif joining:
            clauses[-1].append(term)
            joining = False
        else:
            clauses.append([term])
        if sum(len(c) for c in clauses) + len(excluded) > MAX_QUERY_TERMS:
            raise QuerySyntaxError(
                f"the query has more than {MAX_QUERY_TERMS} words or phrases",
                hint="search for the few words that matter",
            )
    return _finished(clauses, excluded, joining)


def _finished(clauses: list[list[Term]], excluded: list[Term], joining: bool) -> Query:
    """The query read to its end, or why it cannot be searched."""
    if joining:
        raise QuerySyntaxError(
            "OR needs a word or phrase on each side", hint="write `farmers OR yen`"
        )
    if excluded and not clauses:
        raise QuerySyntaxError(
            "the query only excludes words: there is nothing to look for",
            hint="add a word to find, e.g. `farmers -subsidy`",
        )
    return Query(tuple(tuple(c) for c in clauses), tuple(excluded))


def _term(raw: str, phrase: bool) -> Term | None:
    """A term from a bare token or a quoted phrase; None when it holds no word."""
    prefix = not phrase and raw.endswith("*")
    if prefix:
        raw = raw.rstrip("*")
    words = tuple(_WORD.findall(fold(raw)))
    if not words:
        if prefix:
            raise QuerySyntaxError(
                "a * must follow the start of a word",
                hint=f"write at least {MIN_PREFIX} letters before it, e.g. `infla*`",
            )
        return None
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise QuerySyntaxError(
            f"the prefix `{raw}*` is too short: it would match most of the index",
            hint=f"write at least {MIN_PREFIX} letters before the *",
        )
    return Term(words, prefix)


# ---- rendering for the two full-text engines -------------------------------------------


def to_fts5(query: Query) -> str:
    """The query as an SQLite FTS5 MATCH expression (every word quoted: no syntax inside)."""

    def term(t: Term) -> str:
        return '"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")

    def clause(c: tuple[Term, ...]) -> str:
        return term(c[0]) if len(c) == 1 else "(" + " OR ".join(term(t) for t in c) + ")"

    must = " AND ".join(clause(c) for c in query.clauses)
    return must + "".join(f" NOT {term(t)}" for t in query.excluded)


def to_tsquery(query: Query) -> str:
    """The query as a PostgreSQL `to_tsquery('simple', ...)` text (words are \\w only)."""

    def term(t: Term) -> str:
        words = list(t.words)
        if t.prefix:
            words[-1] += ":*"
        joined = " <-> ".join(words)
        return f"({joined})" if len(words) > 1 else joined

    def clause(c: tuple[Term, ...]) -> str:
        return term(c[0]) if len(c) == 1 else "(" + " | ".join(term(t) for t in c) + ")"

    parts = [clause(c) for c in query.clauses] + [f"!{term(t)}" for t in query.excluded]
    return " & ".join(parts)
