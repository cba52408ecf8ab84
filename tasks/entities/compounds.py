"""Hyphen and slash compounds of known names split into their parts.

`Fidan-Rubio talks` gives two PERSON mentions and `Ukraine-Russia war` two
GPE mentions, because every part is a name the document (or the alias
table) already knows. `F-35`, `S-400` and `Jean-Pierre` stay whole: their
parts are not known names, and a compound that is itself a known name
(`Bosnia-Herzegovina`, `Guinea-Bissau`) is never split.
"""

from __future__ import annotations

import re

from tasks.entities.aliases import AliasTable
from tasks.entities.consistency import Names
from tasks.entities.spans import STOP_FORMS, Span

#: never starts inside a word or after a full stop (`A.A.A.` would be rescanned from each letter)
_COMPOUND = re.compile(r"(?<![\w\-/–.])[^\W\d_][\w.]*+(?:[\-/–][^\W\d_][\w.]*+)+")
_SEPARATOR = re.compile(r"[\-/–]")
_INITIALISM = re.compile(r"(?:[A-Z]\.)+")  # `U.S.` keeps its full stop; `Rubio.` does not


def _part_label(part: str, names: Names, aliases: AliasTable) -> str | None:
    if len(part) < 2 or not part[0].isupper() or part.casefold() in STOP_FORMS:
        return None
    label = names.label_of(part)
    if label is not None:
        return label
    known = aliases.get(part)
    return known.label if known else None


def _replaceable(text: str, span: Span, start: int, end: int) -> bool:
    """A mention overlapping the compound may go if it adds no other capitalised word."""
    outside = text[span.start : max(span.start, start)] + " " + text[min(span.end, end) : span.end]
    return not any(word[:1].isupper() for word in outside.split())


def split_compounds(text: str, spans: list[Span], names: Names, aliases: AliasTable) -> list[Span]:
    """Replace compounds of known names (and mentions that are such a compound) by their parts."""
    result = list(spans)
    for match in _COMPOUND.finditer(text):
        start, end = match.span()
        compound = match.group()
        if compound in aliases:
            continue
        parts: list[tuple[int, int, str]] = []
        offset = start
        for piece in _SEPARATOR.split(compound):
            piece_end = offset + len(piece)
            stripped = piece if _INITIALISM.fullmatch(piece) else piece.rstrip(".")
            label = _part_label(stripped, names, aliases)
            if label is None:
                break
            parts.append((offset, offset + len(stripped), label))
            offset = piece_end + 1
        else:
            overlapping = [s for s in result if s.overlaps(start, end)]
            if not all(_replaceable(text, s, start, end) for s in overlapping):
                continue
            result = [s for s in result if not s.overlaps(start, end)]
            result += [Span(a, b, label, fixed=True) for a, b, label in parts]
    return result
