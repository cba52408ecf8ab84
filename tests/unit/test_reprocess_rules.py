"""`docflow reprocess` after a rules edit: documents tagged by the same model are redone
from their kept spans by the rules alone (no model run, no broker); the others would go
through the pipeline. Real store, real tagger, the real CLI."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tasks.models import RawArticle, Stage
from tasks.parse import parse_article
from tasks.store import Store, open_store
from tasks.tag import Tagger
from tests.conftest import SEED
from tests.conftest import docflow_in as docflow
from tests.unit.test_store import run


def index_seed(store: Store, tagger: Tagger, keep_spans: bool = True) -> str:
    text = SEED.read_text(encoding="utf-8")
    raw = RawArticle(source=SEED.name, format="text", content=text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    doc_id, _ = store.add_document(raw, digest, "trace", run(Stage.ingest))
    article = parse_article(raw)
    store.save_parsed(doc_id, article, run(Stage.parse))
    mentions, spans = tagger.tag_with_spans(article.text)
    store.save_tags(doc_id, mentions, tagger.version, run(Stage.tag), spans if keep_spans else None)
    store.index_document(doc_id, run(Stage.index))
    return doc_id


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def names(store: Store) -> set[str]:
    return {e.name for e in store.entities(limit=500)}


def test_a_block_is_applied_from_the_kept_spans_without_the_model_or_a_broker(
    data_dir: Path,
) -> None:
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    doc_id = index_seed(store, Tagger(config_path=data_dir / "entities.toml"))
    assert "Syria" in names(store)
    assert docflow(data_dir, "entities", "block", "Syria").returncode == 0
    # a dry run says what would change and changes nothing
    dry = docflow(data_dir, "reprocess", "--stage", "tag", "--dry-run", "--json")
    said = json.loads(dry.stdout)
    assert (said["relinked"], said["changed"], said["queued"]) == ([doc_id], [doc_id], [])
    assert "Syria" in names(store)
    # the real run needs no broker: the rules alone redo the document here and now
    done = docflow(data_dir, "reprocess", "--stage", "tag", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["relinked"] == [doc_id]
    assert "Syria" not in names(store) and "Türkiye" in names(store)
    idle = json.loads(docflow(data_dir, "reprocess", "--stage", "tag", "--json").stdout)
    assert idle["documents"] == []


def test_a_document_tagged_without_kept_spans_needs_the_pipeline_and_says_so(
    data_dir: Path,
) -> None:
    store = open_store(f"sqlite:///{data_dir / 'docflow.db'}")
    doc_id = index_seed(store, Tagger(config_path=data_dir / "entities.toml"), keep_spans=False)
    assert docflow(data_dir, "entities", "block", "Syria").returncode == 0
    dry = json.loads(docflow(data_dir, "reprocess", "--dry-run", "--json").stdout)
    assert (dry["relinked"], dry["queued"]) == ([], [doc_id])
    real = docflow(data_dir, "reprocess", "--json")
    assert real.returncode != 0 and "no broker is configured" in real.stderr
    assert "Syria" in names(store)
