"""Raw article text to a structured `Article`, for every format docflow reads.

Pure functions: no Celery, no Redis. `parse_article` is the entry point.

Formats (`RawArticle.format`):

* ``text``: the seed's plain-text wire format. Optional header lines at the top
  (``date 2025-03-24 Title``, ``Date: March 24, 2025``, ``Published: ...``,
  ``Title: ...``, ``By ...``), a title line, an optional dateline (``ANKARA`` on
  its own line, or ``WASHINGTON (Reuters) -`` opening the first paragraph),
  then paragraphs separated by blank lines (hard-wrapped lines are joined).
  Short one-line blocks without closing punctuation that are followed by a
  paragraph are section headings.
* ``markdown``: ``# Title``, ``##`` headings, optional ``---`` front matter
  (simple ``key: value`` lines). Inline syntax is stripped (links keep their
  text, images are dropped); fenced code blocks are dropped, since code is not
  article prose and only confuses the entity tagger.
* ``html``: main-content extraction with trafilatura (title, date, url and
  headings from its metadata and XML body); lxml, then the page's visible text
  (`tasks.html_text`), when an extraction finds nothing, is a stub of the page,
  or the page is too large for trafilatura. A page with no visible text is refused.
* ``json``: one object with ``text``/``body`` (or ``content``), ``title``,
  ``date``/``published``, ``url``; every other field (and ``id``, ``url``) is
  kept in ``metadata``. An HTML body goes through the HTML path.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from tasks import html_text, md_blocks
from tasks.errors import EmptyDocument, ParseError
from tasks.lang import detect_language
from tasks.models import Article, RawArticle

# --------------------------------------------------------------------------- #
# shared pieces
# --------------------------------------------------------------------------- #

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

#: pages larger than this (after dropping scripts and styles) skip trafilatura
HTML_TRAFILATURA_MAX_CHARS = 1_500_000
#: a heading is at most this many words
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS = 120
#: endings that make a short line a sentence rather than a heading
_HEADING_BAD_END = frozenset(".!?\"”“:;,…'’")
#: endings of a line that closes a sentence (for line-per-paragraph text)
_SENTENCE_END = frozenset(".!?\"”’'…)]»")
#: hard-wrapped lines are never longer than this
_WRAP_MAX = 150

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\ud800-\udfff]")
_ODD_BREAKS = re.compile("[\x0b\x0c\u2028\u2029]")


@dataclass
class _Draft:
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
class _Item:
    """A body block: `kind` is "h" (heading), "p" (paragraph) or "line" (one-line block)."""

    kind: str
    text: str


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


def clean_text(text: str) -> str:
    """Unify line endings and drop NULs, ANSI escapes and other control characters."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if _ODD_BREAKS.search(text):
        text = _ODD_BREAKS.sub(lambda m: "\n\n" if m[0] == "\u2029" else "\n", text)
    return _CONTROL.sub("", text)


def _word_set(text: str) -> frozenset[str]:
    """The space-separated words of `text` as a set."""
    return frozenset(text.split())


def collapse(text: str) -> str:
    """Whitespace runs to one space, ends stripped."""
    return " ".join(text.split())


def _finish(draft: _Draft, source: str) -> Article:
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


# --------------------------------------------------------------------------- #
# dates
# --------------------------------------------------------------------------- #

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = (
    r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|urday|sday)?\.?,?\s++)?"
)
_CLOCK = (
    r"(?:,?\s++(?:at\s++)?\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*+[ap]\.?m\.?)?"
    r"(?:\s++(?:[a-z]{2,4}|utc[+-]\d{1,2}))?)?"
)
_DATE_TOKEN = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?)?"
    r"|\d{4}/\d{1,2}/\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}"
    rf"|{_WEEKDAY}{_MONTH}\.?\s++\d{{1,2}}(?:st|nd|rd|th)?,?\s++\d{{4}}{_CLOCK}"
    rf"|{_WEEKDAY}\d{{1,2}}(?:st|nd|rd|th)?\s++(?:of\s++)?{_MONTH}\.?,?\s++\d{{4}}{_CLOCK})"
)
_DATE_ONLY = re.compile(rf"\A\s*+(?P<date>{_DATE_TOKEN})\s*+", re.I)
_DATE_KEYWORD = (
    r"(?:date|dated|published(?:\s++(?:on|at))?|updated(?:\s++on)?|posted(?:\s++on)?"
    r"|pubdate|publication\s++date|release\s++date)"
)
_DATE_LINE = re.compile(
    rf"\A\s*+{_DATE_KEYWORD}\s*+[:=]?\s*+(?P<date>{_DATE_TOKEN})(?P<rest>(?:\s.*)?)", re.I
)
_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s?(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.I,
)
_TEXT_DATE = re.compile(
    rf"{_WEEKDAY}(?:(?P<m1>{_MONTH})\.?\s++(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s++(?:of\s++)?(?P<m2>{_MONTH})\.?,?)\s++(?P<y>\d{{4}})",
    re.I,
)


def parse_date(value: str) -> str | None:
    """An ISO date (YYYY-MM-DD) or datetime from common date spellings, or None."""
    text = value.strip()[:80]
    if not text:
        return None
    iso = _ISO.fullmatch(text)
    if iso:
        return _iso_result(iso)
    slash = re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", text)
    if slash:
        return _date_string(*(int(g) for g in slash.groups()))
    dotted = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    if dotted:
        return _date_string(int(dotted[3]), int(dotted[2]), int(dotted[1]))
    textual = _TEXT_DATE.match(text)
    if textual and _DATE_ONLY.fullmatch(text):
        month = _month_number(textual["m1"] or textual["m2"])
        day = int(textual["d1"] or textual["d2"])
        return _date_string(int(textual["y"]), month, day)
    for reader in (date.fromisoformat, datetime.fromisoformat):
        try:
            return reader(text).isoformat()
        except ValueError:
            continue
    return None


def parse_timestamp(value: float) -> str | None:
    """An epoch timestamp (seconds or milliseconds) as an ISO datetime in UTC."""
    seconds = value / 1000 if value > 1e11 else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _iso_result(match: re.Match[str]) -> str | None:
    """A matched ISO date or datetime, validated and normalised."""
    year, month, day, hour, minute, second, _, zone = match.groups()
    if hour is None:
        return _date_string(int(year), int(month), int(day))
    stamp = f"{year}-{int(month):02d}-{int(day):02d}T{int(hour):02d}:{minute}:{second or '00'}"
    if zone:
        zone = "+00:00" if zone.upper() == "Z" else zone
        if re.fullmatch(r"[+-]\d{2}", zone):
            zone += ":00"
        elif re.fullmatch(r"[+-]\d{4}", zone):
            zone = f"{zone[:3]}:{zone[3:]}"
        stamp += zone
    try:
        return datetime.fromisoformat(stamp).isoformat()
    except ValueError:
        return None


def _date_string(year: int, month: int, day: int) -> str | None:
    """YYYY-MM-DD when the date exists, else None."""
    try:
        return datetime(year, month, day).date().isoformat()
    except ValueError:
        return None


def _month_number(name: str) -> int:
    """1-12 from an English month name or abbreviation."""
    months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    return months.index(name[:3].lower()) + 1


# --------------------------------------------------------------------------- #
# datelines, bylines, headings: shared by every format
# --------------------------------------------------------------------------- #

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


def looks_like_heading(text: str) -> bool:
    """Short, one line, no closing sentence punctuation, starts like a title."""
    words = text.split()
    if not words or len(words) > HEADING_MAX_WORDS or len(text) > HEADING_MAX_CHARS:
        return False
    first, last = text[0], text[-1]
    if last in _HEADING_BAD_END:
        return False
    return (first.isalnum() or first in "‘“\"'¿¡") and any(c.isalpha() for c in text)


def _apply_items(items: list[_Item], draft: _Draft, *, guess_headings: bool) -> None:
    """Sort body items into headings and paragraphs; pull out a leading dateline/byline."""
    items = [it for it in items if it.text]
    _take_leading_meta(items, draft)
    for index, item in enumerate(items):
        if (
            item.kind == "line" and guess_headings and _heading_here(items, index)
        ) or item.kind == "h":
            draft.headings.append(item.text)
            draft.heading_positions.append(len(draft.paragraphs))
        else:
            draft.paragraphs.append(item.text)
    if draft.dateline is None and draft.paragraphs:
        split = split_dateline(draft.paragraphs[0])
        if split:
            draft.dateline, draft.paragraphs[0] = split


def _take_leading_meta(items: list[_Item], draft: _Draft) -> None:
    """Remove a standalone dateline, byline or date line from the top of the body."""
    for _ in range(4):
        if not items or items[0].kind == "h":
            return
        text = items[0].text
        dateline = standalone_dateline(text) if draft.dateline is None else None
        if dateline:
            draft.dateline = dateline
        elif is_byline(text):
            draft.metadata.setdefault("byline", collapse(text))
        elif draft.published is None and _DATE_ONLY.fullmatch(text):
            draft.published = parse_date(text)
        else:
            return
        items.pop(0)


def _heading_here(items: list[_Item], index: int) -> bool:
    """A one-line block is a heading when it looks like one and a paragraph follows."""
    if not looks_like_heading(items[index].text) or index + 1 >= len(items):
        return False
    following = items[index + 1]
    return following.kind == "p" or (
        following.kind == "line" and not looks_like_heading(following.text)
    )


# --------------------------------------------------------------------------- #
# plain-text wire format
# --------------------------------------------------------------------------- #

_KEY_LINE = re.compile(
    r"\A\s*+(?P<key>title|headline|byline|author|source|url|link|dateline|language|lang|slug|"
    r"category|keywords)\s*+:\s*+(?P<value>\S.{0,120})",
    re.I,
)
_BULLET = re.compile(r"\A\s*(?:[-*•‣◦]|\d{1,3}[.)])\s+")


def _parse_text(content: str, source: str) -> _Draft:
    """The plain-text wire format (see the module docstring)."""
    draft = _Draft()
    lines = content.split("\n")
    start = _read_header(lines, draft)
    blocks = _blocks(lines[start:])
    if not draft.title:
        _take_title(blocks, draft)
    _consume_meta_lines(blocks, draft)
    items: list[_Item] = []
    for block in blocks:
        items.extend(_block_items(block, split_lines=False))
    _apply_items(items, draft, guess_headings=True)
    return draft


def body_items(text: str, *, split_lines: bool) -> list[_Item]:
    """Blank-line separated blocks as items (lines of a block joined unless split)."""
    items: list[_Item] = []
    for block in _blocks(text.split("\n")):
        items.extend(_block_items(block, split_lines=split_lines))
    return items


def _read_header(lines: list[str], draft: _Draft) -> int:
    """Consume top-of-file header lines (date, title, source...); return the body's start."""
    index = 0
    seen = 0
    while index < len(lines) and seen < 8:
        line = lines[index]
        if not line.strip():
            index += 1
            continue
        if not _header_line(line, draft):
            break
        seen += 1
        index += 1
    return index


def _header_line(line: str, draft: _Draft) -> bool:
    """Apply one header line to the draft; False when it is not a header line."""
    if len(line) > 400:
        return False
    dated = _DATE_LINE.fullmatch(line)
    if dated:
        rest = dated["rest"].strip(" \t|–—-:")
        if rest and draft.title:
            return False  # a sentence that happens to start with a date
        _set_published(draft, dated["date"])
        draft.title = rest or draft.title
        return True
    if draft.published is None and _DATE_ONLY.fullmatch(line):
        _set_published(draft, line)
        return True
    keyed = _KEY_LINE.fullmatch(line)
    if keyed:
        _set_field(draft, keyed["key"].lower(), keyed["value"].strip())
        return True
    return False


def _set_published(draft: _Draft, value: str) -> None:
    """Set the published date, keeping an unreadable one in metadata."""
    parsed = parse_date(value)
    if parsed:
        draft.published = draft.published or parsed
    else:
        draft.metadata.setdefault("date_raw", value.strip())


def _set_field(draft: _Draft, key: str, value: str) -> None:
    """A named header field (``Title: ...``) onto the draft or its metadata."""
    if key in ("title", "headline"):
        draft.title = draft.title or value
    elif key in ("url", "link"):
        draft.url = draft.url or value
    elif key == "dateline":
        draft.dateline = draft.dateline or value
    elif key in ("language", "lang"):
        draft.language = value
    else:
        draft.metadata.setdefault("author" if key == "byline" else key, value)


def _blocks(lines: Iterable[str]) -> list[list[str]]:
    """Groups of non-blank lines (stripped), split at blank lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped:
            current.append(stripped)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _take_title(blocks: list[list[str]], draft: _Draft) -> None:
    """The first line is the title when it stands alone or is clearly shorter than the body."""
    if not blocks:
        return
    first = blocks[0]
    line = first[0]
    words = len(line.split())
    if len(first) == 1:
        alone = len(blocks) == 1
        if (alone and line[-1] not in _SENTENCE_END and words <= 30) or (
            not alone and (words <= 15 or (words <= 30 and line[-1] not in ".;:,"))
        ):
            draft.title = line
            blocks.pop(0)
        return
    longest_rest = max(len(rest) for rest in first[1:])
    if words <= 20 and line[-1] not in ".,;:" and len(line) < 0.75 * longest_rest:
        draft.title = line
        first.pop(0)


def _consume_meta_lines(blocks: list[list[str]], draft: _Draft) -> None:
    """Date, byline and dateline lines just below the title."""
    for _ in range(6):
        if not blocks:
            return
        line = blocks[0][0]
        dateline = standalone_dateline(line) if draft.dateline is None else None
        if dateline:
            draft.dateline = dateline
        elif is_byline(line):
            draft.metadata.setdefault("byline", line)
        elif not _header_line(line, draft):
            return
        blocks[0].pop(0)
        if not blocks[0]:
            blocks.pop(0)


def _block_items(lines: list[str], *, split_lines: bool) -> list[_Item]:
    """One block as items: one per line, or one joined (hard-wrapped) paragraph."""
    if all(not any(c.isalnum() for c in line) for line in lines):
        return []  # separators such as "* * *" or "###"
    if len(lines) == 1:
        return [_line_item(lines[0])]
    if split_lines or _one_paragraph_per_line(lines):
        return [_line_item(line) for line in lines]
    if _leading_heading(lines):
        return [_Item("line", lines[0]), *_block_items(lines[1:], split_lines=False)]
    return [_Item("p", join_wrapped(lines))]


def _leading_heading(lines: list[str]) -> bool:
    """A heading line glued to the paragraph below it (clearly shorter than the wrap width)."""
    first, longest = lines[0], max(len(line) for line in lines[1:])
    return looks_like_heading(first) and len(first) < 0.6 * longest and lines[1][0].isupper()


def _one_paragraph_per_line(lines: list[str]) -> bool:
    """True when the lines are paragraphs or list items, not a hard-wrapped paragraph."""
    if max(len(line) for line in lines) > _WRAP_MAX:
        return True
    if all(_BULLET.match(line) for line in lines):
        return True
    ended = sum(line[-1] in _SENTENCE_END for line in lines)
    if ended == len(lines):
        return True
    others = (line for line in lines if line[-1] not in _SENTENCE_END)
    return ended >= 2 and ended >= 0.6 * len(lines) and all(looks_like_heading(o) for o in others)


def _line_item(line: str) -> _Item:
    """A one-line block; a list item (bullet stripped) is never a heading."""
    match = _BULLET.match(line)
    if match and match.end() < len(line):
        return _Item("p", line[match.end() :])
    return _Item("line", line)


def join_wrapped(lines: list[str]) -> str:
    """Hard-wrapped lines as one line, re-joining words hyphenated across a break."""
    out = lines[0]
    for line in lines[1:]:
        if out.endswith("-") and out[-2:-1].isalpha() and line[:1].islower():
            out += line
        else:
            out += " " + line
    return out


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #

_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_HR = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MD_ITEM = re.compile(r"\A\s*(?:[-*+•]|\d{1,9}[.)])\s+")
_QUOTE = re.compile(r"\A\s*(?:>\s?)+")
_REF_DEF = re.compile(r"\A {0,3}\[[^\]]+\]:\s+\S+.*")
_FRONT_KEY = re.compile(r"\A([A-Za-z_][\w-]*)\s*[:=]\s*(.*)")
_FRONT_ITEM = re.compile(r"\A\s*-\s+(.*)")
_FRONT_END = {f: re.compile(rf"^(?:{re.escape(f)}|\.\.\.)[ \t]*$", re.M) for f in ("---", "+++")}
_BOLD_LINE = re.compile(r"(\*\*|__)([^*_\n]{1,150})\1")
#: longer lines are paragraph text: no block-structure pattern is tried on them
STRUCTURE_MAX_CHARS = 1_000
_ESCAPED = re.compile("[\ue000-\ue07f]")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")

_Replacement = str | Callable[[re.Match[str]], str]


def _group(number: int) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps one group (cheaper than a template string)."""
    return lambda match: match[number]


#: emphasis markers; the content classes exclude the marker so that no match rescans the text
_EMPHASIS: list[tuple[str, re.Pattern[str], _Replacement]] = [
    ("**", re.compile(r"\*\*(?=[^\s*])([^*\n]{1,500})(?<=[^\s*])\*\*"), _group(1)),
    ("__", re.compile(r"(?<![\w_])__(?=[^\s_])([^_\n]{1,500})(?<=[^\s_])__(?![\w_])"), _group(1)),
    ("*", re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]{1,500})(?<=[^\s*])\*(?![\w*])"), _group(1)),
    ("_", re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]{1,500})(?<=[^\s_])_(?![\w_])"), _group(1)),
    ("~~", re.compile(r"~~(?=[^\s~])([^~\n]{1,500})(?<=[^\s~])~~"), _group(1)),
]

#: (a substring the pattern needs, pattern, replacement), applied in order
_MD_INLINE: list[tuple[str, re.Pattern[str], _Replacement]] = [
    ("![", re.compile(r"!\[[^\]\n]{0,300}\](?:\([^)\n]{0,500}\)|\[[^\]\n]{0,100}\])"), ""),
    ("[^", re.compile(r"\[\^[^\]\n]{1,50}\]"), ""),
    (
        "](",
        re.compile(
            r"\[([^\]\n]{0,300})\]\((?:[^()\s]|\([^()\s]*\)){0,500}(?:\s+[\"'(][^)\n]{0,200})?\)"
        ),
        _group(1),
    ),
    ("][", re.compile(r"\[([^\]\n]{1,300})\]\[[^\]\n]{0,100}\]"), _group(1)),
    ("<", re.compile(r"<((?:https?|ftp|mailto):[^<>\s]{1,500})>"), _group(1)),
    ("<", re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,500})?/?>"), ""),
    ("`", re.compile(r"(?<!`)(`++)([^`\n]{1,500})\1"), _group(2)),
    *_EMPHASIS,
    *_EMPHASIS,  # twice: "**bold *italic* bold**" needs the inner pass first
]


def _parse_markdown(content: str, source: str) -> _Draft:
    """Markdown (see the module docstring)."""
    draft = _Draft()
    body = _read_front_matter(content, draft)
    items = _markdown_items(_strip_between(body, "<!--", "-->"))
    _markdown_title(items, draft)
    for item in items:
        if item.kind == "h1" or (item.kind == "p" and _bold_line(item.text)):
            item.kind = "h"
        item.text = markdown_inline(item.text)
    draft.title = markdown_inline(draft.title)
    _apply_items(items, draft, guess_headings=False)
    return draft


def _markdown_title(items: list[_Item], draft: _Draft) -> None:
    """Take the title from the top: an H1 (or one repeating the front matter title), a bold line."""
    if draft.title:
        wanted = collapse(draft.title)
        index = next((i for i, it in enumerate(items) if collapse(it.text) == wanted), None)
        if index is not None and items[index].kind == "h1":
            items.pop(index)
        return
    if items and items[0].kind == "h1":
        draft.title = items.pop(0).text
        return
    if items and items[0].kind == "p" and _bold_line(items[0].text):
        draft.title = items.pop(0).text.strip("*_ ")
        return
    index = next((i for i, it in enumerate(items) if it.kind == "h1"), None)
    if index is not None:
        draft.title = items.pop(index).text


def _bold_line(text: str) -> bool:
    """A paragraph that is only bold text and reads like a heading."""
    match = _BOLD_LINE.fullmatch(text.strip())
    return match is not None and looks_like_heading(match[2].strip())


def _read_front_matter(content: str, draft: _Draft) -> str:
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


def _front_field(draft: _Draft, key: str, value: Any) -> None:
    """One front matter field onto the draft or its metadata."""
    text = value if isinstance(value, str) else ""
    if key in ("title", "headline") and text:
        draft.title = text
    elif key in _DATE_KEYS and text and draft.published is None:
        _set_published(draft, text)
    elif key in ("url", "link", "canonical", "canonical_url") and text:
        draft.url = text
    elif key in ("lang", "language"):
        draft.language = text
    elif key == "dateline" and text:
        draft.dateline = text
    elif value != []:
        draft.metadata[key] = value


def _markdown_items(body: str) -> list[_Item]:
    """Block structure of a Markdown body: "h1", "h" and "p" items (raw inline text)."""
    items: list[_Item] = []
    buffer: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if buffer:
            items.append(_Item("p", join_wrapped(buffer)))
            buffer.clear()

    for raw_line in body.split("\n"):
        if fence is not None:
            if raw_line.strip().startswith(fence):
                fence = None
            continue
        opening = _FENCE.match(raw_line)
        if opening:
            flush()
            fence = opening[1]
            continue
        line = _QUOTE.sub("", raw_line, count=1) if raw_line.lstrip().startswith(">") else raw_line
        if not line.strip():
            flush()
            continue
        if len(line) > STRUCTURE_MAX_CHARS:
            buffer.append(line.strip())
            continue
        setext = _SETEXT.fullmatch(line)
        if setext and buffer:
            items.append(_Item("h1" if setext[1][0] == "=" else "h", join_wrapped(buffer)))
            buffer.clear()
            continue
        heading = md_blocks.atx_heading(line)
        if heading:
            flush()
            items.append(_Item("h1" if heading[0] == 1 else "h", heading[1]))
        elif _HR.fullmatch(line) or md_blocks.is_table_rule(line) or _REF_DEF.fullmatch(line):
            flush()
        elif line.lstrip().startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            items.append(_Item("p", " | ".join(c for c in cells if c)))
        elif bullet := _MD_ITEM.match(line):
            flush()
            buffer.append(line[bullet.end() :].strip())
        else:
            buffer.append(line.strip())
    flush()
    return items


def markdown_inline(text: str) -> str:
    """Markdown inline syntax stripped: links to their text, images dropped, markers removed."""
    escaped = "\\" in text
    if escaped:
        text = _MD_ESCAPE.sub(lambda m: chr(0xE000 + ord(m[1])), text)
    for needed, pattern, replacement in _MD_INLINE:
        if needed in text:
            text = pattern.sub(replacement, text)
    if "&" in text:
        text = html_lib.unescape(text)
    if escaped:
        text = _ESCAPED.sub(lambda m: chr(ord(m[0]) - 0xE000), text)
    return text


def _strip_between(text: str, start: str, end: str) -> str:
    """`text` without any `start`...`end` spans (linear scan; an unclosed span runs to the end)."""
    if start not in text:
        return text
    out: list[str] = []
    position = 0
    while True:
        opening = text.find(start, position)
        if opening < 0:
            out.append(text[position:])
            break
        out.append(text[position:opening])
        closing = text.find(end, opening + len(start))
        if closing < 0:
            break
        position = closing + len(end)
    return "".join(out)


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^<>]{0,200}\?>")
_BOILERPLATE_TAGS = ("nav", "aside", "footer", "form", "button", "select", "dialog", "menu")
_BLOCK_TAGS = _word_set(
    "p div section article main header h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote pre "
    "table tr td th caption figure figcaption br hr address details summary body"
)
_HEADING_TAGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_HTML_IN_TEXT = re.compile(
    r"<(?:p|div|br|h[1-6]|article|section|ul|ol|li|span|a|em|strong|b|i|table|blockquote)\b[^<>]*>",
    re.I,
)
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


def _parse_html(content: str, source: str, *, fragment: bool = False) -> _Draft:
    """HTML: trafilatura's main content, else lxml blocks, else the page's visible text.

    A `fragment` (an article body from a JSON field) is content already, so it skips
    main-content extraction, which would drop its short headings. An extraction that is
    a stub of the visible text (lxml drops what is nested deeper than 256 elements) falls
    through to the next; a page with no visible text at all is refused.
    """
    cleaned = _XML_DECLARATION.sub("", html_text.drop_elements(content), count=1)
    visible = html_text.visible_blocks(cleaned)
    seen = html_text.word_count(visible)
    if not seen:
        raise EmptyDocument(
            f"{source}: the HTML has no visible text (only markup, scripts, styles or a title)",
            hint="drop the page with its article text, not a script-only or empty page",
        )
    extractors = [_lxml_draft] if fragment or len(cleaned) > HTML_TRAFILATURA_MAX_CHARS else []
    stub = None
    for extract in extractors or [_trafilatura_draft, _lxml_draft]:
        draft = extract(cleaned)
        words = draft and html_text.word_count(draft.paragraphs + draft.headings)
        if draft is not None and not html_text.is_stub(words or 0, seen):
            return draft
        stub = stub or draft
    draft = _Draft() if stub is None else replace(stub, headings=[], heading_positions=[])
    paragraphs = visible[1:] if visible[0] == collapse(draft.title) else visible
    draft.paragraphs, draft.dateline = [], None
    _apply_items([_Item("p", text) for text in paragraphs], draft, guess_headings=False)
    return draft


def looks_like_html(text: str) -> bool:
    """True when a text field holds HTML markup rather than plain text."""
    return bool(_HTML_IN_TEXT.search(text[:5000]))


def _trafilatura_draft(markup: str) -> _Draft | None:
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
    draft = _Draft(
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
    _apply_items(items, draft, guess_headings=False)
    return draft


def _trafilatura_items(body: Any) -> list[_Item]:
    """Items from trafilatura's XML body (head, p, list, quote, table; code dropped)."""
    items: list[_Item] = []
    for element in _content_elements(body):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag == "head":
            kind = "h1" if element.get("rend") == "h1" else "h"
            items.append(_Item(kind, _element_text(element)))
        elif tag == "list":
            items.extend(_Item("p", _element_text(it)) for it in element.iter("item"))
        elif tag == "table":
            for row in element.iter("row"):
                cells = [_element_text(cell) for cell in row.iter("cell")]
                items.append(_Item("p", " | ".join(c for c in cells if c)))
        elif tag in ("code", "graphic", "ref") or not tag:
            continue
        else:
            text = _element_text(element)
            items.append(_Item("h" if _bold_heading(element, text) else "p", text))
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


def _lxml_draft(markup: str) -> _Draft | None:
    """Block texts walked by lxml, with title/date/url from the page head; None if no text."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return None
    draft = _Draft()
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
    _apply_items(items, draft, guess_headings=False)
    return draft


def _content_scope(root: Any) -> Any:
    """The <article> or <main> element when there is one with text, else the whole page."""
    for tag in ("article", "main"):
        for element in root.iter(tag):
            if len(collapse(element.text_content())) >= 200:
                return element
    return root


def _walk_blocks(scope: Any, etree: Any) -> list[_Item]:
    """Text between block boundaries as items (iterative, so deep trees are safe)."""
    items: list[_Item] = []
    buffer: list[str] = []
    kinds: list[str] = []

    def flush() -> None:
        text = collapse("".join(buffer))
        buffer.clear()
        if text:
            kind = kinds[-1] if kinds else "p"
            items.append(_Item(kind, text))

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


def _head_metadata(root: Any, draft: _Draft) -> None:
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


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #

_TEXT_KEYS = ("text", "body", "content", "article_body", "articleBody")
_TITLE_KEYS = ("title", "headline")
_DATE_KEYS = (
    "date",
    "published",
    "published_at",
    "publishedAt",
    "published_date",
    "datePublished",
    "pubDate",
    "pub_date",
    "publishdate",
)
_URL_KEYS = ("url", "link")
_LANGUAGE_KEYS = ("language", "lang")


def _parse_json(content: str, source: str) -> _Draft:
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
        draft = _parse_html(text, source, fragment=True)
        draft.title = title or draft.title
    else:
        draft = _Draft(title=title)
        items = body_items(text, split_lines="\n\n" not in text.strip())
        if not title:
            _title_from_items(items, draft)
        _apply_items(items, draft, guess_headings=True)
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


def _title_from_items(items: list[_Item], draft: _Draft) -> None:
    """Without a title field, a first short line of the text is the title."""
    if len(items) < 2 or items[0].kind != "line":
        return
    first = items[0].text
    if len(first.split()) <= 20 and first[-1] not in ".;:,":
        draft.title = items.pop(0).text


def _json_fields(record: dict[str, Any], draft: _Draft, used: set[str]) -> None:
    """Date, url, language, dateline and every other field (into metadata)."""
    for key in _DATE_KEYS:
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
        raw_date = next((record[k] for k in _DATE_KEYS if record.get(k) not in (None, "")), None)
        if raw_date is not None:
            draft.metadata["date_raw"] = raw_date


_PARSERS: dict[str, Callable[[str, str], _Draft]] = {
    "text": _parse_text,
    "markdown": _parse_markdown,
    "html": _parse_html,
    "json": _parse_json,
}
