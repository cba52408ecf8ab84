"""The reading pages: search (facets, dates, pages), a document, the entities, one entity."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from tasks.entities.spans import NAME_LABELS
from tasks.errors import QuerySyntaxError
from tasks.search.request import MAX_PAGE, SearchPage, SearchRequest
from workers.web import links, render
from workers.web.state import WebState, web
from workers.web.views import document_view, entity_view, search

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web)]


def page(state: WebState, request: Request, name: str, code: int = 200, **ctx: Any) -> Response:
    """A template rendered with what every page needs (helpers, whether writes need a token)."""
    ctx.update(
        render=render,
        links=links,
        token_needed=state.settings.write_token is not None,
    )
    return state.templates.TemplateResponse(request, name, ctx, status_code=code)


def search_request(request: Request) -> tuple[SearchRequest, str | None]:
    """The search the page's query string asks for; empty fields are left out. A value
    the model refuses gives the default search and the reason."""
    fields = SearchRequest.model_fields
    values = {k: v for k, v in request.query_params.items() if k in fields and v.strip()}
    try:
        return SearchRequest.model_validate(values), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return SearchRequest(), f"{where}: {first['msg']}" if where else first["msg"]


@router.get("/", response_class=HTMLResponse)
def search_page(state: State, request: Request) -> Response:
    """Search with a facet sidebar, a date range, highlighted snippets and pages."""
    wanted, problem = search_request(request)
    result: SearchPage | None = None
    hint = ""
    if problem is None:
        try:
            result = search(state.store, wanted)
        except QuerySyntaxError as exc:
            problem, hint = exc.message, exc.hint
    status = 200 if problem is None else 400
    return page(
        state,
        request,
        "search.html",
        status,
        req=wanted,
        result=result,
        problem=problem,
        hint=hint,
        titles=links.FACET_TITLES,
    )


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(state: State, request: Request, doc_id: str) -> Response:
    """A document's text with every entity mention highlighted, linking to its entity."""
    doc = document_view(state.store, doc_id)
    paragraphs = render.highlight_text(doc.text, doc.entities)
    titled = bool(doc.article and doc.article.title)
    return page(
        state,
        request,
        "document.html",
        doc=doc,
        title_html=paragraphs[0] if titled else None,
        body=paragraphs[1:] if titled else paragraphs,
        labels=sorted({m.label for m in doc.entities}),
    )


@router.get("/entities", response_class=HTMLResponse)
def entities_page(
    state: State, request: Request, label: Annotated[str | None, Query(max_length=50)] = None
) -> Response:
    rows = state.store.entities(label=label or None, limit=200)
    return page(state, request, "entities.html", rows=rows, label=label or "")


@router.get("/entities/{key:path}", response_class=HTMLResponse)
def entity_page(
    state: State,
    request: Request,
    key: str,
    page_no: Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """An entity: documents over time (a bar chart), aliases, co-mentioned entities."""
    view = entity_view(state.store, key, page_no)
    months = render.bars([(c.value, c.count) for c in view.per_month])
    days = render.bars([(c.value, c.count) for c in view.per_day])
    labels = sorted(NAME_LABELS - {view.entity.label})
    return page(state, request, "entity.html", view=view, months=months, days=days, labels=labels)
