"""JSON (``json``): one object per article, its body in a text field and the rest as fields.

``text``/``body`` (or ``content``, ``article_body``), ``title``, ``date``/``published``
(a date string or an epoch timestamp), ``url``; every other field (and ``id``, ``url``)
is kept in ``metadata``. A body that is a list of strings is one paragraph per string;
an HTML body goes through the HTML path (`tasks.parse.html_page`), a plain one through
the plain-text reader (`tasks.parse.text.body_items`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tasks.errors import EmptyDocument, ParseError
from tasks.parse.body import apply_items
from tasks.parse.common import Draft, Item, clean_text
from tasks.parse.dates import DATE_KEYS, parse_date, parse_timestamp
from tasks.parse.html_page import looks_like_html, parse_html
from tasks.parse.text import body_items

_TEXT_KEYS = ("text", "body", "content", "article_body", "articleBody")
_TITLE_KEYS = ("title", "headline")
_URL_KEYS = ("url", "link")
_LANGUAGE_KEYS = ("language", "lang")


def parse_json(content: str, source: str) -> Draft:
    """One JSON object (see the module docstring)."""
    record = _load_object(content, source)
    present = [k for k in _TEXT_KEYS if record.get(k) not in (None, "", [])]
    text_key = next(iter(present), next((k for k in _TEXT_KEYS if k in record), None))
    if text_key is None:
        raise ParseError(
            f"{source}: JSON object has no 'text' or 'body' field "
            f"(fields: {', '.join(sorted(record)[:12]) or 'none'})",
            hint="add a 'text' field holding the article body",
        )
    text = _body_text(record[text_key], source, text_key)
    title = _string_field(record, _TITLE_KEYS)
    if looks_like_html(text):
        draft = parse_html(text, source, fragment=True)
        draft.title = title or draft.title
    else:
        draft = Draft(title=title)
        items = body_items(text, split_lines="\n\n" not in text.strip())
        if not title:
            _title_from_items(items, draft)
        apply_items(items, draft, guess_headings=True)
    _json_fields(record, draft, used={text_key, *_TITLE_KEYS})
    return draft


def _load_object(content: str, source: str) -> dict[str, Any]:
    """The JSON object, or a ParseError that says what is wrong and where."""
    try:
        value = json.loads(content, strict=False)
    except json.JSONDecodeError as error:
        raise ParseError(
            f"{source}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})",
            hint="fix the JSON syntax, or save the article as .txt if it is plain text",
        ) from None
    except RecursionError:
        raise ParseError(
            f"{source}: JSON nested too deeply to read", hint="flatten the JSON object"
        ) from None
    if not isinstance(value, dict):
        raise ParseError(
            f"{source}: JSON value is {_json_kind(value)}, expected one object per article",
            hint='wrap the article as {"title": ..., "text": ...}; use .jsonl for many articles',
        )
    return value


def _json_kind(value: object) -> str:
    """'an array', 'a string', ... for error messages."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    kinds[type(None)] = "null"
    return kinds.get(type(value), "a number")


def _body_text(value: object, source: str, key: str) -> str:
    """The body field as text: a string, or a list of paragraph strings."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    if not isinstance(value, str):
        raise ParseError(
            f"{source}: JSON field '{key}' is {_json_kind(value)}, expected a string",
            hint=f"put the article body in '{key}' as a string",
        )
    text = clean_text(value)
    if not text.strip():
        raise EmptyDocument(
            f"{source}: JSON field '{key}' is empty", hint=f"put the article body in '{key}'"
        )
    return text


def _string_field(record: dict[str, Any], keys: Iterable[str]) -> str:
    """The first of `keys` that holds a non-empty string."""
    for key in keys:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return clean_text(value)
    return ""


def _title_from_items(items: list[Item], draft: Draft) -> None:
    """Without a title field, a first short line of the text is the title."""
    if len(items) < 2 or items[0].kind != "line":
        return
    first = items[0].text
    if len(first.split()) <= 20 and first[-1] not in ".;:,":
        draft.title = items.pop(0).text


def _json_fields(record: dict[str, Any], draft: Draft, used: set[str]) -> None:
    """Date, url, language, dateline and every other field (into metadata)."""
    for key in DATE_KEYS:
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            draft.published = parse_date(value) or draft.published
        elif isinstance(value, int | float) and not isinstance(value, bool):
            draft.published = parse_timestamp(float(value)) or draft.published
        if value is not None:
            used.add(key)
            if draft.published:
                break
    url = _string_field(record, _URL_KEYS)
    draft.url = url.strip() or draft.url
    declared = _string_field(record, _LANGUAGE_KEYS)
    draft.language = declared or draft.language
    dateline = record.get("dateline")
    if isinstance(dateline, str) and dateline.strip():
        draft.dateline = dateline
        used.add("dateline")
    for key, value in record.items():
        if key not in used and key not in _LANGUAGE_KEYS:
            draft.metadata[key] = value
    if draft.published is None:
        raw_date = next((record[k] for k in DATE_KEYS if record.get(k) not in (None, "")), None)
        if raw_date is not None:
            draft.metadata["date_raw"] = raw_date
