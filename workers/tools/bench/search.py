"""Search latency: `Store.search_page` with facets, timed over realistic queries.

`time_searches` times queries on any store (the full bench's search phase uses it).
`search_bench` (`docflow bench --search-only --docs 10000 [--store-url postgresql://...]`)
fills a private store with generated documents straight through the store API, no
workers: the real parser on generated wire stories (`workers.tools.corpus`) and, as
mentions, every occurrence of the story's people, places and organisations (what the
tagger would find, without spaCy's cost); then it times the queries, on the store and
over real HTTP (`workers.tools.bench.search_http`: the API's search and the search page).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tasks.entities.normalize import entity_id
from tasks.models import Mention, RawArticle, Stage
from tasks.parse import parse_article
from tasks.search.request import SearchRequest
from tasks.store import StageResult, Store, open_store
from workers.tools.bench.config import Say, percentile, rounded
from workers.tools.bench.corpus_files import search_queries
from workers.tools.bench.environment import private_settings
from workers.tools.bench.search_http import time_http
from workers.tools.bench.store import create_private_database
from workers.tools.corpus import GeneratedArticle, generate_corpus

#: documents written per store transaction while filling
FILL_BATCH = 200


def time_searches(store: Store, queries: list[str], per_page: int = 10) -> dict[str, Any]:
    """p50/p95 of `search_page` with facets over these queries (and an empty-query listing)."""
    if not queries:
        return {}
    store.search_page(SearchRequest(q=queries[0]))  # warm caches and connections
    timings: list[float] = []
    hits = 0
    for query in queries:
        began = time.perf_counter()
        page = store.search_page(SearchRequest(q=query, per_page=per_page, facets=True))
        timings.append((time.perf_counter() - began) * 1000)
        hits += page.total
    began = time.perf_counter()
    store.search_page(SearchRequest(per_page=per_page, facets=True))
    listing = (time.perf_counter() - began) * 1000
    return {
        "search_p50_ms": rounded(percentile(timings, 50), 2),
        "search_p95_ms": rounded(percentile(timings, 95), 2),
        "search_queries": len(queries),
        "search_hits_mean": rounded(hits / len(queries), 1),
        "search_listing_ms": rounded(listing, 2),
    }


def search_bench(
    docs: int, store_url: str | None, seed: int, queries: int, words: tuple[int, int], say: Say
) -> dict[str, Any]:
    """Fill a private store with `docs` generated documents, then time `queries` searches
    on the store, then over HTTP through the web app on that store."""
    corpus = generate_corpus(docs, seed=seed, min_words=words[0], max_words=words[1])
    with _private_store(store_url) as (store, folder):
        began = time.perf_counter()
        for start in range(0, len(corpus), FILL_BATCH):
            _fill(store, corpus[start : start + FILL_BATCH])
            say(f"indexed {min(start + FILL_BATCH, len(corpus))} of {len(corpus)}")
        fill_s = time.perf_counter() - began
        _analyze(store.url)
        texts = [a.text for a in corpus]
        asked = search_queries(texts, queries, seed)
        figures = time_searches(store, asked)
        say(f"timing {len(asked)} searches over HTTP (API and page)")
        figures.update(time_http(private_settings(folder, store.url), asked))
        return {
            "store": "postgresql" if store_url and store_url.startswith("postgres") else "sqlite",
            "documents": store.counts()["indexed"],
            "fill_docs_per_s": rounded(len(corpus) / fill_s, 1),
            **figures,
        }


@contextmanager
def _private_store(store_url: str | None) -> Iterator[tuple[Store, Path]]:
    """A new store of its own: a temporary SQLite file, or a new PostgreSQL database;
    with the temporary folder (the SQLite file's, and the web app's data dir)."""
    with tempfile.TemporaryDirectory(prefix="docflow-search-bench-") as folder:
        root = Path(folder)
        drop: Callable[[], None] = lambda: None  # noqa: E731
        if store_url and store_url.startswith("postgres"):
            url, drop = create_private_database(store_url)
        else:
            url = f"sqlite:///{root / 'docflow.db'}"
        store = open_store(url)
        try:
            store.migrate()
            yield store, root
        finally:
            store.close()
            drop()


def _analyze(url: str) -> None:
    """PostgreSQL: table statistics now, as autovacuum gathers them after a load (the
    planner needs them to pick the GIN index); SQLite plans without them."""
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")


def _fill(store: Store, articles: list[GeneratedArticle]) -> None:
    """Record, parse, tag and index a group of articles, one transaction per step."""
    ids: list[str] = []
    with store.batch(()):
        for article in articles:
            raw = RawArticle(source=article.name, format="text", content=article.text)
            digest = hashlib.sha256(article.text.encode()).hexdigest()
            doc_id, _ = store.add_document(raw, digest, f"bench-{digest[:12]}", _run(Stage.ingest))
            ids.append(doc_id)
    parsed = [
        parse_article(RawArticle(source=a.name, format="text", content=a.text)) for a in articles
    ]
    with store.batch(ids):
        for doc_id, source, done in zip(ids, articles, parsed, strict=True):
            store.save_parsed(doc_id, done, _run(Stage.parse))
            store.save_tags(doc_id, _mentions(done.text, source), "bench", _run(Stage.tag))
            store.index_document(doc_id, _run(Stage.index))


def _mentions(text: str, source: GeneratedArticle) -> list[Mention]:
    """Every occurrence of the story's people, places and organisations."""
    found: list[Mention] = []
    named = [
        *((n, "PERSON") for n in source.people),
        *((n, "GPE") for n in source.places),
        *((n, "ORG") for n in source.organisations),
    ]
    for name, label in named:
        at = text.find(name)
        while at >= 0:
            found.append(
                Mention(
                    text=name,
                    label=label,
                    start=at,
                    end=at + len(name),
                    canonical=name,
                    entity_id=entity_id(label, name),
                )
            )
            at = text.find(name, at + len(name))
    return sorted(found, key=lambda m: (m.start, m.end))


def _run(stage: Stage) -> StageResult:
    return StageResult(
        stage=stage, worker="search-bench", task_id=None, started=time.time(), duration_ms=0.0
    )
