"""Clean-up of single mentions: possessives, punctuation, a leading `the`, title fragments."""

from __future__ import annotations

import re

from tasks.entities.aliases import AliasTable
from tasks.entities.spans import FUNCTION_WORDS, NAME_LABELS, Span, word_set

_APOSTROPHES = "'’"
_TRAILING = set(",;:!?\"”“‘’')]}»>*")
_LEADING = set("\"“”‘’'([{«<*-–—")
_ABBREVIATIONS = word_set(
    "inc corp co cos ltd jr sr st bros mt ft gen gov col lt sgt rep sen dr mr mrs ms prof no dept"
    " univ assn"
)
_INITIALS = re.compile(r"\A(?:[^\W\d_]\.)+[^\W\d_]?\.?$")
_SENTENCE_END = set('.!?:;"“”\n')
#: titles whose "of ..." complement is a portfolio, not an organisation (`Secretary of State`)
_TITLE_OF = re.compile(
    r"(?:Secretary|Secretary-General|Undersecretary|Under Secretary|Minister|Commissioner|"
    r"Chancellor|"
    r"Attorney General|Deputy Secretary|Assistant Secretary)\s+(?:of|for)\s+(?:the\s+)?$"
)
#: heads whose "of ..." complement does name an organisation (`Ministry of Finance`)
_BODY_OF = re.compile(
    r"(?:Ministry|Department|Dept\.?|Office|Bureau|Secretariat)\s+(?:of|for)\s+(?:the\s+)?$"
)
PORTFOLIOS = word_set(
    """
    state defense defence interior foreign affairs home finance health justice education energy
    agriculture commerce labor labour transportation transport treasury homeland security veterans
    housing trade economy exchequer culture tourism environment industry war navy army information
    communications development planning
    """
)
_NO_ARTICLE_STRIP = frozenset({"WORK_OF_ART"})
_FRAGMENT_LABELS = frozenset({"ORG", "GPE", "LOC", "NORP", "FAC"})
_ARTICLES = ("the ", "the\n", "The ", "THE ")


def _strip_possessive(surface: str) -> str:
    if (
        len(surface) > 2
        and surface[-1] in "sS"
        and surface[-2] in _APOSTROPHES
        and surface[-3].isalnum()
    ):
        return surface[:-2]
    if len(surface) > 1 and surface[-1] in _APOSTROPHES:
        return surface[:-1]
    return surface


def _keeps_period(surface: str) -> bool:
    last = surface.rsplit(None, 1)[-1]
    if _INITIALS.match(last):
        return True
    return last[:-1].casefold() in _ABBREVIATIONS


def _trim(surface: str) -> tuple[int, int]:
    """(cut from the left, cut from the right) that removes punctuation and possessives."""
    left, right = 0, len(surface)
    changed = True
    while changed and left < right:
        changed = False
        current = surface[left:right]
        stripped = current.strip()
        if stripped != current:
            left += len(current) - len(current.lstrip())
            right -= len(current) - len(current.rstrip())
            changed = True
            continue
        without = _strip_possessive(current)
        if without != current:
            right -= len(current) - len(without)
            changed = True
        elif current[-1] in _TRAILING or (current[-1] == "." and not _keeps_period(current)):
            right -= 1
            changed = True
        elif current[0] in _LEADING:
            left += 1
            changed = True
    return left, right


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END or before.endswith("\n")


def _article_length(text: str, span: Span, aliases: AliasTable) -> int:
    surface = span.text(text)
    if span.label in _NO_ARTICLE_STRIP or span.label not in NAME_LABELS:
        return 0
    if surface.startswith(("the ", "the\n")):
        return 4
    if surface.startswith("The ") and len(surface) > 4:
        rest = surface[4:]
        if _starts_sentence(text, span.start) or rest in aliases or rest.isupper():
            return 4
    if surface.startswith("THE ") and len(surface) > 4:
        return 4
    return 0


def _untrimmed(surface: str) -> bool:
    """The common case: nothing to trim (no punctuation, possessive or article at the ends)."""
    return (
        surface[:1].isalnum()
        and surface[-1:].isalnum()
        and surface[-2:-1] not in _APOSTROPHES
        and not surface.startswith(_ARTICLES)
    )


def is_clean(surface: str) -> bool:
    """Does `clean_span` keep a span with this surface as it is, wherever it stands?"""
    return _untrimmed(surface) and surface.casefold() not in FUNCTION_WORDS


def clean_span(text: str, span: Span, aliases: AliasTable) -> Span | None:
    """Trim a mention to the name itself; None when nothing name-like is left."""
    surface = text[span.start : span.end]
    if _untrimmed(surface):
        return None if surface.casefold() in FUNCTION_WORDS else span
    for _ in range(3):
        left, right = _trim(span.text(text))
        span = Span(span.start + left, span.start + right, span.label, span.fixed)
        if span.end <= span.start:
            return None
        cut = _article_length(text, span, aliases)
        if not cut:
            break
        span = Span(span.start + cut, span.end, span.label, span.fixed)
    surface = span.text(text)
    if not any(ch.isalnum() for ch in surface) or surface.casefold() in FUNCTION_WORDS:
        return None
    return span


def may_be_title_fragment(surface: str, label: str) -> bool:
    """Is a mention a portfolio (`State`) that `fix_title_fragment` must look before?"""
    if label not in _FRAGMENT_LABELS:
        return False
    folded = surface.casefold().split()
    return PORTFOLIOS.issuperset(folded) or " ".join(folded) in PORTFOLIOS


def fix_title_fragment(text: str, span: Span) -> Span | None:
    """`State` in `Secretary of State` is dropped; `Ministry of Finance` is kept whole."""
    if not may_be_title_fragment(text[span.start : span.end], span.label):
        return span
    before = text[max(0, span.start - 40) : span.start]
    if _TITLE_OF.search(before):
        return None
    found = _BODY_OF.search(before)
    if found:
        return Span(span.start - (len(before) - found.start()), span.end, "ORG", span.fixed)
    return span
