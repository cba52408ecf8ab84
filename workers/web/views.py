"""What a document or an entity shows, the same for the API and the pages."""

from __future__ import annotations

from tasks.models import EntityRow
from tasks.search.request import FacetCount, SearchPage, SearchRequest
from tasks.store import Store
from workers.commands import resolve_id
from workers.web.errors import NotFound
from workers.web.schemas import DocumentOut, EntityOut

#: documents listed per page of an entity
ENTITY_PER_PAGE = 20


def search(store: Store, request: SearchRequest) -> SearchPage:
    """One page of a search (QuerySyntaxError for a query that cannot be read)."""
    return store.search_page(request)


def document_view(store: Store, ident: str) -> DocumentOut:
    """A document by id or unique id prefix (DocumentNotFound otherwise)."""
    doc = store.get_document(resolve_id(store, ident))
    return DocumentOut(
        **doc.model_dump(exclude={"raw", "mentions"}),
        text=doc.article.text if doc.article else "",
        entities=sorted(doc.mentions, key=lambda m: (m.start, m.end)),
        stage_runs=store.stage_runs(doc.id),
    )


def entity_view(store: Store, key: str, page: int = 1) -> EntityOut:
    """An entity by id, canonical name or alias: its documents, per day and month, and
    the entities most often mentioned with it (NotFound if there is none)."""
    row = store.entity(key)
    if row is None:
        raise NotFound(
            f"no entity {key!r}",
            hint="entities are listed at /entities and by `docflow entities`",
        )
    result = store.search_page(
        SearchRequest(entity=row.id, page=page, per_page=ENTITY_PER_PAGE, facets=True)
    )
    return EntityOut(
        entity=row,
        total=result.total,
        page=page,
        pages=result.pages,
        documents=result.hits,
        per_day=result.facets.get("days", []),
        per_month=result.facets.get("months", []),
        co_mentioned=co_mentioned(row, result.facets.get("entities", [])),
    )


def co_mentioned(row: EntityRow, counts: list[FacetCount]) -> list[FacetCount]:
    """The entities facet of an entity's documents, without the entity itself."""
    return [c for c in counts if c.value != row.id]
