"""What a search asks for and what it answers: one model for the CLI, the API and the pages.

`SearchRequest` holds the query text, the filters and the page; the stores read it
through `parse_query` (`tasks.search.query`) and answer a `SearchPage`: the total, one
page of hits with highlighted snippets, and facet counts for the whole result.
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasks.models import SearchHit, Status
from tasks.search.query import Query, parse_query

MAX_PER_PAGE = 100
#: pages past this one are not served (deep paging costs the store more than it helps)
MAX_PAGE = 1000
#: values listed per facet
FACET_LIMIT = 10
FACETS = ("entities", "labels", "months", "days", "datelines", "languages", "formats")


class SearchRequest(BaseModel):
    """A search: query text (see `tasks.search.query`), filters and page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str = Field(default="", max_length=1000, description='words, "phrases", OR, -word, pre*')
    entity: str | None = Field(
        default=None, description="an entity id, canonical name or alias (accents optional)"
    )
    label: str | None = Field(default=None, description="entity label: PERSON, ORG, GPE, ...")
    date_from: date | None = Field(default=None, description="published on or after")
    date_to: date | None = Field(default=None, description="published on or before")
    dateline: str | None = Field(default=None, description="the dateline's place")
    lang: str | None = Field(default=None, description="language code, e.g. en")
    format: str | None = Field(default=None, description="text, markdown, html or json")
    status: Status | None = Field(
        default=None, description="only with an empty query: documents in this status"
    )
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    per_page: int = Field(default=10, ge=1, le=MAX_PER_PAGE)
    facets: bool = Field(default=True, description="count facets over the whole result")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(
                f"date_from {self.date_from} is after date_to {self.date_to}: swap them"
            )
        return self

    @property
    def query(self) -> Query:
        """The parsed query (raises QuerySyntaxError when it cannot be read)."""
        return parse_query(self.q)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


class FacetCount(BaseModel):
    """One value of a facet and how many documents of the result have it."""

    value: str
    count: int
    name: str | None = Field(default=None, description="what to show, when not the value")
    label: str | None = Field(default=None, description="an entity's label")


class SearchPage(BaseModel):
    """One page of a search's result, with its total and facets."""

    request: SearchRequest
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[FacetCount]] = Field(
        default_factory=dict,
        description="per facet, the most frequent values of the whole result, biggest first;"
        " `entities` holds the top ten of each label, labels in the order of `labels`",
    )

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.request.per_page))
