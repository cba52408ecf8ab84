"""Markdown (``markdown``): block structure, title and headings of a Markdown article.

``# Title``, ``##`` headings (ATX or setext), optional front matter
(`tasks.parse.front_matter`). Inline syntax is stripped (`tasks.parse.markdown_inline`:
links keep their text, images are dropped); fenced code blocks are dropped, since code
is not article prose and only confuses the entity tagger. Quotes, list items and table
rows become paragraphs; rules, table delimiter rows, link reference definitions and
HTML comments are dropped.
"""

from __future__ import annotations

import re

from tasks.parse.body import apply_items, looks_like_heading
from tasks.parse.common import Draft, Item, collapse, join_wrapped
from tasks.parse.front_matter import read_front_matter
from tasks.parse.markdown_inline import markdown_inline
from tasks.parse.md_blocks import atx_heading, is_table_rule

_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_HR = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MD_ITEM = re.compile(r"\A\s*(?:[-*+•]|\d{1,9}[.)])\s+")
_QUOTE = re.compile(r"\A\s*(?:>\s?)+")
_REF_DEF = re.compile(r"\A {0,3}\[[^\]]+\]:\s+\S+.*")
_BOLD_LINE = re.compile(r"(\*\*|__)([^*_\n]{1,150})\1")
#: longer lines are paragraph text: no block-structure pattern is tried on them
STRUCTURE_MAX_CHARS = 1_000


def parse_markdown(content: str, source: str) -> Draft:
    """Markdown (see the module docstring)."""
    draft = Draft()
    body = read_front_matter(content, draft)
    items = _markdown_items(_strip_between(body, "<!--", "-->"))
    _markdown_title(items, draft)
    for item in items:
        if item.kind == "h1" or (item.kind == "p" and _bold_line(item.text)):
            item.kind = "h"
        item.text = markdown_inline(item.text)
    draft.title = markdown_inline(draft.title)
    apply_items(items, draft, guess_headings=False)
    return draft


def _markdown_title(items: list[Item], draft: Draft) -> None:
    """Take the title from the top: an H1 (or one repeating the front matter title), a bold line."""
    if draft.title:
        wanted = collapse(draft.title)
        index = next((i for i, it in enumerate(items) if collapse(it.text) == wanted), None)
        if index is not None and items[index].kind == "h1":
            items.pop(index)
        return
    if items and items[0].kind == "h1":
        draft.title = items.pop(0).text
        return
    if items and items[0].kind == "p" and _bold_line(items[0].text):
        draft.title = items.pop(0).text.strip("*_ ")
        return
    index = next((i for i, it in enumerate(items) if it.kind == "h1"), None)
    if index is not None:
        draft.title = items.pop(index).text


def _bold_line(text: str) -> bool:
    """A paragraph that is only bold text and reads like a heading."""
    match = _BOLD_LINE.fullmatch(text.strip())
    return match is not None and looks_like_heading(match[2].strip())


def _markdown_items(body: str) -> list[Item]:
    """Block structure of a Markdown body: "h1", "h" and "p" items (raw inline text)."""
    items: list[Item] = []
    buffer: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if buffer:
            items.append(Item("p", join_wrapped(buffer)))
            buffer.clear()

    for raw_line in body.split("\n"):
        if fence is not None:
            if raw_line.strip().startswith(fence):
                fence = None
            continue
        opening = _FENCE.match(raw_line)
        if opening:
            flush()
            fence = opening[1]
            continue
        line = _QUOTE.sub("", raw_line, count=1) if raw_line.lstrip().startswith(">") else raw_line
        if not line.strip():
            flush()
            continue
        if len(line) > STRUCTURE_MAX_CHARS:
            buffer.append(line.strip())
            continue
        setext = _SETEXT.fullmatch(line)
        if setext and buffer:
            items.append(Item("h1" if setext[1][0] == "=" else "h", join_wrapped(buffer)))
            buffer.clear()
            continue
        heading = atx_heading(line)
        if heading:
            flush()
            items.append(Item("h1" if heading[0] == 1 else "h", heading[1]))
        elif _HR.fullmatch(line) or is_table_rule(line) or _REF_DEF.fullmatch(line):
            flush()
        elif line.lstrip().startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            items.append(Item("p", " | ".join(c for c in cells if c)))
        elif bullet := _MD_ITEM.match(line):
            flush()
            buffer.append(line[bullet.end() :].strip())
        else:
            buffer.append(line.strip())
    flush()
    return items


def _strip_between(text: str, start: str, end: str) -> str:
    """`text` without any `start`...`end` spans (linear scan; an unclosed span runs to the end)."""
    if start not in text:
        return text
    out: list[str] = []
    position = 0
    while True:
        opening = text.find(start, position)
        if opening < 0:
            out.append(text[position:])
            break
        out.append(text[position:opening])
        closing = text.find(end, opening + len(start))
        if closing < 0:
            break
        position = closing + len(end)
    return "".join(out)
