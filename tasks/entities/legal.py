"""cleanco's table of legal forms, and how a name written with one is told and cut.

One table for every rule that needs legal forms: `orgs` makes a name ending in one an
organisation's (and joins or extends spans with it), `consistency` keeps such a name from
being a person's (`ends_in_legal_form`), and `linking` leaves it out of the organisation's
canonical name (`strip_legal_form`: `Apple Inc` and `Apple` are one entity).

The terms are compared as cleanco compares them (accents, case, dots and hyphens
ignored); how a term is written decides whether it counts (`strength`, see `orgs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cleanco import prepare_default_terms
from cleanco.clean import normalized, strip_punct
from cleanco.termdata import terms_by_country, terms_by_type

from tasks.entities.aliases import AliasTable
from tasks.entities.spans import FUNCTION_WORDS

#: lower-case words inside a multi-word legal form (`S.A. de C.V.`, `Sp. z o.o.`)
_PARTICLE = re.compile(r"&|and|[a-z]{1,3}\.?")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
#: a term cleanco writes as one word with one full stop at its end (`corp.`, `co.`)
_DOTTED_WORD = re.compile(r"(?<![^.\s])[^.\s]++\.")
_WORD = re.compile(r"\S+")
#: `plc`, `llc`, `ltd`: a term cleanco knows, written in small letters
_LOWER_ABBREVIATION = re.compile(r"[a-z]++\.?,?")


@dataclass(frozen=True, slots=True)
class LegalForms:
    """cleanco's terms as tuples of normalised words, and those it writes with a dot."""

    terms: frozenset[tuple[str, ...]]
    #: one-word terms cleanco writes with a full stop at the end (`corp.`, `co.`, `ltd.`)
    dotted: frozenset[str]
    firsts: frozenset[str]
    lasts: frozenset[str]
    longest: int


@lru_cache(maxsize=1)
def legal_forms() -> LegalForms:
    """cleanco's table of legal forms, once per process (a few ms, ~50 kB)."""
    terms = frozenset(tuple(str(w) for w in parts) for _, parts in prepare_default_terms())
    tables = (terms_by_type, terms_by_country)
    written = [str(t) for table in tables for ts in table.values() for t in ts]
    dotted = frozenset(normal(t) for t in written if _DOTTED_WORD.fullmatch(t))
    firsts, lasts = frozenset(t[0] for t in terms), frozenset(t[-1] for t in terms)
    return LegalForms(terms, dotted, firsts, lasts, max(len(t) for t in terms))


def legal_forms_version() -> str:
    """The data's version (for the tag version)."""
    from importlib import metadata

    return f"cleanco-{metadata.version('cleanco')}"


@lru_cache(maxsize=65536)
def normal(word: str) -> str:
    """A word as cleanco compares terms: accents and case folded, dots and hyphens gone."""
    return str(strip_punct(normalized(word)))


def strength(written: list[str], forms: LegalForms) -> str | None:
    """'strong', 'weak', 'short-caps' or None (no legal form) for how a term is written."""
    if len(written) > 1:  # Pty Ltd, & Co, S.A. de C.V., Sp. z o.o.
        main = [w for w in written if not _PARTICLE.fullmatch(w)]
        if main and all(w[:1].isupper() or w[:1] == "&" or _dotted(w) for w in main):
            return "strong"
        return None
    word = written[0]
    letters = normal(word)
    if _dotted(word):
        return "strong"  # S.A., N.V., d.o.o., a.s.
    if not word[:1].isupper():
        return None
    if _INNER_CAPITAL.search(word):
        return "strong"  # GmbH, SpA, KGaA
    if word.isupper() and len(letters) >= 2:
        return "strong" if len(letters) > 3 else "short-caps"
    if word.endswith(".") and letters in forms.dotted:
        return "strong"  # Inc., Corp., Co.
    if len(letters) >= 4:
        return "strong"  # Corp, Limited, Company
    if len(letters) == 3 or letters in forms.dotted:
        return "weak"  # Inc, Ltd, Teo; Co
    return None


def _dotted(word: str) -> bool:
    """A full stop inside the word: an abbreviation of several words (`S.A.`, `d.o.o.`)."""
    return "." in word.rstrip(".")


def term_at_end(written: list[str], forms: LegalForms) -> int:
    """How many of the last words of `written` are a legal form (0: none)."""
    if len(written) < 2 or normal(written[-1]) not in forms.lasts:
        return 0
    for size in range(min(forms.longest, len(written) - 1), 0, -1):
        if tuple(normal(w) for w in written[-size:]) in forms.terms:
            return size
    return 0


def keeps_dot(word: str, forms: LegalForms) -> bool:
    """`Corp.` and `S.A.` keep their full stop; `AG.` at a sentence's end does not."""
    return _dotted(word) or normal(word) in forms.dotted


def ends_in_legal_form(name: str) -> bool:
    """Does `name` (as written) end in a legal form written as one (`Acme Ltd`, `Vale SA`)?

    The text-free test used against person evidence: short capitals count here too.
    """
    forms = legal_forms()
    written = name.split()
    size = term_at_end(written, forms)
    return bool(size) and strength(written[-size:], forms) is not None


def is_name_of_its_own(word: str, aliases: AliasTable | None) -> bool:
    """`UK`, `EU`, `VAT`: terms of cleanco's table that the alias table knows as names."""
    return aliases is not None and aliases.get(word) is not None


def strip_legal_form(name: str, aliases: AliasTable | None = None) -> str:
    """`name` without its trailing legal forms, for an organisation's canonical name:
    `Apple Inc.` and `Apple, Inc.` are `Apple`, `Acme Holdings Co, Ltd.` is `Acme
    Holdings`, `Enel SpA` is `Enel`, `Krka d.d.` is `Krka`.

    A term counts when it is written as a legal form (`strength`, as for
    `ends_in_legal_form`) or as a lower-case abbreviation of three letters or more
    (`Barclays plc`), and is not a name the alias table knows (`Amazon UK`). The name is
    kept whole when nothing but legal forms or function words would be left (`Inc Ltd`,
    `The Co`); a one-word name (`AG`) is never cut.
    """
    forms = legal_forms()
    tail = name.rsplit(None, 1)
    if len(tail) < 2 or normal(tail[-1]) not in forms.lasts:
        return name  # the common case: no legal form at the end (as `term_at_end` tells)
    found = [(m.start(), m.group()) for m in _WORD.finditer(name)]
    written = [word for _, word in found]
    kept = len(written)
    for _ in range(4):  # `Co, Ltd.`, `Pty Ltd`: one or two terms, maybe several words each
        size = term_at_end(written[:kept], forms)
        if not size or not _strippable(written[kept - size : kept], forms, aliases):
            break
        kept -= size
    if kept == len(written):
        return name
    rest = written[:kept]
    if all(normal(w) in FUNCTION_WORDS or (normal(w),) in forms.terms for w in rest):
        return name
    start, last = found[kept - 1]
    return name[: start + len(last)].rstrip(",") or name


def _strippable(written: list[str], forms: LegalForms, aliases: AliasTable | None) -> bool:
    if len(written) == 1 and is_name_of_its_own(written[0], aliases):
        return False
    if strength(written, forms) is not None:
        return True
    return (
        all(_LOWER_ABBREVIATION.fullmatch(w) for w in written)
        and len(normal("".join(written))) >= 3
    )
