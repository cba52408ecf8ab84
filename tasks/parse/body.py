"""Body items sorted into a draft's headings and paragraphs, shared by every format.

A parser reads its format's blocks into `Item`s; `apply_items` takes a leading
dateline, byline or date line off the top, makes headings of "h" items (and, for plain
text, of one-line blocks that `looks_like_heading` and are followed by a paragraph),
keeps the rest as paragraphs, and splits a dateline off the first paragraph.
"""

from __future__ import annotations

from tasks.parse.common import Draft, Item, collapse
from tasks.parse.datelines import is_byline, split_dateline, standalone_dateline
from tasks.parse.dates import DATE_ONLY, parse_date

#: a heading is at most this many words
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 120
#: endings that make a short line a sentence rather than a heading
_HEADING_BAD_END = frozenset(".!?\"”“:;,…'’")


def looks_like_heading(text: str) -> bool:
    """Short, one line, no closing sentence punctuation, starts like a title."""
    words = text.split()
    if not words or len(words) > HEADING_MAX_WORDS or len(text) > HEADING_MAX_CHARS:
        return False
    first, last = text[0], text[-1]
    if last in _HEADING_BAD_END:
        return False
    return (first.isalnum() or first in "‘“\"'¿¡") and any(c.isalpha() for c in text)


def apply_items(items: list[Item], draft: Draft, *, guess_headings: bool) -> None:
    """Sort body items into headings and paragraphs; pull out a leading dateline/byline."""
    items = [it for it in items if it.text]
    _take_leading_meta(items, draft)
    for index, item in enumerate(items):
        if (
            item.kind == "line" and guess_headings and _heading_here(items, index)
        ) or item.kind == "h":
            draft.headings.append(item.text)
            draft.heading_positions.append(len(draft.paragraphs))
        else:
            draft.paragraphs.append(item.text)
    if draft.dateline is None and draft.paragraphs:
        split = split_dateline(draft.paragraphs[0])
        if split:
            draft.dateline, draft.paragraphs[0] = split


def _take_leading_meta(items: list[Item], draft: Draft) -> None:
    """Remove a standalone dateline, byline or date line from the top of the body."""
    for _ in range(4):
        if not items or items[0].kind == "h":
            return
        text = items[0].text
        dateline = standalone_dateline(text) if draft.dateline is None else None
        if dateline:
            draft.dateline = dateline
        elif is_byline(text):
            draft.metadata.setdefault("byline", collapse(text))
        elif draft.published is None and DATE_ONLY.fullmatch(text):
            draft.published = parse_date(text)
        else:
            return
        items.pop(0)


def _heading_here(items: list[Item], index: int) -> bool:
    """A one-line block is a heading when it looks like one and a paragraph follows."""
    if not looks_like_heading(items[index].text) or index + 1 >= len(items):
        return False
    following = items[index + 1]
    return following.kind == "p" or (
        following.kind == "line" and not looks_like_heading(following.text)
    )
