"""What the stores keep beside a document and an entity so that search can filter on it.

Computed here once, in Python, for both stores: the published day, the dateline's place
(as written and folded), the language; the extra searchable text of a document (its
dateline and the article's own id, e.g. `br-2025-0214` from a JSON article); and the
folded names an entity is looked up by.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from tasks.models import Article
from tasks.search.query import fold

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: the place of a dateline: what comes before its comma, agency or dash
_PLACE = re.compile(r"[^,(—–\n]+")
#: separates the folded names of an entity (names never hold a line break)
KEY_SEP = "\n"


class SearchFields(NamedTuple):
    """The columns of `documents` that search filters on (NULL when unknown)."""

    published_day: str | None
    dateline_place: str | None
    dateline_key: str | None
    language: str | None


def published_day(published: str | None) -> str | None:
    """`YYYY-MM-DD` of an ISO date or datetime, or None."""
    if published and _DAY.match(published):
        return published[:10]
    return None


def dateline_place(dateline: str | None) -> str | None:
    """The place of a dateline (`WASHINGTON (Reuters)` -> `WASHINGTON`), or None."""
    match = _PLACE.match(dateline.strip()) if dateline else None
    place = match.group().strip(" -") if match else ""
    return place or None


def dateline_key(dateline: str | None) -> str | None:
    """The place of a dateline as the dateline filter compares it: folded."""
    place = dateline_place(dateline)
    return _key(place) if place else None


def search_fields(article: Article) -> SearchFields:
    return SearchFields(
        published_day(article.published),
        dateline_place(article.dateline),
        dateline_key(article.dateline),
        article.language.lower() if article.language else None,
    )


def meta_text(article: Article) -> str:
    """Searchable text besides title and body: the dateline and the article's own id."""
    own_id = article.metadata.get("id")
    parts = [article.dateline or "", str(own_id) if own_id not in (None, "") else ""]
    return " ".join(p for p in parts if p)


def entity_keys(name: str, aliases: list[str]) -> str:
    """The folded name and aliases of an entity, one per line, with a line at each end."""
    keys = sorted({_key(n) for n in [name, *aliases]} - {""})
    return KEY_SEP + KEY_SEP.join(keys) + KEY_SEP


def key_needle(key: str) -> str:
    """What to look for in `entity_keys(...)` to find the entity named `key`."""
    return KEY_SEP + _key(key) + KEY_SEP


def _key(name: str) -> str:
    return " ".join(fold(name).split())
