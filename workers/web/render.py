"""Turning stored strings into HTML that cannot run: every piece escaped, markup added after.

Nothing from the store reaches a page unescaped. Snippets carry `<mark>` tags from the
store; the store's escaping of the text around them is not relied on: each piece between
marks is unescaped once (so text the store escaped is not escaped twice) and escaped
again here, and only balanced `<mark>`/`</mark>` tags are put back.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape

from tasks.models import Mention

_MARKS = re.compile(r"(</?mark>)", re.IGNORECASE)
_LABEL = re.compile(r"[^A-Za-z0-9_]")
#: labels with a colour of their own in style.css; any other label gets `ent-OTHER`
COLOURED = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW"}
)


def safe_snippet(snippet: str) -> Markup:
    """A snippet with its highlights as <mark> and everything else escaped."""
    out: list[str] = []
    open_mark = False
    for piece in _MARKS.split(snippet.replace("\n", " ")):
        tag = piece.lower()
        if tag == "<mark>":
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif tag == "</mark>":
            if open_mark:
                out.append("</mark>")
                open_mark = False
        elif piece:
            out.append(str(escape(html.unescape(piece))))
    if open_mark:
        out.append("</mark>")
    return Markup("".join(out))


def label_class(label: str) -> str:
    """The CSS class of an entity label: `ent-PERSON`, or `ent-OTHER` for a label without
    a colour (never anything but letters, digits and `_`)."""
    clean = _LABEL.sub("", label.upper())
    return f"ent-{clean}" if clean in COLOURED else "ent-OTHER"


def entity_href(entity_id: str) -> str:
    """The entity page of an id (quoted whole: ids hold `:` and may hold `/`)."""
    return "/entities/" + quote(entity_id, safe="")


def _mention_html(text: str, mention: Mention) -> str:
    title = f"{mention.label}: {mention.canonical or mention.text}"
    inner = escape(text)
    cls = f"ent {label_class(mention.label)}"
    if not mention.entity_id:
        return f'<span class="{cls}" title="{escape(title)}">{inner}</span>'
    href = escape(entity_href(mention.entity_id))
    return f'<a class="{cls}" href="{href}" title="{escape(title)}">{inner}</a>'


def highlight_text(text: str, mentions: list[Mention]) -> list[Markup]:
    """The text's paragraphs (split at blank lines), each mention a link to its entity page.

    Mentions are taken in order of their offsets; one that overlaps the one before it, or
    falls outside the text, is left out (the text itself is always shown whole).
    """
    paragraphs: list[Markup] = []
    pos = 0
    spans = sorted(
        (m for m in mentions if 0 <= m.start < m.end <= len(text)), key=lambda m: m.start
    )
    for block in text.split("\n\n"):
        start, end = pos, pos + len(block)
        pos = end + 2
        parts: list[str] = []
        cursor = start
        for m in spans:
            if m.start < cursor or m.end > end:
                continue
            parts.append(str(escape(text[cursor : m.start])))
            parts.append(_mention_html(text[m.start : m.end], m))
            cursor = m.end
        parts.append(str(escape(text[cursor:end])))
        paragraphs.append(Markup("".join(parts)))
    return paragraphs


@dataclass(frozen=True)
class Bar:
    """One bar of a server-rendered chart: what it counts, and its height in percent."""

    value: str
    count: int
    percent: float


def bars(counts: list[tuple[str, int]]) -> list[Bar]:
    """Bars in the order of their values (months or days sort as text), scaled to the
    highest count."""
    top = max((c for _, c in counts), default=0) or 1
    return [Bar(v, c, round(100.0 * c / top, 1)) for v, c in sorted(counts)]
