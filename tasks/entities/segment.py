"""Model spans that run over several names cut into the names they contain.

The small model glues neighbours together in lists, tables and headlines:
`Bochum 2 Bayer Leverkusen 2`, `Willem II Tilburg 2 (Konterman`,
`Simona de Logu\\nRIO DE`, `FEATURE - Singapore`. A name never crosses a
line break, a bracket, a spaced dash or a semicolon, and a number standing
alone between words separates two names (except in organisation names that
start with one, `1860 Munich`, or carry a club number, `Schalke 04`). Person
titles in front of a name are not part of it (`Defender Hassan Abbas`), and
an "organisation" that is a title plus a full name is a person
(`General Antoine Lahd`).
"""

from __future__ import annotations

import re

from tasks.entities.spans import ORG_WORDS, TITLES, Span

#: a leading blank run is taken whole and only from its start (`(?<!\s)`, possessive), so a
#: search through a long blank run that ends in no break costs one pass, not one per blank
_BREAKS = re.compile(r"\n|(?<!\s)(?:\s*+[()\[\]]\s*|\s++[-–—]+\s+|\s*+;\s*|\s++[|/]\s+)|:\s+")
_LINE_BREAKS = re.compile(r"(?<![^\S\n])[^\S\n]*+\n\s*")
_BRACKETS = re.compile(r"(?<![^\S\n])[^\S\n]*+[\n()\[\]]\s*")
_NUMBER = re.compile(r"(?<!\S)\d[\d,.:/\-]*(?:st|nd|rd|th)?(?![^\s,;:)])")
#: labels whose names may contain brackets, colons or dashes (titles of works, laws, products)
_TITLE_LIKE = frozenset({"WORK_OF_ART", "LAW", "PRODUCT", "EVENT"})
_NUMBER_SPLIT_LABELS = frozenset({"PERSON", "GPE", "LOC", "NORP", "FAC", "ORG"})
_TRIM_LOWER_LABELS = frozenset({"PERSON", "GPE", "LOC", "NORP", "FAC", "ORG"})
_WORD = re.compile(r"\S+")
_SEGMENTED = _NUMBER_SPLIT_LABELS | _TITLE_LIKE | {"LANGUAGE"}
#: characters that may separate two names inside one model span
_SPECIAL = re.compile(r"[\n()\[\];:|/\d]|\s[-–—]")


def _pieces(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        if match.start() > cursor:
            pieces.append((cursor, match.start()))
        cursor = max(cursor, match.end())
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _number_pieces(text: str, start: int, end: int, label: str) -> list[tuple[int, int]]:
    if label not in _NUMBER_SPLIT_LABELS:
        return [(start, end)]
    numbers = [m for m in _NUMBER.finditer(text, start, end)]
    if not numbers:
        return [(start, end)]
    if label == "ORG":
        numbers = [m for m in numbers if m.start() != start and not m.group().startswith("0")]
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in numbers:
        if match.start() > cursor:
            pieces.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _trim_lowercase_tail(text: str, start: int, end: int, label: str) -> int:
    """New end without trailing all-lowercase words (`Conservative party` -> `Conservative`)."""
    if label not in _TRIM_LOWER_LABELS:
        return end
    words = list(_WORD.finditer(text, start, end))
    while len(words) > 1 and words[-1].group().isalpha() and words[-1].group().islower():
        words.pop()
    return words[-1].end() if words else end


def _strip_titles(text: str, span: Span) -> Span:
    """Drop leading titles from a person; turn `General Antoine Lahd` (ORG) into the person."""
    if span.label not in {"PERSON", "ORG"}:
        return span
    words = list(_WORD.finditer(text, span.start, span.end))
    index = 0
    while index < len(words) - 1 and words[index].group().rstrip(".").casefold() in TITLES:
        index += 1
    if index == 0:
        return span
    rest = [w.group() for w in words[index:]]
    if span.label == "ORG":
        if len(rest) < 2 or not all(w[:1].isupper() for w in rest):
            return span
        if any(w.rstrip(".").casefold() in ORG_WORDS for w in rest):
            return span
        return Span(words[index].start(), span.end, "PERSON", span.fixed)
    return Span(words[index].start(), span.end, span.label, span.fixed)


def is_one_name(surface: str, label: str) -> bool:
    """The common case: nothing to cut, so `segment` keeps the span as it is, wherever it
    stands (`surface` must hold more than blanks)."""
    return label not in _SEGMENTED or (
        not _SPECIAL.search(surface)
        and not surface.rsplit(None, 1)[-1].islower()
        and (
            label not in {"PERSON", "ORG"}
            or surface.split(" ", 1)[0].rstrip(".").casefold() not in TITLES
        )
    )


def segment(text: str, span: Span) -> list[Span]:
    """The names inside one model span (usually just the span itself)."""
    surface = text[span.start : span.end]
    if is_one_name(surface, span.label):
        return [span]
    breaks = _BREAKS
    if span.label in _TITLE_LIKE:
        balanced = surface.count("(") == surface.count(")") and surface.count("[") == surface.count(
            "]"
        )
        breaks = _LINE_BREAKS if balanced else _BRACKETS
    result: list[Span] = []
    for a, b in _pieces(text, span.start, span.end, breaks):
        for c, d in _number_pieces(text, a, b, span.label):
            d = _trim_lowercase_tail(text, c, d, span.label)
            piece = text[c:d]
            if span.label in _TRIM_LOWER_LABELS and not any(ch.isupper() for ch in piece):
                continue
            result.append(_strip_titles(text, Span(c, d, span.label, span.fixed)))
    return result
