"""The write side of the API: upload, retry, entity rules (each needs a writer; see
`workers.web.security`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workers.web.actions import retry, take_upload, write_rule
from workers.web.schemas import ErrorOut, RetryOut, RuleIn, RuleOut, UploadOut
from workers.web.security import require_writer
from workers.web.state import WebState, web
from workers.web.uploads import read_upload

router = APIRouter(prefix="/api", tags=["write"])
State = Annotated[WebState, Depends(web)]
#: declares the bearer scheme in the OpenAPI spec; the check is `require_writer`
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "the write token is missing or wrong"},
    403: {"model": ErrorOut, "description": "token-less writes are local only"},
    404: {"model": ErrorOut, "description": "no such document"},
    422: {"model": ErrorOut, "description": "the input cannot be used"},
    503: {"model": ErrorOut, "description": "no broker or store to do it with"},
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "one article: title, text or body, date, url, id, ...",
                }
            },
        },
    }
}


@router.post(
    "/documents",
    status_code=202,
    response_model=UploadOut,
    responses={
        **ERRORS,
        200: {"model": UploadOut, "description": "stored already: the existing document"},
        413: {"model": ErrorOut, "description": "over DOCFLOW_MAX_FILE_MB"},
        415: {"model": ErrorOut, "description": "neither a form nor JSON"},
    },
    openapi_extra=UPLOAD_BODY,
)
async def api_upload(state: State, request: Request, _token: Token) -> JSONResponse:
    """Take a file (multipart field `file`) or a JSON article through the same intake as
    the watched folder: 202 with the document id and its status URL; a duplicate answers
    200 with the existing id."""
    require_writer(request, state.settings)
    upload = await read_upload(request, state.settings.max_file_bytes)
    taken = await run_in_threadpool(take_upload, state, upload)
    return JSONResponse(taken.model_dump(), status_code=200 if taken.duplicate else 202)


@router.post("/documents/{doc_id}/retry", status_code=202, responses=ERRORS)
def api_retry(
    state: State,
    request: Request,
    _token: Token,
    doc_id: Annotated[str, Path(min_length=1, max_length=300)],
) -> RetryOut:
    """Run a failed document again from the stage that failed (`docflow retry`)."""
    require_writer(request, state.settings)
    return retry(state, doc_id)


@router.post("/entities/rules", responses=ERRORS)
def api_rule(state: State, request: Request, _token: Token, rule: RuleIn) -> RuleOut:
    """Add an alias, merge or block rule (`docflow entities alias|merge|block`); it applies
    to documents tagged from now on (`docflow reprocess --stage tag` for the others)."""
    require_writer(request, state.settings)
    return write_rule(state, rule)
