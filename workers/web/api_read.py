"""The read side of the API: search, documents, entities, status, failures."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from tasks.models import EntityRow
from tasks.search.request import MAX_PAGE, SearchPage, SearchRequest
from workers.web.schemas import DocumentOut, EntityOut, ErrorOut
from workers.web.state import WebState, web
from workers.web.views import document_view, entity_view, search

router = APIRouter(prefix="/api", tags=["read"])
State = Annotated[WebState, Depends(web)]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "a query the parser cannot read"},
    404: {"model": ErrorOut, "description": "nothing by that id or name"},
    503: {"model": ErrorOut, "description": "the store is unavailable"},
}
Key = Annotated[str, Path(min_length=1, max_length=300)]


@router.get("/search", response_model=SearchPage, responses=ERRORS)
def api_search(state: State, request: Annotated[SearchRequest, Query()]) -> SearchPage:
    """Full-text search: words, "phrases", OR, -excluded, prefix*; filters, facets, pages."""
    return search(state.store, request)


@router.get("/documents/{doc_id}", response_model=DocumentOut, responses=ERRORS)
def api_document(state: State, doc_id: Key) -> DocumentOut:
    """A document (by id or unique id prefix): article, entity mentions, stage runs."""
    return document_view(state.store, doc_id)


@router.get("/entities", response_model=list[EntityRow], responses=ERRORS)
def api_entities(
    state: State,
    label: Annotated[str | None, Query(max_length=50, description="PERSON, ORG, ...")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[EntityRow]:
    """Canonical entities, most documents first."""
    return state.store.entities(label=label or None, limit=limit)


@router.get("/entities/{key:path}", response_model=EntityOut, responses=ERRORS)
def api_entity(
    state: State, key: Key, page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1
) -> EntityOut:
    """One entity (by id, canonical name or alias): documents, mentions per day and month,
    the entities most often mentioned with it."""
    return entity_view(state.store, key, page)


@router.get("/status", responses=ERRORS)
def api_status(state: State) -> dict[str, Any]:
    """What `docflow status --json` prints: counts, queues, workers, throughput, ETA."""
    from workers.commands.status import collect_status

    return collect_status(state.settings, state.store)


@router.get("/failed", responses=ERRORS)
def api_failed(state: State) -> list[dict[str, Any]]:
    """What `docflow failed --json` prints: failed documents and rejected files, oldest first."""
    from workers.commands.observe import failed_rows

    return failed_rows(state.store)
