"""Datelines and bylines: the place-and-agency line and the author line that open a story.

A dateline is ``WASHINGTON (Reuters) -`` opening the first paragraph, or ``ANKARA`` /
``LONDON, March 3 (AP) -`` on a line of its own; a byline is ``By Jane Marlow and John
Smith, Reuters``. Every format pulls them out of the top of the body the same way
(`tasks.parse.body.apply_items`).
"""

from __future__ import annotations

import re

_DATELINE_HEAD = re.compile(
    r"(?P<dl>(?P<city>[^\W\d_][\w'’./ -]{0,40}?)(?P<extra>,[^—–()\n]{1,30}?)?"
    r"(?P<agency>\s*\([^()\n]{1,30}\))?)"
    r"(?P<dash>\s*(?:—|–|--|-|―)(?:\s+|$)|\s*$)"
)
_BYLINE = re.compile(r"(?:By|BY)\s+[^\W\d_][\w.'’-]*(?:(?:\s+|,\s*|\s*&\s*)(?:[^\W\d_][\w.'’-]*))*")
_NAME_WORDS_OK = frozenset({"and", "in", "de", "van", "von", "der", "da", "al", "bin", "for"})


def split_dateline(paragraph: str) -> tuple[str, str] | None:
    """("WASHINGTON (Reuters)", rest) when a paragraph opens with a clear dateline."""
    match = _DATELINE_HEAD.match(paragraph[:160])
    if not match or not match["dash"].strip():
        return None
    rest = paragraph[match.end() :].strip()
    if not rest or not _is_dateline(match):
        return None
    return match["dl"].strip(), rest


def standalone_dateline(line: str) -> str | None:
    """The dateline when a whole line is one (``ANKARA``, ``LONDON, March 3 (AP) -``)."""
    if len(line) > 80:
        return None
    match = _DATELINE_HEAD.fullmatch(line.strip())
    if not match or not _is_dateline(match):
        return None
    return match["dl"].strip()


def _is_dateline(match: re.Match[str]) -> bool:
    """A dateline-shaped match is a dateline when its place is in capitals (or agency-tagged)."""
    city = match["city"].strip()
    words = city.replace("/", " ").split()
    if not words or len(words) > 4:
        return False
    letters = [c for c in city if c.isalpha()]
    if city.isupper() and (len(letters) >= 3 or match["agency"]):
        return _extra_ok(match["extra"])
    title_case = all(w[:1].isupper() for w in words) and len(words) <= 3
    return bool(match["agency"]) and title_case and _extra_ok(match["extra"])


def _extra_ok(extra: str | None) -> bool:
    """The part after the city's comma is short: a state, a date (``, March 3``)."""
    if not extra:
        return True
    words = extra.strip(", ").split()
    return 0 < len(words) <= 4 and all(w[:1].isupper() or w[:1].isdigit() for w in words)


def is_byline(line: str) -> bool:
    """``By Jane Marlow and John Smith, Reuters`` (names, then maybe ``· 2 April 2025``)."""
    if len(line) > 100:
        return False
    names = re.split(r"\s[·•|–—-]\s", line.strip(), maxsplit=1)[0]
    if not _BYLINE.fullmatch(names):
        return False
    words = names.replace(",", " ").replace("&", " ").split()[1:]
    return all(w[:1].isupper() or w in _NAME_WORDS_OK for w in words)
