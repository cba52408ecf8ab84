"""HTML blocks walked by lxml, with title, date, url and language from the page head.

`lxml_draft` is the extractor for an HTML fragment, for a page too large for
trafilatura, and for one where trafilatura finds nothing: boilerplate elements
(navigation, forms...) are dropped, the ``<article>`` or ``<main>`` element is read
when it holds text, and every block element's text becomes an item.
"""

from __future__ import annotations

from typing import Any

from tasks.parse.body import apply_items
from tasks.parse.common import Draft, Item, collapse
from tasks.parse.dates import parse_date

_BOILERPLATE_TAGS = ("nav", "aside", "footer", "form", "button", "select", "dialog", "menu")


def _word_set(text: str) -> frozenset[str]:
    """The space-separated words of `text` as a set."""
    return frozenset(text.split())


_BLOCK_TAGS = _word_set(
    "p div section article main header h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote pre "
    "table tr td th caption figure figcaption br hr address details summary body"
)
_HEADING_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_META_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "dc.date",
    "dc.date.issued",
    "sailthru.date",
    "parsely-pub-date",
)


def lxml_draft(markup: str) -> Draft | None:
    """Block texts walked by lxml, with title/date/url from the page head; None if no text."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None
    draft = Draft()
    _head_metadata(root, draft)
    etree.strip_elements(root, *_BOILERPLATE_TAGS, etree.Comment, with_tail=False)
    scope = _content_scope(root)
    items = _walk_blocks(scope, etree)
    if items and items[0].kind == "h1":
        heading = items.pop(0)
        draft.title = draft.title or heading.text
    for item in items:
        item.kind = "h" if item.kind == "h1" else item.kind
    if not any(item.kind == "p" for item in items):
        return None
    apply_items(items, draft, guess_headings=False)
    return draft


def _content_scope(root: Any) -> Any:
    """The <article> or <main> element when there is one with text, else the whole page."""
    for tag in ("article", "main"):
        for element in root.iter(tag):
            if len(collapse(element.text_content())) >= 200:
                return element
    return root


def _walk_blocks(scope: Any, etree: Any) -> list[Item]:
    """Text between block boundaries as items (iterative, so deep trees are safe)."""
    items: list[Item] = []
    buffer: list[str] = []
    kinds: list[str] = []

    def flush() -> None:
        text = collapse("".join(buffer))
        buffer.clear()
        if text:
            kind = kinds[-1] if kinds else "p"
            items.append(Item(kind, text))

    for event, element in etree.iterwalk(scope, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "h1" or tag in _HEADING_TAGS:
                kinds.append("h1" if tag == "h1" else "h")
            if tag:
                buffer.append(element.text or "")
        else:
            if tag in _BLOCK_TAGS:
                flush()
            if (tag == "h1" or tag in _HEADING_TAGS) and kinds:
                kinds.pop()
            if element is not scope:
                buffer.append(element.tail or "")
    flush()
    return items


def _head_metadata(root: Any, draft: Draft) -> None:
    """Title, published date, url and language from <head> (meta tags, <title>, <time>)."""
    metas: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key and meta.get("content") and key not in metas:
            metas[key] = meta.get("content").strip()
    title_element = root.find(".//title")
    page_title = collapse(title_element.text_content()) if title_element is not None else ""
    draft.title = metas.get("og:title") or metas.get("twitter:title") or page_title
    for key in _META_DATE_KEYS:
        if key in metas and draft.published is None:
            draft.published = parse_date(metas[key])
    if draft.published is None:
        for time_element in root.iter("time"):
            draft.published = parse_date(time_element.get("datetime") or "")
            break
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            draft.url = link.get("href")
            break
    draft.url = draft.url or metas.get("og:url")
    draft.language = root.get("lang")
