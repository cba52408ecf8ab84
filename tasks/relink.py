"""Re-applying the user's entity rules to stored documents from the model's kept spans.

A change of `entities.toml` (an alias, a merge, a block, a relabel) or of docflow's own
rules changes the tagger version, not the model: each document tagged by the same model
with its spans kept (`Store.raw_spans`) gets its new mentions from the rules alone, in
milliseconds, and `Store.relink` swaps them in. The others need the model again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tasks.models import DocumentRecord, Mention, Status
from tasks.store.base import Store
from tasks.tag import Tagger


@dataclass(frozen=True, slots=True)
class Relink:
    """A document and the mentions the rules give it now."""

    doc: DocumentRecord
    mentions: list[Mention]

    @property
    def changed(self) -> bool:
        return self.mentions != self.doc.mentions


def same_model(tag_version: str | None, current: str) -> bool:
    """Was a document tagged by the model `current` names (the part before the rules)?"""
    return tag_version is not None and tag_version.split("+", 1)[0] == current.split("+", 1)[0]


def plan_relinks(
    store: Store, tagger: Tagger, docs: Iterable[DocumentRecord]
) -> tuple[list[Relink], list[DocumentRecord]]:
    """(documents the rules alone can redo, with their new mentions; documents that need
    the model again: not indexed, tagged by another model, or tagged before spans were
    kept)."""
    quick: list[Relink] = []
    slow: list[DocumentRecord] = []
    for doc in docs:
        spans = None
        redone = doc.status is Status.indexed and same_model(doc.tag_version, tagger.version)
        if redone and doc.article is not None:
            spans = store.raw_spans(doc.id)
        if spans is None or doc.article is None:
            slow.append(doc)
        else:
            quick.append(Relink(doc, tagger.retag(doc.article.text, spans)))
    return quick, slow
