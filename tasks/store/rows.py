"""Rows as both stores return them, and the records they become (one mapping for both)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from tasks.models import (
    MENTIONS,
    Article,
    DocumentRecord,
    EntityRow,
    Mention,
    RejectedFileRecord,
    StageRun,
    Status,
)

#: the columns copied as they are into a DocumentRecord (status, article, mentions are read)
_DOC_FIELDS = (
    "id",
    "content_hash",
    "source",
    "format",
    "trace_id",
    "stage",
    "attempts",
    "last_error",
    "created_at",
    "updated_at",
    "raw",
    "tag_version",
)
_STAGE_RUN_FIELDS = (
    "stage",
    "worker",
    "task_id",
    "started",
    "duration_ms",
    "attempts",
    "error",
    "batch_id",
    "batch_size",
)
_REJECTED_FIELDS = ("source", "stage", "error", "attempts", "at")
#: what `document_record`, `stage_run` and `rejected_file` read
DOC_COLUMNS = ", ".join([*_DOC_FIELDS, "status", "article", "mentions"])
STAGE_RUN_COLUMNS = ", ".join(_STAGE_RUN_FIELDS)
REJECTED_COLUMNS = ", ".join(_REJECTED_FIELDS)
#: what `entity_row` reads
ENTITY_COLUMNS = "id, name, label, aliases, documents, mentions"
#: the columns search filters on, set in the order `tasks.search.fields.search_fields` gives
SEARCH_FIELDS_SET = "published_day = ?, dateline_place = ?, dateline_key = ?, language = ?"


class Row(Protocol):
    """A row read by name: a sqlite3.Row or a psycopg dict row."""

    def __getitem__(self, key: str, /) -> Any: ...


class Result(Protocol):
    """What executing one statement gives back: a sqlite3 or psycopg cursor."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


def article_of(text: str | None) -> Article | None:
    return Article.model_validate_json(text) if text else None


def mentions_of(text: str | None) -> list[Mention]:
    return MENTIONS.validate_json(text) if text else []


def _pick(row: Row, names: Iterable[str]) -> dict[str, Any]:
    return {name: row[name] for name in names}


def document_record(row: Row) -> DocumentRecord:
    return DocumentRecord(
        **_pick(row, _DOC_FIELDS),
        status=Status(row["status"]),
        article=article_of(row["article"]),
        mentions=mentions_of(row["mentions"]),
    )


def stage_run(row: Row) -> StageRun:
    return StageRun(**_pick(row, _STAGE_RUN_FIELDS))


def rejected_file(row: Row) -> RejectedFileRecord:
    return RejectedFileRecord(**_pick(row, _REJECTED_FIELDS))


def entity_row(row: Row) -> EntityRow:
    """Aliases are a JSON text column in SQLite and a text[] in PostgreSQL."""
    aliases = row["aliases"]
    return EntityRow(
        id=row["id"],
        name=row["name"],
        label=row["label"],
        aliases=json.loads(aliases) if isinstance(aliases, str) else list(aliases),
        documents=row["documents"],
        mentions=row["mentions"],
    )


#: one of the model's own entity spans: (start, end, label)
Span = tuple[int, int, str]


def mentions_json(mentions: list[Mention]) -> str:
    """A document's mentions as its `mentions` column holds them."""
    return MENTIONS.dump_json(mentions).decode()


def spans_json(spans: list[Span] | None) -> str | None:
    """The model's spans as the `raw_spans` column holds them (None: not kept)."""
    return None if spans is None else json.dumps([list(s) for s in spans], ensure_ascii=False)


def spans_of(raw: str | None) -> list[Span] | None:
    """The `raw_spans` column read back."""
    if raw is None:
        return None
    return [(int(a), int(b), str(label)) for a, b, label in json.loads(raw)]
