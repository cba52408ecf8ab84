"""A store that answers the web pages from fixed data (hostile strings included), so the
pages' escaping and the security rules are tested without services."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tasks.errors import DocumentNotFound, QuerySyntaxError
from tasks.models import (
    Article,
    DocumentRecord,
    EntityRow,
    Mention,
    RejectedFileRecord,
    SearchHit,
    StageRun,
    Status,
)
from tasks.search.request import FacetCount, SearchPage, SearchRequest
from workers.settings import Settings
from workers.web.app import create_app

SCRIPT = "<script>alert(1)</script>"
TITLE = f"Talks on {SCRIPT} & more"
BODY = f'The group {SCRIPT} met "Hakan Fidan" in Ankara.'
SCRIPT_ID = "ORG:<script>"


def article() -> Article:
    return Article(title=TITLE, published="2025-03-24", dateline="ANKARA", paragraphs=[BODY])


def script_mention(start: int, entity_id: str = SCRIPT_ID) -> Mention:
    """The hostile ORG named `<script>` at `start`: every page must render it inert."""
    return Mention(
        text=SCRIPT,
        label="ORG",
        start=start,
        end=start + len(SCRIPT),
        canonical=SCRIPT,
        entity_id=entity_id,
    )


def mentions() -> list[Mention]:
    text = article().text
    fidan = text.index("Hakan Fidan")
    return [
        script_mention(text.index(SCRIPT, len(TITLE))),
        Mention(
            text="Hakan Fidan",
            label="PERSON",
            start=fidan,
            end=fidan + 11,
            canonical="Hakan Fidan",
            entity_id="PERSON:hakan-fidan",
        ),
    ]


class FakeStore:
    """Just what the web app reads, from fixed data."""

    url = "sqlite:///fake.db"

    def __init__(self) -> None:
        now = time.time()
        self.doc = DocumentRecord(
            id="d" * 16,
            content_hash="h",
            source=f"{SCRIPT}.txt",
            format="text",
            status=Status.failed,
            trace_id="t",
            stage="tag",
            attempts=1,
            last_error=f"boom {SCRIPT}",
            created_at=now,
            updated_at=now,
            article=article(),
            mentions=mentions(),
        )
        self.requests: list[SearchRequest] = []

    def close(self) -> None: ...

    def search_page(self, request: SearchRequest) -> SearchPage:
        self.requests.append(request)
        if request.q == "(":
            raise QuerySyntaxError("an opening ( without its )", hint="close it: (a OR b)")
        hit = SearchHit(
            id=self.doc.id,
            title=TITLE,
            score=1.0,
            source=self.doc.source,
            snippet=f"before {SCRIPT} <mark>Fidan</mark> & after",
            published="2025-03-24",
        )
        facets = {
            "entities": [
                FacetCount(value=SCRIPT_ID, count=1, name=SCRIPT, label="ORG"),
                FacetCount(value="PERSON:hakan-fidan", count=1, name="Hakan Fidan", label="PERSON"),
            ],
            "months": [FacetCount(value="2025-03", count=1)],
            "days": [FacetCount(value="2025-03-24", count=1)],
            "datelines": [FacetCount(value=SCRIPT, count=1)],
        }
        return SearchPage(request=request, total=1, hits=[hit], facets=facets)

    def entity(self, key: str) -> EntityRow | None:
        if key not in (SCRIPT_ID, SCRIPT):
            return None
        return EntityRow(
            id=SCRIPT_ID, name=SCRIPT, label="ORG", aliases=[f"{SCRIPT}!"], documents=1, mentions=1
        )

    def entities(self, *, label: str | None = None, limit: int = 50) -> list[EntityRow]:
        row = self.entity(SCRIPT_ID)
        return [row] if row else []

    def find_ids(self, prefix: str) -> list[str]:
        return [self.doc.id] if self.doc.id.startswith(prefix) else []

    def get_document(self, doc_id: str) -> DocumentRecord:
        if doc_id != self.doc.id:
            raise DocumentNotFound(f"no document {doc_id}")
        return self.doc

    def stage_runs(self, doc_id: str) -> list[StageRun]:
        return [StageRun(stage="tag", worker=SCRIPT, attempts=1, error=f"boom {SCRIPT}")]

    def counts(self) -> dict[str, int]:
        return {s.value: int(s is Status.failed) for s in Status}

    def rejected_files(self) -> list[RejectedFileRecord]:
        return [RejectedFileRecord(source=f"{SCRIPT}.bin", error=f"bad {SCRIPT}", at=time.time())]

    def failed_documents(self) -> list[DocumentRecord]:
        return [self.doc]

    def indexed_since(self, since: float) -> int:
        return 0


def client(tmp_path: Path, token: str | None = None, **kwargs: Any) -> TestClient:
    """A test client on the fake store, as a browser on 127.0.0.1 would reach it."""
    settings = Settings(data_dir=tmp_path, write_token=token, broker_url=None)
    app = create_app(settings, store=FakeStore())  # type: ignore[arg-type]
    kwargs.setdefault("client", ("127.0.0.1", 50000))
    return TestClient(app, base_url="http://127.0.0.1:8000", **kwargs)
