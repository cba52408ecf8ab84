"""Hyphen and slash compounds of known names split into their parts.

`Fidan-Rubio talks` gives two PERSON mentions and `Ukraine-Russia war` two
GPE mentions, because every part is a name the document (or the alias
table) already knows. `F-35`, `S-400` and `Jean-Pierre` stay whole: their
parts are not known names, and a compound that is itself a known name
(`Bosnia-Herzegovina`, `Guinea-Bissau`) is never split.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tasks.entities.aliases import AliasTable
from tasks.entities.consistency import Names
from tasks.entities.spans import STOP_FORMS, Span

#: never starts inside a word or after a full stop (`A.A.A.` would be rescanned from each letter)
_COMPOUND = re.compile(r"(?<![\w\-/–.])[^\W\d_][\w.]*+(?:[\-/–][^\W\d_][\w.]*+)+")
_SEPARATOR = re.compile(r"[\-/–]")
_INITIALISM = re.compile(r"(?:[A-Z]\.)+")  # `U.S.` keeps its full stop; `Rubio.` does not
#: a separator a compound's next part starts after, and the run of word characters, dots
#: and separators around it (a compound starts where such a run starts)
_SEPARATOR_HIT = re.compile(r"[\-/–](?=[^\W\d_])")
_RUN = re.compile(r"[\w.\-/–]+")
_RUN_CHAR = re.compile(r"[\w.\-/–]")


def compounds(text: str) -> Iterator[re.Match[str]]:
    """The matches of `_COMPOUND.finditer(text)`, found from the (rare) separators.

    A compound lies inside one run of `[\\w.\\-/–]` and can only start where the run
    starts, so only the runs holding a separator before a letter are tried, once each.
    """
    run_end = 0
    for hit in _SEPARATOR_HIT.finditer(text):
        position = hit.start()
        if position < run_end:
            continue
        start = position
        while start > 0 and _RUN_CHAR.match(text, start - 1):
            start -= 1
        run = _RUN.match(text, position)  # never None: the separator itself is in the run
        run_end = run.end() if run is not None else position + 1
        found = _COMPOUND.match(text, start)
        if found is not None:
            yield found


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
    for match in compounds(text):
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
