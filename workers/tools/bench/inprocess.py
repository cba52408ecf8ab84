"""`docflow bench --in-process`: where a worker's CPU goes, per document, in one process.

The corpus is recorded in a temporary SQLite store, then goes through
`workers.batch_delivery.deliver_batch` in batches of DOCFLOW_BATCH_MAX_DOCS, as a worker
runs a parse batch (parse, then tag and index, each phase's writes in one transaction),
with the real tagger. While it runs, the function of each part is wrapped with a CPU
timer (`time.process_time`), and garbage collection is timed through `gc.callbacks`:

- `parse`: `tasks.parse.parse_article`, once per document (`workers.batch_compute`);
- `model`: `Tagger._entities_isolated`, one `nlp.pipe` per batch;
- `rules`: `Tagger._refine`, per document;
- `store_writes`: `workers.batch_writes.write`, the batch's write transaction;
- `leases_and_loads`: `workers.batch_members.lease` and `load`;
- `other`: the rest of `deliver_batch` (the batch's bookkeeping, log lines);
- `gc`: collections, wherever they ran (already inside the parts above).

Each batch's texts also go through one raw `nlp.pipe` (batch size 4, as the bench's
baseline) of a second copy of the model, alternately before and after the batch, so both
see the machine at the same moments.
`model_vs_raw` is the model part over that raw pipe; `in_process_ratio` is the raw pipe
over everything `deliver_batch` spent: the ratio a worker would reach with no watcher,
broker or Celery around it.

No Redis, Celery, watcher or second process: the end-to-end bench measures those.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError
from tasks.ingest import prepare_file, record_files
from tasks.models import document_id
from tasks.parse import parse_article
from tasks.store import open_store
from tasks.tag import Tagger, load_pipeline
from workers import batch_compute, batch_delivery
from workers.batch_delivery import BatchCall, deliver_batch
from workers.settings import Settings
from workers.tools.bench.config import MAX_FILE_BYTES, Say, rounded
from workers.tools.bench.environment import private_settings

#: the parts timed: (owner, attribute, part)
PARTS: list[tuple[Any, str, str]] = [
    (batch_compute, "parse_article", "parse"),
    (Tagger, "_entities_isolated", "model"),
    (Tagger, "_refine", "rules"),
    (batch_delivery, "write", "store_writes"),
    (batch_delivery, "lease", "leases_and_loads"),
    (batch_delivery, "load", "leases_and_loads"),
]
#: the raw pipe's batch size (the bench's baseline default)
RAW_BATCH = 4


def in_process_bench(items: list[tuple[str, bytes]], say: Say) -> dict[str, Any]:
    """CPU per document by part for `items` (name, bytes) through `deliver_batch`."""
    with tempfile.TemporaryDirectory(prefix="docflow-bench-") as tmp:
        settings = private_settings(Path(tmp), f"sqlite:///{Path(tmp) / 'docflow.db'}")
        return _run(items, settings, say)


def _run(items: list[tuple[str, bytes]], settings: Settings, say: Say) -> dict[str, Any]:
    store = open_store(settings.store)
    try:
        files = [prepare_file(name, data, max_bytes=MAX_FILE_BYTES) for name, data in items]
        ids = [doc_id for result in record_files(store, files) for doc_id in result.new_ids]
        texts = {
            document_id(content_id): parse_article(raw).text
            for f in files
            for raw, content_id in zip(f.articles, f.hashes, strict=True)
        }
        say(f"loading {settings.spacy_model}; {len(ids)} documents to deliver in batches")
        tagger = Tagger(settings.spacy_model, settings.entities_path)
        nlp = load_pipeline(settings.spacy_model)
        size = settings.batch_max_docs
        batches = [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]
        if len(batches) < 2:
            raise ConfigError(
                f"--in-process needs two batches of documents or more, not {len(ids)} documents",
                hint=f"use --docs {2 * size} or more (batches of DOCFLOW_BATCH_MAX_DOCS={size})",
            )
        warm, timed = batches[0], batches[1:]
        deliver_batch(store, lambda: tagger, BatchCall("warm-up", "bench@inprocess", warm))
        _raw_pipe(nlp, [texts[d] for d in warm])()  # both models warmed up the same way
        gc.freeze()  # as a worker does once its model is loaded
        spent: defaultdict[str, float] = defaultdict(float)
        raw = total = 0.0
        with _instrumented(spent):
            for n, batch in enumerate(timed):
                call = BatchCall(f"batch-{n}", "bench@inprocess", batch)
                run_raw = _raw_pipe(nlp, [texts[d] for d in batch])
                if n % 2:
                    raw += run_raw()
                began = time.process_time()
                deliver_batch(store, lambda: tagger, call)
                total += time.process_time() - began
                if not n % 2:
                    raw += run_raw()
        docs = sum(len(b) for b in timed)
        return _figures(spent, total, raw, docs, len(timed))
    finally:
        store.close()


def _raw_pipe(nlp: Any, texts: list[str]) -> Callable[[], float]:
    def run() -> float:
        began = time.process_time()
        for _ in nlp.pipe(texts, batch_size=RAW_BATCH):
            pass
        return time.process_time() - began

    return run


@contextmanager
def _instrumented(spent: defaultdict[str, float]) -> Iterator[None]:
    """Each part's function wrapped with a CPU timer, and GC timed, until the block ends."""
    started: list[float] = []

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.process_time())
        elif started:
            spent["gc"] += time.process_time() - started.pop()

    with ExitStack() as undo:
        for owner, name, part in PARTS:
            original = getattr(owner, name)
            setattr(owner, name, _timed(original, part, spent))
            undo.callback(setattr, owner, name, original)
        gc.callbacks.append(on_gc)
        undo.callback(gc.callbacks.remove, on_gc)
        yield


def _timed(fn: Callable[..., Any], part: str, spent: defaultdict[str, float]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[part] += time.process_time() - began

    return timed


def _figures(
    spent: defaultdict[str, float], total: float, raw: float, docs: int, batches: int
) -> dict[str, Any]:
    parts = {p: spent[p] for p in dict.fromkeys(part for _, _, part in PARTS)}
    parts["other"] = max(0.0, total - sum(parts.values()))
    per_doc = {p: rounded(s * 1000 / docs, 2) for p, s in parts.items()}
    return {
        "in_process_docs": docs,
        "in_process_batches": batches,
        "in_process_cpu_ms_per_doc": rounded(total * 1000 / docs, 2),
        "in_process_ms_per_doc": per_doc,
        "in_process_gc_ms_per_doc": rounded(spent["gc"] * 1000 / docs, 2),
        "raw_pipe_cpu_ms_per_doc": rounded(raw * 1000 / docs, 2),
        "model_vs_raw": rounded(parts["model"] / raw, 3) if raw else None,
        "in_process_ratio": rounded(raw / total, 3) if total else None,
    }
