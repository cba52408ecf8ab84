"""Pydantic models shared by every stage; the ones that cross the broker are JSON only."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Status(StrEnum):
    """Where a document is in the pipeline; the store is the source of truth."""

    received = "received"
    parsed = "parsed"
    tagged = "tagged"
    indexed = "indexed"
    failed = "failed"


class Stage(StrEnum):
    """A step of the chain; each has its own Celery queue."""

    ingest = "ingest"
    parse = "parse"
    tag = "tag"
    index = "index"  # type: ignore[assignment]  # shadows str.index on purpose


#: the stage that runs next for a document in a given status
NEXT_STAGE: dict[Status, Stage | None] = {
    Status.received: Stage.parse,
    Status.parsed: Stage.tag,
    Status.tagged: Stage.index,
    Status.indexed: None,
    Status.failed: None,
}

FINAL_STATUSES = frozenset({Status.indexed, Status.failed})


class RawArticle(BaseModel):
    """One article as it came out of a dropped file, before parsing."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="name of the dropped file, relative to the inbox")
    format: str = Field(description="text | markdown | html | json")
    content: str = Field(description="decoded text (for json: the object as JSON text)")
    part: int = Field(default=0, description="index of the article inside a multi-article file")


class Article(BaseModel):
    """A parsed article: structure plus the text that entity offsets refer to."""

    title: str = ""
    published: str | None = Field(default=None, description="ISO date (YYYY-MM-DD) or datetime")
    dateline: str | None = None
    headings: list[str] = Field(default_factory=list)
    heading_positions: list[int] = Field(
        default_factory=list, description="for each heading, how many paragraphs precede it"
    )
    paragraphs: list[str] = Field(default_factory=list)
    language: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def blocks(self) -> list[str]:
        """Paragraphs with the section headings in their places (headings without a
        known place come last)."""
        if len(self.heading_positions) != len(self.headings):
            return [*self.paragraphs, *self.headings]
        out: list[str] = []
        pending = sorted(zip(self.heading_positions, range(len(self.headings)), strict=True))
        for index, paragraph in enumerate(self.paragraphs):
            while pending and pending[0][0] <= index:
                out.append(self.headings[pending.pop(0)[1]])
            out.append(paragraph)
        out.extend(self.headings[i] for _, i in pending)
        return out

    @property
    def text(self) -> str:
        """Title, then headings and paragraphs in order: the text entity offsets refer to."""
        return article_text(self.title, self.blocks)

    @property
    def body(self) -> str:
        """Headings and paragraphs, without the title."""
        return "\n\n".join(self.blocks)

    @property
    def word_count(self) -> int:
        return len(self.body.split())


def article_text(title: str, paragraphs: list[str]) -> str:
    """The canonical text of an article: title, blank line, paragraphs split by blank lines."""
    parts = [title] if title else []
    parts.extend(paragraphs)
    return "\n\n".join(parts)


class Mention(BaseModel):
    """One entity mention with character offsets into `Article.text`."""

    text: str
    label: str
    start: int
    end: int
    canonical: str = ""
    entity_id: str = ""


def document_id(content_hash: str) -> str:
    """A document's id: the first 16 hex digits of its content hash (`tasks.ingest`)."""
    return content_hash[:16]


#: a list of mentions built, read or written in one pydantic call (not one per mention)
MENTIONS: TypeAdapter[list[Mention]] = TypeAdapter(list[Mention])


class DocumentRecord(BaseModel):
    """A document as the store holds it."""

    id: str
    content_hash: str
    source: str
    format: str
    status: Status
    trace_id: str
    stage: str | None = None
    attempts: int = 0
    last_error: str | None = None
    created_at: float
    updated_at: float
    raw: str = ""
    article: Article | None = None
    mentions: list[Mention] = Field(default_factory=list)
    tag_version: str | None = None


class StageRun(BaseModel):
    """One stage of one document's journey, for `docflow trace`."""

    stage: str
    worker: str | None = None
    task_id: str | None = None
    started: float | None = None
    duration_ms: float | None = None
    attempts: int = 0
    error: str | None = None
    batch_id: str | None = None  #: the batch task it ran in, if any
    batch_size: int | None = None


class SearchHit(BaseModel):
    """One document a search found (`tasks.store.search`)."""

    id: str
    title: str
    score: float = Field(
        description="relevance, higher first and above 0 (FTS5 bm25 or ts_rank, title "
        "weighted above the body; 1.0 for every document of a listing)"
    )
    snippet: str = Field(
        description="HTML-safe: one or two sentences of the text, HTML-escaped, with "
        "<mark>...</mark> around the words the query matched (tasks.search.snippet); one "
        "line, at most 300 characters of text"
    )
    source: str = ""
    published: str | None = None


class EntityRow(BaseModel):
    """A canonical entity: one row per real-world thing."""

    id: str
    name: str
    label: str
    aliases: list[str] = Field(default_factory=list)
    documents: int = 0
    mentions: int = 0


class RejectedFileRecord(BaseModel):
    """A dropped file that never became a document, and why."""

    source: str
    stage: str = "ingest"
    error: str
    attempts: int = 1
    at: float


class IngestResult(BaseModel):
    """What became of one dropped file."""

    source: str
    new_ids: list[str] = Field(default_factory=list)
    traces: dict[str, str] = Field(default_factory=dict, description="trace id of each new doc")
    duplicate_ids: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    words: dict[str, int] = Field(
        default_factory=dict, description="estimated words of each new doc (batch planning)"
    )
