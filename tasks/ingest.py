"""Ingest: one dropped file's bytes -> decoded, split, de-duplicated articles in the store."""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import PurePath

from charset_normalizer import from_bytes

from tasks.errors import (
    EmptyDocument,
    FileTooLarge,
    RejectedFile,
    UndecodableContent,
    UnsupportedFormat,
)
from tasks.models import IngestResult, RawArticle, Stage
from tasks.store.base import StageResult, Store

FORMATS: dict[str, str] = {
    "": "text",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
SUPPORTED = ", ".join(sorted(k for k in FORMATS if k))

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = (
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive (or .docx/.odt)"),
    (b"7z\xbc\xaf", "a 7-zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ", "an xz archive"),
    (b"%PDF", "a PDF"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
#: every character a terminal may act on: C0 and C1 controls, DEL, bidi overrides
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: one article's text: longer is not an article (a log, a dump, a runaway export); spaCy
#: itself refuses texts over 1,000,000 characters by default
MAX_ARTICLE_CHARS = 1_000_000
#: HTML carries markup around the article, so a page may be this much larger
MAX_HTML_CHARS = 10 * MAX_ARTICLE_CHARS
#: Python refuses to convert longer integers (sys.get_int_max_str_digits)
_MAX_INT_DIGITS = 4000


def display_name(name: str) -> str:
    """The file name safe to store, log and print: control characters become escapes.

    A name may hold newlines, ANSI escape sequences or bidi overrides; shown raw they
    could forge log lines or rewrite a terminal. `a\nb.txt` becomes `a\\nb.txt`.
    """
    if not _UNSAFE_NAME.search(name):
        return name
    return _UNSAFE_NAME.sub(lambda m: repr(m[0])[1:-1], name)


def detect_format(name: str) -> str:
    """The format a file name says it holds; UnsupportedFormat otherwise."""
    suffix = PurePath(name).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise UnsupportedFormat(
        f"{name}: files of type {suffix!r} are not supported",
        hint=f"convert it to one of {SUPPORTED}",
    )


def decode(name: str, data: bytes) -> str:
    """Bytes to text: BOMs honoured, UTF-8 first, then a detected legacy encoding."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise UnsupportedFormat(
                f"{name}: the file is {what}, not text",
                hint="extract or convert it to text, HTML, Markdown or JSON and drop that",
            )
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise UndecodableContent(f"{name}: broken {encoding} text ({exc.reason})") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if data.count(b"\x00") > len(data) // 10:
        raise UndecodableContent(
            f"{name}: the file looks binary (many NUL bytes), not text",
            hint="drop text, HTML, Markdown or JSON files only",
        )
    lenient = mostly_utf8(data)
    if lenient is not None:
        return lenient
    legacy = guess_legacy_encoding(data[:1_000_000])
    if legacy is None:
        raise UndecodableContent(
            f"{name}: the bytes are not text in any encoding docflow recognises",
            hint="save the file as UTF-8 and drop it again",
        )
    return data.decode(legacy, errors="replace")


def mostly_utf8(data: bytes) -> str | None:
    """UTF-8 text with a few broken bytes, decoded with U+FFFD for them; else None.

    A legacy (Latin-1, cp1252) file has almost no valid multi-byte UTF-8 sequences; a
    UTF-8 file damaged in places has more valid non-ASCII characters than broken ones.
    """
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - broken
    return text if valid > broken else None


def guess_legacy_encoding(sample: bytes) -> str | None:
    """charset-normalizer's guess; among equally clean candidates, Windows-1252 wins.

    Short Western texts decode cleanly in many single-byte code pages; cp1252 is by far
    the most common legacy encoding of news text, so it breaks the tie.
    """
    results = from_bytes(sample)
    matches = list(results)
    if not matches:
        return None
    best_chaos = min(m.chaos for m in matches)
    for match in matches:
        if match.chaos <= best_chaos + 0.01 and {"cp1252", "latin_1"} & set(
            match.could_be_from_charset
        ):
            return "cp1252"
    best = results.best()
    return best.encoding if best is not None else None


def clean_text(text: str) -> str:
    """Unicode NFC, LF line endings, no ANSI escapes or control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def content_hash(text: str) -> str:
    """sha256 of normalised content: whitespace differences do not make a new document."""
    normal = " ".join(unicodedata.normalize("NFKC", text).split()).casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def split_file(name: str, data: bytes, *, max_bytes: int) -> tuple[list[RawArticle], list[str]]:
    """Articles in one file, and readable errors for parts that could not be taken.

    A whole-file problem (size, type, encoding, nothing inside) raises a RejectedFile.
    """
    name = display_name(name)
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"{name}: {len(data) / 1e6:.1f} MB is over the limit of {max_bytes / 1e6:.1f} MB",
            hint="split the file or raise DOCFLOW_MAX_FILE_MB",
        )
    fmt = detect_format(name)
    text = clean_text(decode(name, data))
    if not text.strip():
        raise EmptyDocument(
            f"{name}: the file is empty or only whitespace",
            hint="check the export that produced it",
        )
    if fmt == "jsonl":
        return _split_jsonl(name, text)
    if fmt == "json":
        return _split_json(name, text)
    problem = _too_long(text, MAX_HTML_CHARS if fmt == "html" else MAX_ARTICLE_CHARS)
    if problem:
        raise RejectedFile(
            f"{name}: {problem}",
            hint="split it into several articles (one per file, or one per line of a .jsonl)",
        )
    return [RawArticle(source=name, format=fmt, content=text)], []


def _too_long(text: str, limit: int) -> str | None:
    """Why a text is too long to be one article, or None."""
    if len(text) <= limit:
        return None
    return (
        f"the article is {len(text) / 1e6:.1f} million characters, over the limit of "
        f"{limit / 1e6:g} million characters for one article"
    )


def _int_or_text(digits: str) -> int | str:
    """A JSON integer; one too long for Python to convert stays text (no ValueError)."""
    return int(digits) if len(digits.lstrip("-")) <= _MAX_INT_DIGITS else digits


def _decode(text: str) -> object:
    """json.loads whose only error is ValueError(reason, where): `where` is " at line L
    column C" for a syntax error and empty for nesting too deep to read."""
    try:
        return json.loads(text, parse_int=_int_or_text)
    except json.JSONDecodeError as exc:
        raise ValueError(exc.msg, f" at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("nested too deeply to read", "") from None


def _split_json(name: str, text: str) -> tuple[list[RawArticle], list[str]]:
    try:
        value = _decode(text)
    except ValueError as exc:
        reason, where = exc.args
        raise RejectedFile(
            f"{name}: invalid JSON{where}: {reason}",
            hint="give one article object (or an array of them) with a 'text' field,"
            " or use .jsonl with one article object per line",
        ) from None
    items = value if isinstance(value, list) else [value]
    articles: list[RawArticle] = []
    errors: list[str] = []
    for i, item in enumerate(items):
        _keep(_json_article(name, f"item {i + 1}", i, item), articles, errors)
    return _found(articles, errors, f"{name}: the JSON array is empty", "each item")


def _split_jsonl(name: str, text: str) -> tuple[list[RawArticle], list[str]]:
    articles: list[RawArticle] = []
    errors: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = _decode(line)
        except ValueError as exc:
            errors.append(f"{name}: line {lineno} is not valid JSON ({exc.args[0]})")
            continue
        _keep(_json_article(name, f"line {lineno}", lineno, item), articles, errors)
    return _found(articles, errors, f"{name}: no article objects in the file", "each line")


def _found(
    articles: list[RawArticle], errors: list[str], empty: str, unit: str
) -> tuple[list[RawArticle], list[str]]:
    """The articles of a JSON file and its errors; no article at all rejects the file."""
    if not articles:
        raise RejectedFile(
            errors[0] if errors else empty,
            hint=f"{unit} must be one JSON object with a 'text' or 'body' field",
        )
    return articles, errors


def _json_article(name: str, where: str, part: int, item: object) -> RawArticle | str:
    """The article of one JSON value of a file, or what is wrong with it (`where`: its place)."""
    if not isinstance(item, dict):
        return f"{name}: {where} is a JSON {type(item).__name__}, not an object"
    content = json.dumps(item, ensure_ascii=False)
    problem = _too_long(content, MAX_ARTICLE_CHARS)
    if problem:
        return f"{name}: {where}: {problem}"
    return RawArticle(source=name, format="json", part=part, content=content)


def _keep(found: RawArticle | str, articles: list[RawArticle], errors: list[str]) -> None:
    if isinstance(found, str):
        errors.append(found)
    else:
        articles.append(found)


def new_trace_id() -> str:
    return uuid.uuid4().hex


def estimated_words(raw: str | bytes | None) -> int:
    """A document's word count before it is parsed: whitespace-separated runs, at least 1."""
    if not raw:
        return 1
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return max(1, len(text.split()))


@dataclass
class PreparedFile:
    """One file split into articles and hashed, not yet recorded (pure: no store I/O)."""

    source: str
    articles: list[RawArticle]
    hashes: list[str]
    errors: list[str]  #: parts that could not be taken (recorded as rejected parts)
    started: float = field(default_factory=time.time)


def prepare_file(name: str, data: bytes, *, max_bytes: int) -> PreparedFile:
    """Split and hash one file's articles; a whole-file problem raises a RejectedFile."""
    started = time.time()
    source = display_name(name)
    articles, errors = split_file(source, data, max_bytes=max_bytes)
    hashes = [content_hash(raw.content) for raw in articles]
    return PreparedFile(source, articles, hashes, errors, started)


def record_files(
    store: Store,
    files: list[PreparedFile],
    *,
    worker: str | None = None,
    task_id: str | None = None,
) -> list[IngestResult]:
    """Record the articles (and rejected parts) of several files in ONE store transaction.

    All or nothing: a store that fails (StoreUnavailable, a database error) writes none of
    the files, so their callers keep every file and try again. One result per file, in
    order. Articles are written in content-hash order, so two watchers recording groups
    that share content lock the same rows in the same order (no deadlock on PostgreSQL).
    """
    results = [IngestResult(source=f.source, errors=list(f.errors)) for f in files]
    order = sorted(
        ((digest, i, j) for i, f in enumerate(files) for j, digest in enumerate(f.hashes)),
    )
    outcome: dict[tuple[int, int], tuple[str, bool, str]] = {}
    with store.batch(()):
        for digest, i, j in order:
            raw, prepared = files[i].articles[j], files[i]
            run = StageResult(
                stage=Stage.ingest,
                worker=worker,
                task_id=task_id,
                started=prepared.started,
                duration_ms=(time.time() - prepared.started) * 1000,
            )
            trace_id = new_trace_id()
            doc_id, created = store.add_document(raw, digest, trace_id, run)
            outcome[(i, j)] = (doc_id, created, trace_id)
        for prepared in files:
            for error in prepared.errors:
                store.record_rejected(prepared.source, error)
    for i, prepared in enumerate(files):
        result = results[i]
        for j, raw in enumerate(prepared.articles):
            doc_id, created, trace_id = outcome[(i, j)]
            if created:
                result.new_ids.append(doc_id)
                result.traces[doc_id] = trace_id
                result.words[doc_id] = estimated_words(raw.content)
            else:
                result.duplicate_ids.append(doc_id)
    return results


def ingest_file(
    store: Store,
    name: str,
    data: bytes,
    *,
    max_bytes: int,
    worker: str | None = None,
    task_id: str | None = None,
) -> IngestResult:
    """Record every article of a file in the store. RejectedFile if none can be taken.

    Per-article problems (a bad JSONL line) are recorded as rejected parts and returned in
    `errors`; the good articles still go in, in the same transaction. Duplicates come back
    in `duplicate_ids`.
    """
    prepared = prepare_file(name, data, max_bytes=max_bytes)
    return record_files(store, [prepared], worker=worker, task_id=task_id)[0]
