"""The bench's inputs: corpus files with the documents ingest will make of them, and queries."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import time
from pathlib import Path

from tasks.errors import ConfigError, DocflowError, PermanentError
from tasks.ingest import content_hash, split_file
from tasks.models import document_id
from tasks.parse import parse_article
from workers.tools.bench.config import MAX_FILE_BYTES, DropFile
from workers.tools.corpus import generate_corpus


def drop(inbox: Path, item: DropFile) -> float:
    """Write a file under a temporary name, then rename it into the inbox; the drop time."""
    part = inbox / f"{item.name}.part"
    part.write_bytes(item.data)
    os.rename(part, inbox / item.name)
    return time.time()


def prepare_files(items: list[tuple[str, bytes]]) -> tuple[list[DropFile], int]:
    """Expected document ids and parsed texts of each file; (files, duplicate articles)."""
    seen: set[str] = set()
    duplicates = 0
    out: list[DropFile] = []
    for name, data in items:
        item = DropFile(name, data)
        try:
            articles, _errors = split_file(name, data, max_bytes=MAX_FILE_BYTES)
        except PermanentError as exc:
            item.rejected = exc.describe()
            out.append(item)
            continue
        for raw in articles:
            doc_id = document_id(content_hash(raw.content))
            if doc_id in seen:
                duplicates += 1
                continue
            seen.add(doc_id)
            item.doc_ids.append(doc_id)
            with contextlib.suppress(DocflowError):
                item.texts.append(parse_article(raw).text)
        out.append(item)
    return out, duplicates


def generated_files(
    count: int, words: tuple[int, int], seed: int, prefix: str = "bench"
) -> list[tuple[str, bytes]]:
    corpus = generate_corpus(count, seed=seed, min_words=words[0], max_words=words[1])
    return [(f"{prefix}-{i:05d}.txt", a.text.encode("utf-8")) for i, a in enumerate(corpus)]


def folder_files(folder: Path, limit: int | None) -> list[tuple[str, bytes]]:
    """The files of a corpus folder (recursively), renamed flat and unique for the inbox."""
    from workers.files import iter_files, read_file

    items: list[tuple[str, bytes]] = []
    for i, path in enumerate(iter_files([folder])):
        if limit is not None and len(items) >= limit:
            break
        items.append((f"{i:05d}-{path.name}", read_file(path, MAX_FILE_BYTES)))
    if not items:
        raise ConfigError(f"--corpus: no files in {folder}")
    return items


_TOKEN = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_STOP = frozenset(
    {
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "said",
        "have",
        "has",
        "was",
        "were",
        "will",
        "would",
        "which",
        "their",
        "there",
        "about",
        "after",
        "before",
        "other",
        "into",
        "over",
        "than",
        "they",
        "been",
        "also",
        "more",
        "such",
        "when",
        "while",
    }
)


def search_queries(texts: list[str], count: int, seed: int) -> list[str]:
    """Realistic queries from the texts: names and places (one or two words), and plain words."""
    rng = random.Random(f"docflow-bench-queries:{seed}")
    sample = texts if len(texts) <= 400 else rng.sample(texts, 400)
    names: set[str] = set()
    pairs: set[str] = set()
    words: set[str] = set()
    for text in sample:
        tokens = _TOKEN.findall(text)
        for a, b in itertools.pairwise(tokens):
            if a[:1].isupper() and b[:1].isupper() and len(a) > 2 and len(b) > 2:
                pairs.add(f"{a} {b}")
        for tok in tokens:
            if len(tok) < 4 or tok.lower() in _STOP:
                continue
            (names if tok[:1].isupper() else words).add(tok)
    pools = [sorted(names), sorted(words), sorted(pairs)]
    weights = [0.4, 0.3, 0.3]
    out: list[str] = []
    if not any(pools):
        return out
    while len(out) < count:
        pool = rng.choices(pools, weights)[0]
        if pool:
            out.append(rng.choice(pool))
    return out
