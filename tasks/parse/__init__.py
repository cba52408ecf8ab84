"""Raw article text to a structured `Article`, for every format docflow reads.

Pure functions: no Celery, no Redis. `parse_article` is the entry point: it picks the
format's parser, which reads the content into a `Draft` (`tasks.parse.common`), and
normalises the draft into an `Article`.

Formats (`RawArticle.format`), one module each:

* ``text`` (`tasks.parse.text`): the seed's plain-text wire format: header lines, a
  title, a dateline, paragraphs separated by blank lines, guessed section headings.
* ``markdown`` (`tasks.parse.markdown`): ``# Title``, ``##`` headings, optional
  front matter; inline syntax stripped, fenced code dropped.
* ``html`` (`tasks.parse.html_page`): main content by trafilatura, else lxml, else the
  page's visible text; a page with no visible text is refused.
* ``json`` (`tasks.parse.json_object`): one object with ``text``/``body``, ``title``,
  ``date``, ``url``; every other field is kept in ``metadata``.

Shared by every format: dates (`tasks.parse.dates`), datelines and bylines
(`tasks.parse.datelines`), body items sorted into headings and paragraphs
(`tasks.parse.body`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tasks.errors import EmptyDocument, ParseError
from tasks.lang import detect_language
from tasks.models import Article, RawArticle
from tasks.parse.common import Draft, clean_text, collapse
from tasks.parse.html_page import parse_html
from tasks.parse.json_object import parse_json
from tasks.parse.markdown import parse_markdown
from tasks.parse.text import parse_text

__all__ = ["FORMAT_ALIASES", "parse_article"]

FORMAT_ALIASES = {
    "text": "text",
    "txt": "text",
    "plain": "text",
    "markdown": "markdown",
    "md": "markdown",
    "html": "html",
    "htm": "html",
    "json": "json",
    "jsonl": "json",
    "ndjson": "json",
}

_PARSERS: dict[str, Callable[[str, str], Draft]] = {
    "text": parse_text,
    "markdown": parse_markdown,
    "html": parse_html,
    "json": parse_json,
}


def parse_article(raw: RawArticle) -> Article:
    """Parse one raw article into a structured `Article`.

    Raises `EmptyDocument` when there is no text and `ParseError` when the
    content cannot be read as its declared format.
    """
    fmt = FORMAT_ALIASES.get(raw.format.strip().lower())
    if fmt is None:
        raise ParseError(
            f"{raw.source}: unknown article format {raw.format!r}",
            hint="use one of text, markdown, html, json",
        )
    content = clean_text(raw.content)
    if not content.strip():
        raise EmptyDocument(
            f"{raw.source}: the article is empty", hint="drop a file that contains text"
        )
    draft = _PARSERS[fmt](content, raw.source)
    return _finish(draft, raw.source)


def _finish(draft: Draft, source: str) -> Article:
    """Normalise a draft into an `Article`; refuse one without any text."""
    title = collapse(draft.title)
    paragraphs = [p for p in (collapse(p) for p in draft.paragraphs) if p]
    placed = [
        (collapse(h), min(at, len(paragraphs)))
        for h, at in zip(draft.headings, draft.heading_positions, strict=True)
        if collapse(h)
    ]
    if not title and not paragraphs:
        raise EmptyDocument(
            f"{source}: no article text found",
            hint="check that the file holds the article body, not only markup or metadata",
        )
    sample = "\n\n".join([title, *paragraphs[:40]])
    language = detect_language(sample) or _language_code(draft.language)
    dateline = collapse(draft.dateline) if draft.dateline else None
    return Article(
        title=title,
        published=draft.published,
        dateline=dateline or None,
        headings=[h for h, _ in placed],
        heading_positions=[at for _, at in placed],
        paragraphs=paragraphs,
        language=language,
        url=draft.url.strip() if draft.url and draft.url.strip() else None,
        metadata=draft.metadata,
    )


def _language_code(value: object) -> str | None:
    """A declared language ("en-US", "EN") as a bare lower-case code."""
    if not isinstance(value, str):
        return None
    code = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None
