"""Kept model spans and `relink`: a rules change re-canonicalises a stored document's
entities in one transaction, without the model. Both stores."""

from __future__ import annotations

import hashlib

from tasks.models import Article, RawArticle, Stage, Status
from tasks.store import Store
from tests.unit.test_search_store import page, person, put
from tests.unit.test_store import run, store  # noqa: F401  # `store`: both backends


def test_the_models_spans_are_kept_with_the_tags_and_none_when_not_given(store: Store) -> None:  # noqa: F811
    raw = RawArticle(source="a.txt", format="text", content="Kyiv said.")
    doc_id, _ = store.add_document(raw, hashlib.sha256(b"a").hexdigest(), "t", run(Stage.ingest))
    store.save_parsed(doc_id, Article(paragraphs=["Kyiv said."]), run(Stage.parse))
    store.save_tags(doc_id, [], "v1", run(Stage.tag), raw_spans=[(0, 4, "PERSON")])
    assert store.raw_spans(doc_id) == [(0, 4, "PERSON")]
    older = put(store, "Old", "Tagged before spans were kept.")
    assert store.raw_spans(older) is None


def test_relink_moves_an_indexed_documents_mentions_and_entity_counts(store: Store) -> None:  # noqa: F811
    body = "Tayyip Erdogan met farmers."
    doc = put(store, "Talks", body, mentions=[person("Tayyip Erdogan", 0, "Tayyip Erdogan")])
    assert store.entity("PERSON:tayyip-erdogan") is not None
    linked = [person("Tayyip Erdogan", 0, "Recep Tayyip Erdoğan")]
    assert store.relink(doc, linked, "v2") is True
    assert store.entity("PERSON:tayyip-erdogan") is None  # its last mention moved
    entity = store.entity("Recep Tayyip Erdogan")
    assert entity is not None and (entity.documents, entity.mentions) == (1, 1)
    assert [h.id for h in page(store, entity="Recep Tayyip Erdoğan").hits] == [doc]
    record = store.get_document(doc)
    assert record.tag_version == "v2" and record.mentions[0].canonical == "Recep Tayyip Erdoğan"


def test_relink_leaves_a_document_that_is_not_indexed_alone(store: Store) -> None:  # noqa: F811
    doc = put(store, "Talks", "Fidan met farmers.")
    store.reset_to(doc, Status.parsed)  # `docflow reprocess --stage tag` did this
    assert store.relink(doc, [person("Fidan", 0, "Hakan Fidan")], "v2") is False
    assert store.get_document(doc).mentions == []
