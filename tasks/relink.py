"""Re-applying the user's entity rules to stored documents from the model's kept spans.

A change of `entities.toml` (an alias, a merge, a block, a relabel) or of docflow's own
rules changes the tagger version, not the model: each document tagged by the same model
with its spans kept (`Store.raw_spans`) gets its new mentions from the rules alone, in
milliseconds, and `Store.relink` swaps them in. The others need the model again.
The collection's label evidence (`tasks.entities.collection`) is applied here too, as the
workers apply it, so a rules-only redo gives what tagging the document today would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tasks.models import DocumentRecord, Mention, Status
from tasks.store.base import Store
from tasks.tag import Tagger


@dataclass(frozen=True, slots=True)
class Relink:
    """A document, the mentions the rules give it now, and the model's kept spans they
    were made from."""

    doc: DocumentRecord
    mentions: list[Mention]
    spans: list[tuple[int, int, str]]

    @property
    def changed(self) -> bool:
        return self.mentions != self.doc.mentions


def same_model(tag_version: str | None, current: str) -> bool:
    """Was a document tagged by the model `current` names (the part before the rules)?"""
    return tag_version is not None and tag_version.split("+", 1)[0] == current.split("+", 1)[0]


#: documents redone together: one read of the collection's evidence per chunk
RELINK_CHUNK = 200


def plan_relinks(
    store: Store, tagger: Tagger, docs: Iterable[DocumentRecord]
) -> tuple[list[Relink], list[DocumentRecord]]:
    """(documents the rules alone can redo, with their new mentions; documents that need
    the model again: not indexed, tagged by another model, or tagged before spans were
    kept).

    The new mentions are the rules' and then the collection's (`Tagger.with_collection`),
    with the evidence as the store holds it now: every document is planned against the
    same store state (nothing is written while planning), each without its own vote.
    """
    quick: list[Relink] = []
    slow: list[DocumentRecord] = []
    pending: list[tuple[DocumentRecord, list[tuple[int, int, str]]]] = []
    for doc in docs:
        spans = None
        redone = doc.status is Status.indexed and same_model(doc.tag_version, tagger.version)
        if redone and doc.article is not None:
            spans = store.raw_spans(doc.id)
        if spans is None or doc.article is None:
            slow.append(doc)
            continue
        pending.append((doc, spans))
        if len(pending) >= RELINK_CHUNK:
            quick += _retag(store, tagger, pending)
            pending = []
    quick += _retag(store, tagger, pending)
    return quick, slow


def _retag(
    store: Store, tagger: Tagger, pending: list[tuple[DocumentRecord, list[tuple[int, int, str]]]]
) -> list[Relink]:
    texts = [doc.article.text if doc.article else "" for doc, _ in pending]
    found = tagger.retag_batch(texts, [s for _, s in pending], store, [d.id for d, _ in pending])
    return [
        Relink(doc, mentions, spans) for (doc, spans), mentions in zip(pending, found, strict=True)
    ]
