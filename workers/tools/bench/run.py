"""One bench run, phase by phase: corpus, baseline, private stack, burst, trickle, search,
accounting (see the package docstring); `run_bench` is the entry point."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.errors import ConfigError
from tasks.store import Store, StoreURL, open_store
from workers.settings import Settings
from workers.stack import LocalStack
from workers.tools.bench.accounting import (
    account_figures,
    indexed_span,
    latency_breakdown,
    log_figures,
)
from workers.tools.bench.baseline import machine_busy_s, run_baseline
from workers.tools.bench.batches import batch_figures, model_calls
from workers.tools.bench.config import BenchConfig, DropFile, Say, rounded
from workers.tools.bench.corpus_files import drop, folder_files, generated_files, prepare_files
from workers.tools.bench.entity_data import entity_data_figures
from workers.tools.bench.environment import child_environ, interrupt_on_sigterm, private_settings
from workers.tools.bench.figures import baseline_figures, burst_figures, ratios
from workers.tools.bench.probes import search_figures, trickle
from workers.tools.bench.sampling import Sampler, redis_info, rss_figures
from workers.tools.bench.store import StoreReader, create_private_database
from workers.tools.corpus import LENGTHS


class Bench:
    """One benchmark run; `run()` returns the figures as a JSON-ready dict."""

    def __init__(self, config: BenchConfig, say: Say | None = None) -> None:
        self.config = config
        self.say: Say = say or _stderr
        self.root = Path(tempfile.mkdtemp(prefix="docflow-bench-"))
        self.data = self.root / "data"
        self.inbox = self.root / "inbox"
        self.settings: Settings | None = None  #: the run's own, built in `run`
        self.stack: LocalStack | None = None
        self.store: Store | None = None
        self.sampler: Sampler | None = None
        self.drop_times: dict[str, float] = {}
        self.warm_ids: set[str] = set()
        self.found_times: dict[str, float] = {}
        self.result: dict[str, Any] = {}
        self.baselines: dict[str, dict[str, Any]] = {}
        self.calls: list[int] = []  #: documents per model call in the burst
        self.batch_ids: set[str] = set()  #: the batch tasks the burst ran in

    # -- orchestration --
    def run(self) -> dict[str, Any]:
        cfg = self.config
        drop_db: Callable[[], None] | None = None
        try:
            with interrupt_on_sigterm():
                files = self._corpus()
                texts = [t for f in files for t in f.texts]
                store_url = f"sqlite:///{self.data / 'docflow.db'}"
                if cfg.store_url and not cfg.store_url.startswith("sqlite"):
                    store_url, drop_db = create_private_database(cfg.store_url)
                self.result["store"] = "postgresql" if drop_db else "sqlite"
                if drop_db is not None:
                    self.result["store_url"] = StoreURL.parse(store_url).masked
                self.settings = private_settings(self.root, store_url)
                if cfg.baseline:
                    self._baseline(texts, "before")
                self._pipeline(files, texts, self.settings)
        finally:
            self._shutdown()
            if drop_db is not None:
                if cfg.keep:
                    self.say(f"kept the private database of {self.result.get('store_url', '')}")
                else:
                    try:
                        drop_db()
                    except Exception as exc:
                        self.say(f"could not drop the benchmark database: {exc}")
            if cfg.keep:
                self.result["tempdir"] = str(self.root)
                self.say(f"kept {self.root}")
            else:
                shutil.rmtree(self.root, ignore_errors=True)
        return self.result

    def _corpus(self) -> list[DropFile]:
        cfg = self.config
        if cfg.corpus is not None:
            items = folder_files(cfg.corpus, cfg.docs)
            self.result["corpus"] = str(cfg.corpus)
        else:
            count = cfg.docs if cfg.docs is not None else 300
            self.say(f"generating {count} articles of {cfg.words[0]}-{cfg.words[1]} words")
            items = generated_files(count, cfg.words, cfg.seed)
            self.result["corpus"] = "generated"
            self.result["words"] = list(cfg.words)
            self.result["seed"] = cfg.seed
        files, duplicates = prepare_files(items)
        words = [len(t.split()) for f in files for t in f.texts]
        self.result.update(
            files=len(files),
            docs=sum(len(f.doc_ids) for f in files),
            workers=cfg.workers,
            corpus_duplicate_articles=duplicates,
            corpus_rejected_files=sum(1 for f in files if f.rejected),
            words_mean=rounded(sum(words) / len(words), 1) if words else None,
        )
        if not self.result["docs"]:
            raise ConfigError("the corpus holds no article that docflow would take")
        return files

    def _model(self) -> str:
        """The model the workers will load (DOCFLOW_SPACY_MODEL is the one setting kept)."""
        assert self.settings is not None
        return self.settings.spacy_model

    def _baseline(self, texts: list[str], when: str) -> None:
        """Raw spaCy over the texts; run `before` the stack starts and again `after` the burst.

        The machine's speed drifts under sustained load (shared vCPUs slow down, here by up
        to a third after a minute or two of full load), so a baseline taken only before the
        burst, on a fresh machine, would flatter itself. The two runs bracket the burst and
        their mean is the baseline the ratio uses; both are reported.
        """
        model = self._model()
        self.say(
            f"baseline ({when} the burst): {model} (tok2vec+ner) over {len(texts)} texts in "
            f"{self.config.workers} processes"
        )
        base = run_baseline(texts, self.config.workers, model, self.config.baseline_batch)
        self.baselines[when] = base
        self.result.update(baseline_figures(self.baselines))
        self.result.update(ratios(self.result))

    def _batches(self, files: list[DropFile]) -> None:
        """The sizes of the model calls the workers made for the burst, and their report."""
        burst = {d for f in files for d in f.doc_ids}
        reader = StoreReader(self._store_url())
        try:
            runs = reader.rows("SELECT doc_id, batch_id FROM stage_runs WHERE stage = 'tag'")
        finally:
            reader.close()
        self.calls = model_calls(runs, burst)
        self.batch_ids = {str(b) for d, b in runs if b and d in burst}
        self.result["batches"] = batch_figures(self.calls)

    def _per_call_cost(self, texts: list[str]) -> None:
        """What the pipeline's model calls cost over one continuous `nlp.pipe`, same texts.

        The workers call the model once per batch (`Tagger.tag_batch`, one `nlp.pipe` over
        its texts; a document alone is a call of one). Calls shaped like the burst's (the
        sizes `_batches` read) alternate with the continuous pipe of the baseline. That
        cost, with the watcher's, Celery's main process's and Redis's measured CPU per
        document, bounds the ratio any pipeline making those calls could reach:
        `ratio_ceiling` is the ratio if the workers did nothing but those model calls.
        """
        model = self._model()
        sizes = self.calls or [1]
        self.say(
            f"baseline: {model}, nlp.pipe and the pipeline's {len(sizes)} model calls "
            "(same sizes) in alternate blocks"
        )
        base = run_baseline(
            texts, self.config.workers, model, self.config.baseline_batch, compare=sizes
        )
        cost = base["per_call_cost"]
        self.result["spacy_per_call_cost_pct"] = rounded(100 * (cost - 1), 1) if cost else None
        self.result.update(ratios(self.result))

    def _pipeline(self, files: list[DropFile], texts: list[str], settings: Settings) -> None:
        cfg = self.config
        store_url = settings.store
        self.inbox.mkdir(parents=True)
        self.store = open_store(store_url)  # migrated here, before any worker starts
        # the children get the run's settings, and nothing of the caller's DOCFLOW_*
        self.stack = stack = LocalStack(
            settings, workers=cfg.workers, environ=child_environ(settings), cwd=self.root
        )
        self.say(f"starting an embedded Redis, {cfg.workers} worker processes and a watcher")
        stack.start()
        env = stack.child_env()
        stack.add_child(
            "watcher", [sys.executable, "-m", "workers.cli", "watch", str(self.inbox)], env
        )
        database = StoreURL.parse(store_url).database
        self.sampler = Sampler(self._roots, database=database)
        self.sampler.start()

        warm = cfg.warmup if cfg.warmup is not None else max(4, 2 * cfg.workers)
        warm_files, _ = prepare_files(
            generated_files(warm, LENGTHS["short"], cfg.seed + 7_000_001, prefix="warmup")
        )
        self.warm_ids = {d for f in warm_files for d in f.doc_ids}
        self.say(f"warming up with {warm} documents")
        self._drop_and_wait(warm_files, stall_s=max(cfg.stall_s, 300.0))

        self._burst(files)
        self._batches(files)
        if cfg.baseline:
            self._baseline(texts, "after")
            self._per_call_cost(texts)
        probes = self._trickle()
        self._wait_inbox_empty()
        self._search(texts)
        self._account(files, probes)
        self.result.update(entity_data_figures())

    def _roots(self) -> dict[str, int]:
        roots: dict[str, int] = {}
        stack = self.stack
        if stack is None:
            return roots
        for child in list(stack.children):
            if child.process is not None and child.process.poll() is None:
                roots["worker-main" if child.name == "worker" else child.name] = child.process.pid
        if stack.broker is not None and stack.broker.process is not None:
            roots["redis"] = stack.broker.process.pid
        return roots

    # -- phases --
    def _drop_and_wait(self, files: list[DropFile], stall_s: float) -> tuple[float, float]:
        """Drop every file, wait for its documents to finish; (first drop, drops done)."""
        first = time.time()
        for item in files:
            self.drop_times[item.name] = drop(self.inbox, item)
        dropped = time.time()
        ids = [d for f in files for d in f.doc_ids]
        self._wait_final(ids, stall_s)
        return first, dropped

    def _wait_final(self, ids: list[str], stall_s: float) -> int:
        """Block until every id is indexed or failed, or nothing moved for `stall_s`."""
        assert self.store is not None
        done, last_change = -1, time.monotonic()
        while True:
            counts = self.store.status_counts(ids) if ids else {}
            now_done = counts.get("indexed", 0) + counts.get("failed", 0)
            if now_done >= len(ids):
                return now_done
            if now_done != done:
                done, last_change = now_done, time.monotonic()
            elif time.monotonic() - last_change > stall_s:
                self.say(
                    f"no progress for {stall_s:.0f} s: {len(ids) - now_done} documents "
                    "did not finish"
                )
                return now_done
            if self.stack is not None:
                self.stack.supervise()
            time.sleep(1.0)  # the end time comes from the store, not this poll

    def _burst(self, files: list[DropFile]) -> None:
        assert self.sampler is not None and self.stack is not None
        ids = [d for f in files for d in f.doc_ids]
        self.say(f"burst: dropping {len(files)} files ({len(ids)} documents)")
        info_before = redis_info(self.stack.broker_url)
        cpu_before = self.sampler.snapshot(rescan=True)
        machine = machine_busy_s()
        me = time.process_time()
        wall_before = time.time()
        first, dropped = self._drop_and_wait(files, self.config.stall_s)
        cpu_after = self.sampler.snapshot(rescan=True)
        wall_after = time.time()
        me = time.process_time() - me
        machine = machine_busy_s() - machine
        info_after = redis_info(self.stack.broker_url)
        reader = StoreReader(self._store_url())
        try:
            last, indexed = indexed_span(reader, ids)
        finally:
            reader.close()
        figures = burst_figures(
            documents=len(ids),
            indexed=indexed,
            seconds=last - first if last > first else None,
            drop_seconds=dropped - first,
            cpu=(cpu_before, cpu_after),
            bench_cpu=me,
            machine_cpu=machine,
            wall=wall_after - wall_before,
            redis=(info_before, info_after),
        )
        self.result.update(figures)
        self.result.update(rss_figures(self.sampler.samples, first, last or time.time()))
        self.result.update(ratios(self.result))

    def _trickle(self) -> list[DropFile]:
        assert self.store is not None
        done = trickle(self.store, self.inbox, self.config, self.say)
        self.drop_times.update(done.drops)
        self.found_times.update(done.found)
        self.result.update(done.figures)
        return done.probes

    def _wait_inbox_empty(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(p.is_file() for p in self.inbox.rglob("*") if p.name != ".lock"):
                return
            time.sleep(0.2)
        self.say("files are still in the inbox after 60 s")

    def _search(self, texts: list[str]) -> None:
        assert self.store is not None
        self.result.update(search_figures(self.store, texts, self.config, self.say))

    def _store_url(self) -> str:
        assert self.store is not None
        return self.store.url

    def _account(self, files: list[DropFile], probes: list[DropFile]) -> None:
        """Every expected document indexed exactly once; where the time went, per stage."""
        assert self.stack is not None
        burst = {d for f in files for d in f.doc_ids}
        workers = self.config.workers
        pipeline = self.result.get("pipeline_docs_per_s")
        reader = StoreReader(self._store_url())
        try:
            self.result["latency_breakdown_ms"] = latency_breakdown(
                reader,
                {d: self.drop_times[f.name] for f in probes for d in f.doc_ids},
                self.found_times,
            )
            self.result.update(
                account_figures(
                    reader,
                    expected={d for f in [*files, *probes] for d in f.doc_ids},
                    burst=burst,
                    names=[f.name for f in [*files, *probes]],
                    data=self.data,
                    warm=len(self.warm_ids),
                    workers=workers,
                    pipeline=pipeline,
                )
            )
        finally:
            reader.close()
        self.result.update(log_figures(self.data / "logs" / "worker.log", burst, self.batch_ids))
        task_busy = self.result.get("task_busy_ms_per_doc")
        if pipeline and task_busy:
            # the share of the worker processes' time spent inside tasks; the rest is waiting
            # for the next message (dispatch, acks, broker round trips) or for a CPU
            self.result["worker_busy_pct"] = rounded(
                100 * pipeline * task_busy / (1000 * workers), 1
            )
        info = redis_info(self.stack.broker_url)
        self.result["redis_used_memory_peak_mb"] = rounded(
            int(info.get("used_memory_peak", 0)) / 1024 / 1024, 2
        )
        self.result["redis_used_memory_mb"] = rounded(
            int(info.get("used_memory", 0)) / 1024 / 1024, 2
        )

    def _shutdown(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        if self.stack is not None:
            self.say("stopping the stack")
            self.stack.stop()
            self.stack = None
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def run_bench(config: BenchConfig, say: Say | None = None) -> dict[str, Any]:
    """Run a benchmark; the figures as a JSON-ready dict."""
    if config.workers < 1:
        raise ConfigError("--workers must be at least 1")
    return Bench(config, say).run()
