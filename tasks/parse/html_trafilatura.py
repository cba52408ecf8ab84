"""HTML main content by trafilatura: title, date, url and headings from its metadata and XML body.

`trafilatura_draft` is the first extractor `tasks.parse.html_page.parse_html` tries on a
whole page; it returns None when trafilatura fails or finds no paragraph.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tasks.parse.body import apply_items, looks_like_heading
from tasks.parse.common import Draft, Item, collapse
from tasks.parse.dates import parse_date


def trafilatura_draft(markup: str) -> Draft | None:
    """Main content and metadata by trafilatura; None when it finds no body."""
    import trafilatura  # slow to import: only HTML needs it

    document: Any
    try:
        document = trafilatura.bare_extraction(
            markup,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_formatting=True,
        )
    except Exception:  # trafilatura/lxml on hostile markup: fall back to lxml
        return None
    body = getattr(document, "body", None)
    if document is None or body is None:
        return None
    items = _trafilatura_items(body)
    if not any(item.kind == "p" for item in items):
        return None
    draft = Draft(
        title=document.title or "",
        published=parse_date(document.date) if document.date else None,
        url=document.url,
        language=document.language,
    )
    if items and items[0].kind == "h1":
        heading = items.pop(0)
        draft.title = draft.title or heading.text
    for item in items:
        item.kind = "h" if item.kind == "h1" else item.kind
    for key in ("author", "sitename", "description", "categories", "tags", "hostname"):
        value = getattr(document, key, None)
        if value:
            draft.metadata[key] = value
    apply_items(items, draft, guess_headings=False)
    return draft


def _trafilatura_items(body: Any) -> list[Item]:
    """Items from trafilatura's XML body (head, p, list, quote, table; code dropped)."""
    items: list[Item] = []
    for element in _content_elements(body):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "head":
            kind = "h1" if element.get("rend") == "h1" else "h"
            items.append(Item(kind, _element_text(element)))
        elif tag == "list":
            items.extend(Item("p", _element_text(it)) for it in element.iter("item"))
        elif tag == "table":
            for row in element.iter("row"):
                cells = [_element_text(cell) for cell in row.iter("cell")]
                items.append(Item("p", " | ".join(c for c in cells if c)))
        elif tag in ("code", "graphic", "ref") or not tag:
            continue
        else:
            text = _element_text(element)
            items.append(Item("h" if _bold_heading(element, text) else "p", text))
    return [item for item in items if item.text]


def _bold_heading(element: Any, text: str) -> bool:
    """A paragraph that is one bold run reading like a heading (``<p><b>Reaction</b></p>``)."""
    if element.tag != "p" or len(element) != 1 or (element.text or "").strip():
        return False
    child = element[0]
    bold = child.tag == "hi" and "#b" in (child.get("rend") or "")
    return bold and not (child.tail or "").strip() and looks_like_heading(text)


def _content_elements(body: Any) -> Iterable[Any]:
    """The block elements of trafilatura's body, looking through wrapper <div>s."""
    stack = list(reversed(body))
    while stack:
        element = stack.pop()
        if element.tag == "div":
            stack.extend(reversed(element))
        else:
            yield element


def _element_text(element: Any) -> str:
    """All text under an element, line breaks as spaces."""
    for brk in element.iter("lb", "br"):
        brk.tail = " " + (brk.tail or "")
    return collapse("".join(element.itertext()))
