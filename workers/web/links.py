"""Links of the search page: a facet value as a filter, a filter removed, another page.

Every link is built from the current search's parameters, so filters add up.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from tasks.entities.spans import NAME_LABELS
from tasks.search.request import FacetCount, SearchRequest

#: the search parameter each facet filters on
FACET_PARAM = {
    "entities": "entity",
    "labels": "label",
    "datelines": "dateline",
    "languages": "lang",
    "formats": "format",
}
FACET_TITLES = {
    "entities": "Entities",
    "labels": "Labels",
    "months": "Months",
    "days": "Days",
    "datelines": "Datelines",
    "languages": "Languages",
    "formats": "Formats",
}
FILTERS = ("entity", "label", "date_from", "date_to", "dateline", "lang", "format", "status")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def params_of(request: SearchRequest) -> dict[str, str]:
    """The request's non-default parameters, as strings (the page is left out)."""
    out: dict[str, str] = {}
    if request.q:
        out["q"] = request.q
    for name in FILTERS:
        value = getattr(request, name)
        if value is not None:
            out[name] = str(value)
    if request.per_page != SearchRequest.model_fields["per_page"].default:
        out["per_page"] = str(request.per_page)
    return out


def href(params: dict[str, str]) -> str:
    return "/?" + urlencode(params) if params else "/"


def facet_params(facet: str, value: str) -> dict[str, str] | None:
    """The filter a facet value stands for (a month: its first to its last day)."""
    if facet in FACET_PARAM:
        return {FACET_PARAM[facet]: value}
    if facet == "days" and _DAY.match(value):
        return {"date_from": value, "date_to": value}
    month = _MONTH.match(value)
    if facet == "months" and month:
        year, mon = int(month.group(1)), int(month.group(2))
        if 1 <= mon <= 12:
            last = calendar.monthrange(year, mon)[1]
            return {"date_from": f"{value}-01", "date_to": f"{value}-{last:02d}"}
    return None


def by_label(counts: list[FacetCount], most: int = 5) -> list[tuple[str, list[FacetCount]]]:
    """The entity facet as (label, its `most` first entities): names (people, places,
    organisations) before values (dates, numbers), each in the facet's label order."""
    groups: dict[str, list[FacetCount]] = {}
    for count in counts:
        group = groups.setdefault(count.label or "", [])
        if len(group) < most:
            group.append(count)
    return sorted(groups.items(), key=lambda item: item[0] not in NAME_LABELS)


def facet_href(request: SearchRequest, facet: str, count: FacetCount) -> str | None:
    """The search narrowed to this facet value (first page), or None if it is no filter."""
    extra = facet_params(facet, count.value)
    return None if extra is None else href({**params_of(request), **extra})


@dataclass(frozen=True)
class Chip:
    """An active filter, with the link that drops it."""

    name: str
    value: str
    remove: str


def chips(request: SearchRequest) -> list[Chip]:
    params = params_of(request)
    return [
        Chip(name, params[name], href({k: v for k, v in params.items() if k != name}))
        for name in FILTERS
        if name in params
    ]


def page_href(request: SearchRequest, page: int) -> str:
    params = params_of(request)
    if page > 1:
        params["page"] = str(page)
    return href(params)


def page_numbers(current: int, pages: int, around: int = 2) -> list[int]:
    """First, last and the pages around the current one (0 stands for a gap)."""
    keep = {1, pages, *range(max(1, current - around), min(pages, current + around) + 1)}
    out: list[int] = []
    for n in sorted(keep):
        if out and n - out[-1] > 1:
            out.append(0)
        out.append(n)
    return out
