"""Markdown front matter: a ``---`` (or ``+++``) block of simple ``key: value`` lines.

Title, date, url, language and dateline fields go onto the draft; every other field is
kept in its metadata. Values are unquoted strings, ``[a, b]`` lists or ``- item`` lists
under a key; nothing else of YAML or TOML is read.
"""

from __future__ import annotations

import re
from typing import Any

from tasks.parse.common import Draft
from tasks.parse.dates import DATE_KEYS, set_published

_FRONT_KEY = re.compile(r"\A([A-Za-z_][\w-]*)\s*[:=]\s*(.*)")
_FRONT_ITEM = re.compile(r"\A\s*-\s+(.*)")
_FRONT_END = {f: re.compile(rf"^(?:{re.escape(f)}|\.\.\.)[ \t]*$", re.M) for f in ("---", "+++")}


def read_front_matter(content: str, draft: Draft) -> str:
    """Apply a ``---``/``+++`` front matter block to the draft; return the rest."""
    stripped = content.lstrip("\n")
    fence = stripped[:3]
    if fence not in ("---", "+++") or stripped[3:4] != "\n":
        return content
    end = _FRONT_END[fence].search(stripped[4:])
    if end is None or end.start() > 20_000:
        return content
    block, rest = stripped[4 : 4 + end.start()], stripped[4 + end.end() :]
    for key, value in _front_matter_pairs(block):
        _front_field(draft, key, value)
    return rest


def _front_matter_pairs(block: str) -> list[tuple[str, Any]]:
    """Simple ``key: value`` / ``key = value`` pairs, with ``- item`` lists under a key."""
    pairs: list[tuple[str, Any]] = []
    for line in block.split("\n"):
        item = _FRONT_ITEM.match(line)
        if item and pairs and isinstance(pairs[-1][1], list):
            pairs[-1][1].append(_scalar(item[1]))
            continue
        match = _FRONT_KEY.fullmatch(line.strip()) if not line.startswith((" ", "\t")) else None
        if match:
            value = match[2].strip()
            pairs.append((match[1].lower(), _scalar(value) if value else []))
    return pairs


def _scalar(value: str) -> Any:
    """A front matter value: unquoted string, or a list for ``[a, b]``."""
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _front_field(draft: Draft, key: str, value: Any) -> None:
    """One front matter field onto the draft or its metadata."""
    text = value if isinstance(value, str) else ""
    if key in ("title", "headline") and text:
        draft.title = text
    elif key in DATE_KEYS and text and draft.published is None:
        set_published(draft, text)
    elif key in ("url", "link", "canonical", "canonical_url") and text:
        draft.url = text
    elif key in ("lang", "language"):
        draft.language = text
    elif key == "dateline" and text:
        draft.dateline = text
    elif value != []:
        draft.metadata[key] = value
