"""A batch's work between the leases and the writes: parse each, ONE model call for all.

Nothing here writes to the store. Each document's own error becomes its `Problem`
(recorded by `workers.batch_writes`, inside the write transaction); a soft time limit or
an error outside one document's work breaks the batch as a whole (`crash_all`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from tasks.errors import DocumentNotFound, PermanentError, RetryableError, TaggingError
from tasks.models import RawArticle, Stage
from tasks.parse import parse_article
from tasks.store import Store
from tasks.tag import Tagger
from workers.batch_members import BatchCall, Member, Problem, running

log = structlog.get_logger("docflow.batch")


def compute(
    members: list[Member], get_tagger: Callable[[], Tagger], batch: BatchCall, store: Store
) -> None:
    """The batch's parse (each document) and tag (one `tag_batch`, then one read of the
    collection's evidence in `store`), as far as it runs them.

    Index has no work outside the store: its writes are all in the write transaction.
    """
    if Stage.parse in batch.stages:
        _parse_each(members)
    if Stage.tag in batch.stages:
        _tag_all(members, get_tagger, batch, store)


def _parse_each(members: list[Member]) -> None:
    for member in running(members):
        doc = member.doc
        raw = RawArticle(source=doc.source, format=doc.format, content=doc.raw)
        done = member.start(Stage.parse)  # this document's own parse time, not the batch's
        try:
            member.article = parse_article(raw)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:
            member.problem = Problem(Stage.parse, exc)
        else:
            member.done[Stage.parse] = done()


def _tag_all(
    members: list[Member], get_tagger: Callable[[], Tagger], batch: BatchCall, store: Store
) -> None:
    """ONE `Tagger.tag_batch_with_spans` over the texts of every document still running,
    then ONE `Tagger.with_collection` (the store's label evidence for the whole batch)."""
    parsed: list[Member] = []
    for member in running(members):
        if member.problem is not None:
            continue
        if member.article is None:  # a tag batch over a document parse left no article for
            missing = DocumentNotFound(f"document {member.doc.id} has no parsed article to tag")
            member.problem = Problem(Stage.tag, missing)
            continue
        parsed.append(member)
    if not parsed:
        return
    tagger = get_tagger()
    started = time.time()
    texts = [m.article.text for m in parsed if m.article is not None]
    tagged = tagger.tag_batch_with_spans(texts)
    tagged = tagger.with_collection(texts, tagged, store, [m.doc.id for m in parsed])
    elapsed_ms = (time.time() - started) * 1000
    counts = [m.article.word_count if m.article else 0 for m in parsed]  # each splits the body
    words = sum(counts)
    for member, found, count in zip(parsed, tagged, counts, strict=True):
        result = member.start(Stage.tag, started)
        member.tag_version = tagger.version
        if isinstance(found, TaggingError):
            member.problem = Problem(Stage.tag, found)
            continue
        member.mentions, member.spans = found
        # the one model call's time, shared out by words: per-document times still add up
        share = count / max(1, words)
        member.done[Stage.tag] = replace(result(), duration_ms=elapsed_ms * share)
    log.info(
        "batch_tagged",
        batch_id=batch.task_id,
        first_stage=batch.first.value,
        docs=len(parsed),
        words=words,
    )


def crash_all(members: list[Member], exc: BaseException, batch: BatchCall) -> None:
    """The batch as a whole broke: every running document counts a crash and goes alone.

    The crash is counted on the first stage, the run each document holds a lease on; a
    document's own permanent error still fails it alone.
    """
    if isinstance(exc, RetryableError):
        raise exc
    log.warning("batch_crashed", error=f"{type(exc).__name__}: {exc}")
    for member in running(members):
        if member.problem is None or not isinstance(member.problem.exc, PermanentError):
            member.problem = Problem(batch.first, exc, whole_batch=True)
