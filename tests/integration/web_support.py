"""A small real corpus for the web tests: articles from seeds/ and tests/data/ put through
the real pipeline functions (intake, parse, spaCy tagging, index) into a real store."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.ingest import ingest_file
from tasks.models import Mention, Stage
from tasks.store import StageResult, Store, open_store
from tests.conftest import POSTGRES_URL, REPO, SEED
from tests.unit.web_fakes import SCRIPT, script_mention
from workers.broker import EmbeddedRedis

PARSE_DATA = REPO / "tests" / "data" / "parse"
#: an article with a dateline and its own id, as the JSON format carries them
BRASILIA = {
    "id": "br-2025-0214",
    "title": "Brazil's farmers brace for a weaker yen",
    "date": "2025-02-14",
    "text": "BRASÍLIA\n\nFarmers in Brazil said on Friday that a weaker yen would hurt "
    "exports to Japan, Agriculture Minister Carlos Fávaro told reporters in Brasília.",
}
HOSTILE = f"Notes on {SCRIPT}\n\nA group calling itself {SCRIPT} wrote to the paper.\n"


def test_store(kind: str, data: Path) -> Store:
    """A fresh store: SQLite under `data`, or a throwaway PostgreSQL schema (skips the
    test when no PostgreSQL server answers)."""
    if kind == "sqlite":
        return open_store(f"sqlite:///{data / 'docflow.db'}")
    from tasks.store.postgres import PostgresStore

    store = PostgresStore(POSTGRES_URL, schema=f"web_{int(time.time() * 1e6)}")
    try:
        store.migrate()
    except Exception as exc:
        pytest.skip(f"PostgreSQL unavailable at {POSTGRES_URL}: {exc}")
    return store


test_store.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def dispose(store: Store) -> None:
    """Close a store from `test_store`, dropping its PostgreSQL schema."""
    if hasattr(store, "drop_schema"):
        store.drop_schema()
    store.close()


def run(stage: Stage) -> StageResult:
    return StageResult(
        stage=stage, worker="web-test", task_id=None, started=time.time(), duration_ms=1.0
    )


def put_through(store: Store, name: str, data: bytes, mentions: list[Mention] | None = None) -> str:
    """One file through intake, parse, tag (spaCy, or the given mentions) and index."""
    from workers import stage_work

    result = ingest_file(store, name, data, max_bytes=10_000_000)
    doc_id = (result.new_ids or result.duplicate_ids)[0]
    doc = store.get_document(doc_id)
    doc = stage_work.parse(store, doc, lambda: run(Stage.parse))
    if mentions is None:
        doc = stage_work.tag(store, doc, lambda: run(Stage.tag))
    else:
        store.save_tags(doc_id, mentions, "hand-made", run(Stage.tag))
    store.index_document(doc_id, run(Stage.index))
    return doc_id


@dataclass
class Corpus:
    seed: str
    brasilia: str
    rates: str
    uk: str
    hostile: str
    failed: str


def hostile_mentions(store: Store, doc_id: str) -> list[Mention]:
    text = store.get_document(doc_id).article.text  # type: ignore[union-attr]
    return [script_mention(text.index(SCRIPT, text.index("itself")), "ORG:script")]


def fill(store: Store) -> Corpus:
    """Five indexed documents and one failed at parse."""
    from workers import stage_work

    seed = put_through(store, SEED.name, SEED.read_bytes())
    brasilia = put_through(store, "brasilia.json", json.dumps(BRASILIA).encode())
    rates = put_through(store, "front_matter.md", (PARSE_DATA / "front_matter.md").read_bytes())
    uk = put_through(store, "wire_no_date.txt", (PARSE_DATA / "wire_no_date.txt").read_bytes())
    hostile_id = ingest_file(store, "hostile.txt", HOSTILE.encode(), max_bytes=10**6).new_ids[0]
    doc = store.get_document(hostile_id)
    stage_work.parse(store, doc, lambda: run(Stage.parse))
    store.save_tags(hostile_id, hostile_mentions(store, hostile_id), "hand-made", run(Stage.tag))
    store.index_document(hostile_id, run(Stage.index))
    failed = ingest_file(store, "broken.txt", b"Broken story\n\nIt will fail.", max_bytes=10**6)
    failed_id = failed.new_ids[0]
    store.start_stage(failed_id, run(Stage.parse))
    bad = run(Stage.parse)
    store.mark_failed(
        failed_id,
        StageResult(
            stage=Stage.parse,
            worker="web-test",
            task_id=None,
            started=bad.started,
            duration_ms=1.0,
            error=f"ParseError: no body {SCRIPT}",
        ),
    )
    return Corpus(seed, brasilia, rates, uk, hostile_id, failed_id)


@dataclass
class Backend:
    """A filled store of one kind, its data dir and a private Redis beside it."""

    store: Store
    corpus: Corpus
    redis: EmbeddedRedis
    data: Path


@contextlib.contextmanager
def filled_backend(kind: str, tmp: Path) -> Iterator[Backend]:
    """`fill` a fresh store of `kind` under `tmp`, with a private Redis; both go at the end."""
    redis = EmbeddedRedis(tmp / "redis", persist=False)
    redis.start()
    data = tmp / "data"
    data.mkdir()
    try:
        store = test_store(kind, data)
    except BaseException:
        redis.stop()
        raise
    try:
        yield Backend(store, fill(store), redis, data)
    finally:
        dispose(store)
        redis.stop()
