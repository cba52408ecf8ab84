"""The low-load phases of a run: probe files dropped one at a time, and search queries."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.search.request import SearchRequest
from tasks.store import Store
from workers.tools.bench.config import BenchConfig, DropFile, Say, percentile, rounded
from workers.tools.bench.corpus_files import drop, prepare_files, search_queries
from workers.tools.bench.search import time_searches
from workers.tools.corpus import LENGTHS, generate_article


@dataclass
class Trickle:
    """The probes dropped, when each was dropped and found by search, and the figures."""

    probes: list[DropFile] = field(default_factory=list)
    drops: dict[str, float] = field(default_factory=dict)  #: file name -> drop time
    found: dict[str, float] = field(default_factory=dict)  #: doc id -> found by search
    figures: dict[str, Any] = field(default_factory=dict)


def trickle(store: Store, inbox: Path, cfg: BenchConfig, say: Say) -> Trickle:
    """Drop `cfg.trickle` probe files one at a time, each waited for until search
    finds its unique word: drop-to-searchable latency at low load."""
    out = Trickle()
    if cfg.trickle <= 0:
        return out
    say(f"trickle: {cfg.trickle} files one at a time")
    latencies: list[float] = []
    words = cfg.words if cfg.corpus is None else LENGTHS["seed"]
    for i in range(cfg.trickle):
        token = "probe" + secrets.token_hex(5)
        article = generate_article(f"{cfg.seed}-probe", i, words[0], max(words[0], words[1] - 6))
        text = article.text.rstrip("\n") + f"\n\nReference {token} was filed.\n"
        [item], _ = prepare_files([(f"probe-{i:05d}.txt", text.encode("utf-8"))])
        out.probes.append(item)
        dropped = drop(inbox, item)
        out.drops[item.name] = dropped
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if store.search_page(SearchRequest(q=token, per_page=1, facets=False)).hits:
                found = time.time()
                latencies.append(found - dropped)
                out.found.update(dict.fromkeys(item.doc_ids, found))
                break
            time.sleep(0.01)
        else:
            say(f"probe {i} not searchable after 60 s")
        time.sleep(0.1)
    out.figures = {
        "latency_p50_s": rounded(percentile(latencies, 50)),
        "latency_p95_s": rounded(percentile(latencies, 95)),
        "latency_max_s": rounded(max(latencies) if latencies else None),
        "latency_samples": len(latencies),
    }
    return out


def search_figures(store: Store, texts: list[str], cfg: BenchConfig, say: Say) -> dict[str, Any]:
    """Search latency (with facets) of `cfg.queries` realistic queries from the texts."""
    queries = search_queries(texts, cfg.queries, cfg.seed)
    if queries:
        say(f"search: {len(queries)} queries")
    return time_searches(store, queries)
