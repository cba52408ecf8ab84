"""Publication dates: common spellings read into ISO dates, and the fields that hold them.

`parse_date` reads ISO dates and datetimes, ``2025/03/24``, ``24.03.2025`` and English
spellings (``Monday, March 24, 2025 at 10:00 a.m.``, ``24th of March 2025``);
`DATE_ONLY` and `DATE_LINE` recognise a line that is a date, or a date keyword and a
date (``Published: ...``), for the parsers' header lines.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from tasks.parse.common import Draft

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
DATE_ONLY = re.compile(rf"\A\s*+(?P<date>{_DATE_TOKEN})\s*+", re.I)
_DATE_KEYWORD = (
    r"(?:date|dated|published(?:\s++(?:on|at))?|updated(?:\s++on)?|posted(?:\s++on)?"
    r"|pubdate|publication\s++date|release\s++date)"
)
DATE_LINE = re.compile(
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
#: fields (JSON keys, front matter keys) that hold the publication date, tried in this order
DATE_KEYS = (
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
    if textual and DATE_ONLY.fullmatch(text):
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


def set_published(draft: Draft, value: str) -> None:
    """Set the published date, keeping an unreadable one in metadata."""
    parsed = parse_date(value)
    if parsed:
        draft.published = draft.published or parsed
    else:
        draft.metadata.setdefault("date_raw", value.strip())
