"""The operating pages: the pipeline (refreshing itself), upload, and the forms that write
(retry, entity rules). A form's writes go through the same actions and the same writer
check as the API, the write token coming from the form's `token` field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from workers.web.actions import BadRule, retry, take_upload, write_rule
from workers.web.pages import page
from workers.web.render import entity_href
from workers.web.schemas import RuleIn
from workers.web.security import require_writer
from workers.web.state import WebState, web
from workers.web.uploads import read_upload

router = APIRouter(include_in_schema=False)
State = Annotated[WebState, Depends(web)]
#: seconds between refreshes of the pipeline page
REFRESH_S = 5
#: recent failures listed on the pipeline page
RECENT_FAILURES = 20
TokenField = Annotated[str | None, Form(max_length=500)]


def pipeline_data(state: WebState) -> dict[str, Any]:
    """`docflow status --json` and the latest failures (newest first)."""
    from workers.commands.observe import failed_rows
    from workers.commands.status import collect_status, fmt_duration

    status = collect_status(state.settings, state.store)
    failures = list(reversed(failed_rows(state.store)))[:RECENT_FAILURES]
    eta = fmt_duration(status["eta_s"]) if status["backlog"] else "none (no backlog)"
    return {"status": status, "failures": failures, "eta": eta}


@router.get("/pipeline", response_class=HTMLResponse)
def pipeline_page(state: State, request: Request) -> Response:
    """Documents per status, queues, workers, throughput, ETA, recent failures."""
    data = pipeline_data(state)
    return page(state, request, "pipeline.html", refresh=REFRESH_S, **data)


@router.get("/upload", response_class=HTMLResponse)
def upload_form(state: State, request: Request) -> Response:
    return page(state, request, "upload.html", limit_mb=state.settings.max_file_mb)


@router.post("/upload")
async def upload_post(state: State, request: Request) -> Response:
    """Take the form's file through the intake; then show its document."""
    if state.settings.write_token is None:
        require_writer(request, state.settings)  # before reading a byte of the body
    upload = await read_upload(request, state.settings.max_file_bytes)
    require_writer(request, state.settings, upload.fields.get("token"))
    taken = await run_in_threadpool(take_upload, state, upload)
    done = "duplicate" if taken.duplicate else "uploaded"
    return RedirectResponse(f"/documents/{taken.id}?done={done}", status_code=303)


@router.post("/documents/{doc_id}/retry")
def retry_post(state: State, request: Request, doc_id: str, token: TokenField = None) -> Response:
    require_writer(request, state.settings, token)
    retry(state, doc_id)
    return RedirectResponse("/pipeline?done=retried", status_code=303)


@router.post("/entities/rules")
def rule_post(
    state: State,
    request: Request,
    kind: Annotated[str, Form(max_length=10)],
    name: Annotated[str, Form(min_length=1, max_length=200)],
    back: Annotated[str, Form(max_length=300)],
    other: Annotated[str | None, Form(max_length=200)] = None,
    token: TokenField = None,
) -> Response:
    """An alias/merge/relabel/block rule from an entity page; back to that page."""
    require_writer(request, state.settings, token)
    try:
        rule = RuleIn.model_validate({"kind": kind, "name": name, "other": other or None})
    except ValidationError as exc:
        raise BadRule(
            str(exc.errors()[0]["msg"]), hint="choose alias, merge, relabel or block"
        ) from exc
    write_rule(state, rule)
    return RedirectResponse(f"{entity_href(back)}?done=rule", status_code=303)
