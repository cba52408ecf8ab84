"""HTML (``html``): the article of a page, or of an HTML fragment inside another format.

Main-content extraction with trafilatura (`tasks.parse.html_trafilatura`); lxml
(`tasks.parse.html_lxml`), then the page's visible text (`tasks.parse.html_text`), when
an extraction finds nothing, is a stub of the page, or the page is too large for
trafilatura. A page with no visible text is refused.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tasks.errors import EmptyDocument
from tasks.parse.body import apply_items
from tasks.parse.common import Draft, Item, collapse
from tasks.parse.html_lxml import lxml_draft
from tasks.parse.html_text import drop_elements, is_stub, visible_blocks, word_count
from tasks.parse.html_trafilatura import trafilatura_draft

#: pages larger than this (after dropping scripts and styles) skip trafilatura
HTML_TRAFILATURA_MAX_CHARS = 1_500_000
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^<>]{0,200}\?>")
_HTML_IN_TEXT = re.compile(
    r"<(?:p|div|br|h[1-6]|article|section|ul|ol|li|span|a|em|strong|b|i|table|blockquote)\b[^<>]*>",
    re.I,
)


def parse_html(content: str, source: str, *, fragment: bool = False) -> Draft:
    """HTML: trafilatura's main content, else lxml blocks, else the page's visible text.

    A `fragment` (an article body from a JSON field) is content already, so it skips
    main-content extraction, which would drop its short headings. An extraction that is
    a stub of the visible text (lxml drops what is nested deeper than 256 elements) falls
    through to the next; a page with no visible text at all is refused.
    """
    cleaned = _XML_DECLARATION.sub("", drop_elements(content), count=1)
    visible = visible_blocks(cleaned)
    seen = word_count(visible)
    if not seen:
        raise EmptyDocument(
            f"{source}: the HTML has no visible text (only markup, scripts, styles or a title)",
            hint="drop the page with its article text, not a script-only or empty page",
        )
    extractors = [lxml_draft] if fragment or len(cleaned) > HTML_TRAFILATURA_MAX_CHARS else []
    stub = None
    for extract in extractors or [trafilatura_draft, lxml_draft]:
        draft = extract(cleaned)
        words = draft and word_count(draft.paragraphs + draft.headings)
        if draft is not None and not is_stub(words or 0, seen):
            return draft
        stub = stub or draft
    draft = Draft() if stub is None else replace(stub, headings=[], heading_positions=[])
    paragraphs = visible[1:] if visible[0] == collapse(draft.title) else visible
    draft.paragraphs, draft.dateline = [], None
    apply_items([Item("p", text) for text in paragraphs], draft, guess_headings=False)
    return draft


def looks_like_html(text: str) -> bool:
    """True when a text field holds HTML markup rather than plain text."""
    return bool(_HTML_IN_TEXT.search(text[:5000]))
