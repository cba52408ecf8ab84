"""A collection that learns, end to end: the real tagger, a real store, the workers' batch
and single-document tag paths and the real `docflow reprocess` (no broker).

The small model calls Marseille an organisation in "He flew from Paris to Marseille.";
once enough other documents call it a place, that weak mention takes the collection's
label, and `reprocess --stage tag --collection` brings earlier documents in line.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tasks.tag as tag_module
from tasks.models import DocumentRecord, RawArticle, Stage, Status
from tasks.parse import parse_article
from tasks.store import Store, open_store
from tasks.tag import Tagger
from tests.conftest import docflow_in as docflow
from tests.unit.test_store import run
from workers import stage_work
from workers.batch_delivery import BatchCall, deliver_batch

PLACES = [
    "Police in Marseille, France, arrested two men.",
    "Residents of Marseille, France complained about the noise.",
    "Firefighters in Marseille, France, fought a blaze overnight.",
    "Schools in Marseille, France, closed early.",
]
WEAK = "He flew from Paris to Marseille."


@pytest.fixture(scope="module")
def tagger(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    return Tagger(config_path=tmp_path_factory.mktemp("rules") / "entities.toml")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    yield s
    s.close()


def received(store: Store, *bodies: str) -> list[str]:
    ids = []
    for body in bodies:
        content = f"News\n\n{body}\n"
        raw = RawArticle(
            source=f"{hashlib.md5(body.encode()).hexdigest()}.txt", format="text", content=content
        )
        digest = hashlib.sha256(content.encode()).hexdigest()
        doc_id, _ = store.add_document(raw, digest, "trace", run(Stage.ingest))
        ids.append(doc_id)
    return ids


def through_a_batch(store: Store, tagger: Tagger, *bodies: str) -> list[str]:
    """The workers' batch path: parse, ONE model call plus ONE evidence read, index."""
    ids = received(store, *bodies)
    deliver_batch(store, lambda: tagger, BatchCall(f"batch-{time.time()}", "w1@host", tuple(ids)))
    assert [store.get_document(d).status for d in ids] == [Status.indexed] * len(ids)
    return ids


def alone(store: Store, tagger: Tagger, body: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The workers' single-document path: `stage_work.tag` between parse and index."""
    (doc_id,) = received(store, body)
    doc = store.get_document(doc_id)
    article = parse_article(RawArticle(source=doc.source, format=doc.format, content=doc.raw))
    store.save_parsed(doc_id, article, run(Stage.parse))
    monkeypatch.setattr(stage_work, "get_tagger", lambda: tagger)
    done = stage_work.tag(store, store.get_document(doc_id), lambda: run(Stage.tag))
    assert done.tag_version == tagger.version
    store.index_document(doc_id, run(Stage.index))
    return doc_id


def marseille(doc: DocumentRecord) -> set[tuple[str, str]]:
    return {(m.label, m.entity_id) for m in doc.mentions if m.text == "Marseille"}


def test_a_weak_mention_takes_the_collections_label_on_both_worker_paths(
    store: Store, tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store that knows nothing about Marseille, the model's own label stands
    (early,) = through_a_batch(store, tagger, WEAK)
    assert marseille(store.get_document(early)) == {("ORG", "ORG:marseille")}
    # When four documents call Marseille a place
    through_a_batch(store, tagger, *PLACES)
    assert store.entity("GPE:marseille").documents == 4  # type: ignore[union-attr]
    # Then a new weak mention follows them, in a batch and alone
    (batched,) = through_a_batch(store, tagger, "She flew from Paris to Marseille.")
    single = alone(store, tagger, "They flew from Paris to Marseille.", monkeypatch)
    for doc_id in (batched, single):
        assert marseille(store.get_document(doc_id)) == {("GPE", "GPE:marseille")}
    assert store.entity("GPE:marseille").documents == 6  # type: ignore[union-attr]
    # the early document keeps its label until it is re-checked
    assert marseille(store.get_document(early)) == {("ORG", "ORG:marseille")}


def test_reprocess_collection_rechecks_every_document_and_converges(
    store: Store, tagger: Tagger, data_dir: Path
) -> None:
    # a tagger with the CLI's rules file, so the CLI's version is the documents' version
    cli_tagger = Tagger(config_path=data_dir / "entities.toml")
    (early,) = through_a_batch(store, cli_tagger, WEAK)
    places = through_a_batch(store, cli_tagger, *PLACES)
    # nothing is outdated: the plain reprocess has nothing to do
    idle = json.loads(docflow(data_dir, "reprocess", "--stage", "tag", "--json").stdout)
    assert idle["documents"] == []
    # a dry run lists what the collection would change, and changes nothing
    dry = docflow(data_dir, "reprocess", "--stage", "tag", "--collection", "--dry-run", "--json")
    said = json.loads(dry.stdout)
    assert (said["checked"], said["changed"], said["queued"]) == (5, [early], [])
    assert marseille(store.get_document(early)) == {("ORG", "ORG:marseille")}
    # the real run swaps in only the document that changed, without a broker
    done = docflow(data_dir, "reprocess", "--stage", "tag", "--collection", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["relinked"] == [early]
    assert marseille(store.get_document(early)) == {("GPE", "GPE:marseille")}
    assert store.entity("ORG:marseille") is None
    assert store.entity("GPE:marseille").documents == 5  # type: ignore[union-attr]
    assert all(marseille(store.get_document(d)) == {("GPE", "GPE:marseille")} for d in places)
    # applied twice, the second time changes nothing
    again = docflow(data_dir, "reprocess", "--stage", "tag", "--collection", "--json")
    assert (json.loads(again.stdout)["changed"], json.loads(again.stdout)["relinked"]) == ([], [])
    text = docflow(data_dir, "reprocess", "--stage", "tag", "--collection").stdout
    assert "5 indexed documents re-checked" in text and "0 changed" in text


def test_the_collections_logic_is_part_of_the_tagger_version(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tagger.version
    assert before.endswith(f"+collection.{tag_module.COLLECTION_VERSION}")
    monkeypatch.setattr(tag_module, "COLLECTION_VERSION", "next")
    assert tagger.version != before  # so `reprocess --stage tag` redoes every document
