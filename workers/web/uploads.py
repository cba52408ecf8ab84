"""Receiving an uploaded file safely: capped at DOCFLOW_MAX_FILE_MB while it streams in,
held in memory (never a temporary file outside the data dir), then written under
`<data dir>/uploads/` only for as long as the intake reads it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

#: room for the multipart envelope (boundaries, headers, small fields) around the file
ENVELOPE_BYTES = 64 * 1024
_UNSAFE = re.compile(r"[^\w.\- ]+")
NAME_CHARS = 120


@dataclass
class Upload:
    """One uploaded file (or JSON article) and the form fields that came with it."""

    name: str
    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


def too_large(limit: int, size: int | None = None) -> HTTPException:
    what = f"{size / 1048576:.1f} MB" if size is not None else "this upload"
    return HTTPException(
        status_code=413,
        detail=f"{what} is over the limit of {limit / 1048576:g} MB (DOCFLOW_MAX_FILE_MB); "
        "split the file or raise the setting",
    )


async def _capped(request: Request, cap: int, limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > cap:
            raise too_large(limit)
        yield chunk


async def read_upload(request: Request, limit: int) -> Upload:
    """The file of a multipart form (field `file`) or a JSON article body; 413 past
    `limit` bytes, 415 for any other body, 422 for a form without a file."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise too_large(limit, int(declared))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        body = b"".join([c async for c in _capped(request, limit, limit)])
        return Upload(json_name(body), body)
    if ctype != "multipart/form-data":
        raise HTTPException(
            status_code=415,
            detail="send the file as multipart/form-data (field `file`) or an article as "
            "application/json",
        )
    return await _multipart(request, limit)


async def _multipart(request: Request, limit: int) -> Upload:
    parser = MultiPartParser(
        request.headers, _capped(request, limit + ENVELOPE_BYTES, limit), max_files=1
    )
    parser.spool_max_size = limit + ENVELOPE_BYTES  # stays in memory: no file in /tmp
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HTTPException(status_code=422, detail=f"unreadable form: {exc.message}") from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(status_code=422, detail="the form has no file (field `file`)")
        data = await upload.read()
        if len(data) > limit:
            raise too_large(limit, len(data))
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return Upload(safe_name(upload.filename or ""), data, fields)
    finally:
        await form.close()


def json_name(body: bytes) -> str:
    """`<article id>.json` for a JSON article (its `id` field, made safe), else
    `article.json`; 422 if the body is not a JSON object or array."""
    try:
        item = json.loads(body)
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=f"the body is not JSON: {exc}") from exc
    if not isinstance(item, dict | list):
        raise HTTPException(status_code=422, detail="send one article object or an array")
    ident = item.get("id") if isinstance(item, dict) else None
    stem = safe_name(str(ident)) if isinstance(ident, str | int) else "article"
    return f"{stem.removesuffix('.json') or 'article'}.json"


def safe_name(name: str) -> str:
    """A file name that is one plain path component: the last part of what the client
    sent, letters, digits, `.`, `-`, `_` and spaces only, no leading dot, 120 chars."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    clean = _UNSAFE.sub("_", base).strip(" ._")[:NAME_CHARS].strip(" ")
    return clean or "upload.txt"


@contextlib.contextmanager
def staged(data_dir: Path, name: str, data: bytes) -> Iterator[Path]:
    """The upload as a file in a fresh private folder under `<data dir>/uploads/`,
    removed when the block ends (the store keeps the content)."""
    root = data_dir / "uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="up-", dir=root))
    path = folder / safe_name(name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
