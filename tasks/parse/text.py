"""The plain-text wire format (``text``), and plain-text bodies of other formats.

Optional header lines at the top (``date 2025-03-24 Title``, ``Date: March 24, 2025``,
``Published: ...``, ``Title: ...``, ``By ...``), a title line, an optional dateline
(``ANKARA`` on its own line, or ``WASHINGTON (Reuters) -`` opening the first
paragraph), then paragraphs separated by blank lines (hard-wrapped lines are joined).
Short one-line blocks without closing punctuation that are followed by a paragraph are
section headings. `body_items` reads a JSON object's text field the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tasks.parse.body import apply_items, looks_like_heading
from tasks.parse.common import Draft, Item, join_wrapped
from tasks.parse.datelines import is_byline, standalone_dateline
from tasks.parse.dates import DATE_LINE, DATE_ONLY, set_published

#: endings of a line that closes a sentence (for line-per-paragraph text)
_SENTENCE_END = frozenset(".!?\"”’'…)]»")
#: hard-wrapped lines are never longer than this
_WRAP_MAX = 150

_KEY_LINE = re.compile(
    r"\A\s*+(?P<key>title|headline|byline|author|source|url|link|dateline|language|lang|slug|"
    r"category|keywords)\s*+:\s*+(?P<value>\S.{0,120})",
    re.I,
)
_BULLET = re.compile(r"\A\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")


def parse_text(content: str, source: str) -> Draft:
    """The plain-text wire format (see the module docstring)."""
    draft = Draft()
    lines = content.split("\n")
    start = _read_header(lines, draft)
    blocks = _blocks(lines[start:])
    if not draft.title:
        _take_title(blocks, draft)
    _consume_meta_lines(blocks, draft)
    items: list[Item] = []
    for block in blocks:
        items.extend(_block_items(block, split_lines=False))
    apply_items(items, draft, guess_headings=True)
    return draft


def body_items(text: str, *, split_lines: bool) -> list[Item]:
    """Blank-line separated blocks as items (lines of a block joined unless split)."""
    items: list[Item] = []
    for block in _blocks(text.split("\n")):
        items.extend(_block_items(block, split_lines=split_lines))
    return items


def _read_header(lines: list[str], draft: Draft) -> int:
    """Consume top-of-file header lines (date, title, source...); return the body's start."""
    index = 0
    seen = 0
    while index < len(lines) and seen < 8:
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if not _header_line(line, draft):
            break
        seen += 1
        index += 1
    return index


def _header_line(line: str, draft: Draft) -> bool:
    """Apply one header line to the draft; False when it is not a header line."""
    if len(line) > 400:
        return False
    dated = DATE_LINE.fullmatch(line)
    if dated:
        rest = dated["rest"].strip(" \t|–—-:")
        if rest and draft.title:
            return False  # a sentence that happens to start with a date
        set_published(draft, dated["date"])
        draft.title = rest or draft.title
        return True
    if draft.published is None and DATE_ONLY.fullmatch(line):
        set_published(draft, line)
        return True
    keyed = _KEY_LINE.fullmatch(line)
    if keyed:
        _set_field(draft, keyed["key"].lower(), keyed["value"].strip())
        return True
    return False


def _set_field(draft: Draft, key: str, value: str) -> None:
    """A named header field (``Title: ...``) onto the draft or its metadata."""
    if key in ("title", "headline"):
        draft.title = draft.title or value
    elif key in ("url", "link"):
        draft.url = draft.url or value
    elif key == "dateline":
        draft.dateline = draft.dateline or value
    elif key in ("language", "lang"):
        draft.language = value
    else:
        draft.metadata.setdefault("author" if key == "byline" else key, value)


def _blocks(lines: Iterable[str]) -> list[list[str]]:
    """Groups of non-blank lines (stripped), split at blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped:
            current.append(stripped)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _take_title(blocks: list[list[str]], draft: Draft) -> None:
    """The first line is the title when it stands alone or is clearly shorter than the body."""
    if not blocks:
        return
    first = blocks[0]
    line = first[0]
    words = len(line.split())
    if len(first) == 1:
        alone = len(blocks) == 1
        if (alone and line[-1] not in _SENTENCE_END and words <= 30) or (
            not alone and (words <= 15 or (words <= 30 and line[-1] not in ".;:,"))
        ):
            draft.title = line
            blocks.pop(0)
        return
    longest_rest = max(len(rest) for rest in first[1:])
    if words <= 20 and line[-1] not in ".,;:" and len(line) < 0.75 * longest_rest:
        draft.title = line
        first.pop(0)


def _consume_meta_lines(blocks: list[list[str]], draft: Draft) -> None:
    """Date, byline and dateline lines just below the title."""
    for _ in range(6):
        if not blocks:
            return
        line = blocks[0][0]
        dateline = standalone_dateline(line) if draft.dateline is None else None
        if dateline:
            draft.dateline = dateline
        elif is_byline(line):
            draft.metadata.setdefault("byline", line)
        elif not _header_line(line, draft):
            return
        blocks[0].pop(0)
        if not blocks[0]:
            blocks.pop(0)


def _block_items(lines: list[str], *, split_lines: bool) -> list[Item]:
    """One block as items: one per line, or one joined (hard-wrapped) paragraph."""
    if all(not any(c.isalnum() for c in line) for line in lines):
        return []  # separators such as "* * *" or "###"
    if len(lines) == 1:
        return [_line_item(lines[0])]
    if split_lines or _one_paragraph_per_line(lines):
        return [_line_item(line) for line in lines]
    if _leading_heading(lines):
        return [Item("line", lines[0]), *_block_items(lines[1:], split_lines=False)]
    return [Item("p", join_wrapped(lines))]


def _leading_heading(lines: list[str]) -> bool:
    """A heading line glued to the paragraph below it (clearly shorter than the wrap width)."""
    first, longest = lines[0], max(len(line) for line in lines[1:])
    return looks_like_heading(first) and len(first) < 0.6 * longest and lines[1][0].isupper()


def _one_paragraph_per_line(lines: list[str]) -> bool:
    """True when the lines are paragraphs or list items, not a hard-wrapped paragraph."""
    if max(len(line) for line in lines) > _WRAP_MAX:
        return True
    if all(_BULLET.match(line) for line in lines):
        return True
    ended = sum(line[-1] in _SENTENCE_END for line in lines)
    if ended == len(lines):
        return True
    others = (line for line in lines if line[-1] not in _SENTENCE_END)
    return ended >= 2 and ended >= 0.6 * len(lines) and all(looks_like_heading(o) for o in others)


def _line_item(line: str) -> Item:
    """A one-line block; a list item (bullet stripped) is never a heading."""
    match = _BULLET.match(line)
    if match and match.end() < len(line):
        return Item("p", line[match.end() :])
    return Item("line", line)
