"""The draft every format parser fills, and the text helpers all of them share.

A parser turns its format into a `Draft` (title, date, dateline, headings, paragraphs,
url, language, metadata) made of body `Item`s; `tasks.parse.parse_article` normalises
the draft into an `Article`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_ODD_BREAKS = re.compile("[\x0b\x0c\u2028\u2029]")


@dataclass
class Draft:
    """An article under construction."""

    title: str = ""
    published: str | None = None
    dateline: str | None = None
    headings: list[str] = field(default_factory=list)
    heading_positions: list[int] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    url: str | None = None
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Item:
    """A body block: `kind` is "h" (heading), "p" (paragraph) or "line" (one-line block)."""

    kind: str
    text: str


def clean_text(text: str) -> str:
    """Unify line endings and drop NULs, ANSI escapes and other control characters."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if _ODD_BREAKS.search(text):
        text = _ODD_BREAKS.sub(lambda m: "\n\n" if m[0] == "\u2029" else "\n", text)
    return _CONTROL.sub("", text)


def collapse(text: str) -> str:
    """Whitespace runs to one space, ends stripped."""
    return " ".join(text.split())


def join_wrapped(lines: list[str]) -> str:
    """Hard-wrapped lines as one line, re-joining words hyphenated across a break."""
    out = lines[0]
    for line in lines[1:]:
        if out.endswith("-") and out[-2:-1].isalpha() and line[:1].islower():
            out += line
        else:
            out += " " + line
    return out
