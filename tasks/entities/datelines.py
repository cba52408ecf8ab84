"""Wire datelines: the all-caps place that opens a story is a place.

`LONDON 1996-12-06`, `MUNICH, Germany 1996-12-06`, a bare `ANKARA` line near
the top, or `WASHINGTON (Reuters) -` at the start of a paragraph. The small
model often calls these ORG or misses them; the convention is fixed, so the
place (and the region after its comma) is labelled GPE, or with the alias
table's label when the table knows the name (`UNITED NATIONS` is an ORG).
"""

from __future__ import annotations

import re

from tasks.entities.aliases import AliasTable
from tasks.entities.spans import Span

_PLACE = r"[A-Z][A-Z.'\-]+(?: [A-Z][A-Z.'\-]+){0,3}"
_REGION = r"[A-Z][\w.'\-]*(?: [A-Z][\w.'\-]*){0,3}"
_DATELINE = re.compile(
    rf"^(?P<place>{_PLACE})(?: ?/ ?(?P<second>{_PLACE}))?(?:, (?P<region>{_REGION}))?"
    rf"(?:(?: \d{{4}}-\d{{2}}-\d{{2}})?[ \t]*$"  # LONDON 1996-12-06
    rf"|,? \([A-Za-z][\w .&]{{0,30}}\) ?[-–—]"  # WASHINGTON (Reuters) -
    rf"|(?P<dash> [-–—] )(?=[^\n]*[a-z]))",  # ANKARA - Turkish ...
    re.MULTILINE,
)
#: `LONDON 1996-12-06` run into the text: a capitalised place right before an ISO date
#: (the lookbehind follows the first capital, so a search skips straight to capitals)
_INLINE = re.compile(
    r"(?P<place>[A-Z](?<![\w,.'\-][A-Z])[A-Z'\-]+(?: [A-Z][A-Z'\-]+){0,2})"
    rf"(?:, (?P<region>{_REGION}))? \d{{4}}-\d{{2}}-\d{{2}}\b"
)
#: a bare place line counts only this close to the top of the text
_BARE_LINES = 6


def _label(name: str, aliases: AliasTable) -> str:
    known = aliases.get(name)
    return known.label if known else "GPE"


def dateline_spans(text: str, aliases: AliasTable) -> list[Span]:
    """Spans for the dateline places of `text` (labels fixed)."""
    found: list[Span] = []
    for match in _INLINE.finditer(text):
        if match.start() and text[match.start() - 1] != "\n":
            for group in ("place", "region"):
                if match.group(group):
                    start, end = match.span(group)
                    found.append(Span(start, end, _label(match.group(group), aliases), fixed=True))
    for match in _DATELINE.finditer(text):
        place = match.group("place")
        bare = match.group("region") is None and match.group().strip() == place
        if bare and (len(place.split()) > 3 or text.count("\n", 0, match.start()) >= _BARE_LINES):
            continue
        if (
            match.group("dash") and match.start() == 0
        ):  # `FEATURE - Singapore sees ...` is a headline
            continue
        for group in ("place", "second", "region"):
            if match.group(group):
                start, end = match.span(group)
                found.append(Span(start, end, _label(match.group(group), aliases), fixed=True))
    return found


def apply_datelines(text: str, spans: list[Span], aliases: AliasTable) -> list[Span]:
    """Replace whatever the model said about dateline places by the dateline spans."""
    places = dateline_spans(text, aliases)
    if not places:
        return spans
    first, last = min(p.start for p in places), max(p.end for p in places)
    kept = [
        s
        for s in spans
        if s.end <= first or s.start >= last or not any(s.overlaps(p.start, p.end) for p in places)
    ]
    return kept + places
