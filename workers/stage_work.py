"""The work of each stage on one document: the pure functions in `tasks/`, then the store.

Each function gets the store, the document as the stage before left it, and `done`
(the run's timing, recorded with the write), and returns the document after the stage.
Delivery (retries, failures, inline runs) is `workers.delivery`'s.
"""

from __future__ import annotations

from collections.abc import Callable

from tasks.errors import DocumentNotFound, TaggingError
from tasks.models import DocumentRecord, RawArticle, Stage, Status
from tasks.parse import parse_article
from tasks.store import StageResult, Store
from workers.resources import get_tagger

Done = Callable[[], StageResult]
Work = Callable[[Store, DocumentRecord, Done], DocumentRecord]


def parse(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    raw = RawArticle(source=doc.source, format=doc.format, content=doc.raw)
    article = parse_article(raw)
    store.save_parsed(doc.id, article, done())
    return doc.model_copy(update={"status": Status.parsed, "article": article})


def tag(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    if doc.article is None:
        raise DocumentNotFound(f"document {doc.id} has no parsed article to tag")
    tagger = get_tagger()
    text = doc.article.text
    # the batch path's two steps on a batch of one: the model and rules, then the collection
    found = tagger.with_collection([text], [tagger.tag_with_spans(text)], store, [doc.id])[0]
    if isinstance(found, TaggingError):  # pragma: no cover - tag_with_spans raises it
        raise found
    mentions, spans = found
    store.save_tags(doc.id, mentions, tagger.version, done(), spans)
    return doc.model_copy(
        update={"status": Status.tagged, "mentions": mentions, "tag_version": tagger.version}
    )


def index(store: Store, doc: DocumentRecord, done: Done) -> DocumentRecord:
    store.index_document(doc.id, done())
    return doc.model_copy(update={"status": Status.indexed})


WORK: dict[Stage, Work] = {Stage.parse: parse, Stage.tag: tag, Stage.index: index}
