"""The shapes the API answers with (they make its OpenAPI spec)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tasks.models import DocumentRecord, EntityRow, Mention, SearchHit, StageRun
from tasks.search.request import FacetCount


class ErrorOut(BaseModel):
    """What went wrong and what to do about it."""

    error: str
    hint: str = ""


class DocumentOut(DocumentRecord):
    """A document: the store's record, its entity mentions (offsets into `text`) and stage
    runs; the raw file text and the store's `mentions` field are not served."""

    raw: str = Field(default="", exclude=True)
    mentions: list[Mention] = Field(default_factory=list, exclude=True)
    text: str = Field(default="", description="the text mention offsets refer to")
    entities: list[Mention] = Field(default_factory=list)
    stage_runs: list[StageRun] = Field(default_factory=list)


class EntityOut(BaseModel):
    """One entity: its documents (a page of them), mentions over time, co-mentioned ones."""

    entity: EntityRow
    total: int = Field(description="documents mentioning it")
    page: int
    pages: int
    documents: list[SearchHit]
    per_day: list[FacetCount] = Field(default_factory=list)
    per_month: list[FacetCount] = Field(default_factory=list)
    co_mentioned: list[FacetCount] = Field(default_factory=list)


class UploadOut(BaseModel):
    """A file (or article) taken in: its document, and where to follow it."""

    id: str = Field(description="the (first) document of the file")
    ids: list[str] = Field(description="every document of the file, new or duplicate")
    duplicate: bool = Field(description="true if every document was stored already")
    status_url: str
    source: str
    queued: bool = Field(description="false if the broker could not be reached")
    errors: list[str] = Field(default_factory=list, description="parts of the file left out")


class RetryOut(BaseModel):
    id: str
    from_stage: str
    status_url: str


class RuleIn(BaseModel):
    """An entity rule, as `docflow entities alias|merge|relabel|block` writes it."""

    kind: Literal["alias", "merge", "relabel", "block"]
    name: str = Field(
        min_length=1,
        max_length=200,
        description="alias: the canonical name; merge: the entity merged away;"
        " relabel, block: the name",
    )
    other: str | None = Field(
        default=None,
        max_length=200,
        description="alias: the other spelling; merge: the entity that stays;"
        " relabel: the label (GPE, ORG, PERSON, ...)",
    )


class RuleOut(BaseModel):
    file: str
    message: str
