"""`docflow bench`: the whole pipeline measured end to end, against raw spaCy on the same texts.

Self-contained: a temporary folder holds the data dir (store, logs, processed, failed),
the watched inbox and the embedded Redis (a private one on a free port); a PostgreSQL
store gets a private database created for the run and dropped afterwards. Nothing of
the user's data, broker or configuration is touched, and everything is stopped and
removed at the end (even on Ctrl-C or SIGTERM) unless `keep` is set.

The run, in order:

1. **corpus**: generated articles (`tasks.corpus`) or the files of a folder; every file's
   expected documents are computed with the same pure functions ingest uses
   (`split_file`, `content_hash`), and every article is parsed for the baseline.
2. **baseline**: the same spaCy model with the same components (tok2vec + ner, loaded by
   `tasks.tag.load_pipeline`) over the same parsed texts, `nlp.pipe` in N spawned
   processes pulling from one shared counter; the clock starts once every process has
   loaded its model. It runs again right after the burst (the machine slows down under
   sustained load); the ratio uses the mean of the two runs. A third run alternates
   `nlp.pipe` with one model call per text (as a worker taking one document per message
   must call it) and reports what that costs; `ratio_ceiling` is the ratio the pipeline
   would reach if its workers did nothing but that call, with the watcher's, Celery main
   process's and Redis's measured CPU per document added.
3. **stack**: `LocalStack` (embedded Redis + a Celery worker with N pool processes) and
   `docflow watch INBOX` as a subprocess; a few warm-up files go through first.
4. **burst**: every corpus file is written under a temporary name and renamed into the
   inbox; throughput is documents / (last `indexed_at` - first drop). Per-process RSS
   and CPU are sampled every second; Redis command counts are read before and after.
5. **trickle**: probe files dropped one at a time, each waited for until `store.search`
   finds its unique word: drop-to-searchable latency at low load.
6. **search**: realistic queries (names, places, words from the corpus) over the store.
7. **accounting**: every expected document indexed exactly once (`lost`, `failed`,
   `duplicated`), per-stage durations from `stage_runs`, per-task durations and log
   volume from the worker log.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tasks.corpus import LENGTHS, generate_article, generate_corpus
from tasks.errors import ConfigError, DocflowError, PermanentError
from tasks.ingest import content_hash, split_file
from tasks.parse import parse_article
from tasks.store import Store, StoreURL, open_store
from workers.bench_batches import batch_figures, model_calls

#: DOCFLOW_* variables of the caller that a benchmark honours; every other one is dropped
KEPT_SETTINGS = ("DOCFLOW_SPACY_MODEL",)
PG_SCAN_EVERY_S = 5.0
SAMPLE_EVERY_S = 1.0  # sampling is the benchmark's own load: not too often
MAX_FILE_BYTES = 50 * 1024 * 1024

Say = Callable[[str], None]


# ---- configuration -------------------------------------------------------------------


@dataclass
class BenchConfig:
    """What to run; see `docflow bench --help`."""

    docs: int | None = 300  #: None with a corpus folder = every file in it
    workers: int = 2
    corpus: Path | None = None
    words: tuple[int, int] = LENGTHS["seed"]
    seed: int = 0
    store_url: str | None = None  #: None = SQLite; postgresql://... = a private database there
    trickle: int = 20
    queries: int = 200
    warmup: int | None = None  #: None = 2 per worker (at least 4)
    stall_s: float = 180.0  #: give up when no document finishes for this long
    baseline: bool = True
    keep: bool = False
    baseline_batch: int = 4


@dataclass
class DropFile:
    """A file to drop into the inbox, with what ingest will make of it."""

    name: str
    data: bytes
    doc_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    rejected: str | None = None


# ---- small helpers ---------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


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
            doc_id = content_hash(raw.content)[:16]
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


# ---- the baseline: raw spaCy in N processes ------------------------------------------------

#: texts per block when comparing nlp.pipe with the pipeline's calls, if it made none yet
COMPARE_BLOCK = 8


def _baseline_child(
    model: str,
    texts: list[str],
    counter: Any,
    ready: Any,
    start: Any,
    done: Any,
    batch: int,
    compare: list[int] | None,
) -> None:
    """One baseline process: load the model, say ready, wait, then tag texts until none remain.

    With `compare` (the sizes of the pipeline's model calls), texts are taken in blocks of
    those sizes that alternate between the continuous `nlp.pipe` and one `nlp.pipe` call
    per block, as a worker calls the model for a batch (a block of one: one call for one
    text), and the CPU per character of each way is reported: both ways see the same
    machine at the same moment, so the machine's drift cancels out.
    """
    try:
        from tasks.tag import load_pipeline

        nlp = load_pipeline(model)
        nlp("Warm-up sentence from Ankara about the United Nations and Hakan Fidan.")
        ready.put(os.getpid())
        start.wait()
        sizes = itertools.cycle(compare or [1])

        def take(step: int = 1) -> list[str]:
            with counter.get_lock():
                index = counter.value
                counter.value += step
            return texts[index : index + step]

        def feed() -> Iterator[str]:
            while block := take():
                yield from block

        count = entities = 0
        ways: dict[str, list[float]] = {"pipe": [0, 0.0], "call": [0, 0.0]}
        cpu = time.process_time()
        if compare:
            turn = itertools.cycle(("pipe", "call") if os.getpid() % 2 else ("call", "pipe"))
            while block := take(next(sizes)):
                way = next(turn)
                began = time.process_time()
                if way == "pipe":
                    docs = list(nlp.pipe(block, batch_size=batch))
                else:  # as Tagger.tag_batch calls it: one pipe over the batch's texts
                    docs = list(nlp.pipe(block, batch_size=len(block)))
                ways[way][0] += sum(len(text) for text in block)
                ways[way][1] += time.process_time() - began
                count += len(docs)
                entities += sum(len(doc.ents) for doc in docs)
        else:
            for doc in nlp.pipe(feed(), batch_size=batch):
                count += 1
                entities += len(doc.ents)
        done.put((count, entities, time.monotonic(), time.process_time() - cpu, ways))
    except BaseException as exc:  # report, never hang the parent
        ready.put(f"error: {type(exc).__name__}: {exc}")
        done.put((-1, 0, time.monotonic(), 0.0, {}))


def run_baseline(
    texts: list[str],
    processes: int,
    model: str,
    batch: int = 4,
    compare: list[int] | None = None,
) -> dict[str, Any]:
    """docs/s of `nlp.pipe` over `texts` in `processes` processes; model loading excluded.

    With `compare` (sizes of model calls), half the texts go through one model call per
    block of those sizes instead, and `per_call_cost` is the CPU per character of those
    calls over that of the continuous `nlp.pipe`.
    """
    ctx = mp.get_context("spawn")  # spaCy must not cross fork
    counter = ctx.Value("l", 0)
    ready, done = ctx.Queue(), ctx.Queue()
    start = ctx.Event()
    procs = [
        ctx.Process(
            target=_baseline_child,
            args=(model, texts, counter, ready, start, done, batch, compare),
            name=f"docflow-bench-baseline-{i}",
            daemon=True,
        )
        for i in range(processes)
    ]
    loading = time.monotonic()
    try:
        for proc in procs:
            proc.start()
        for _ in procs:
            msg = ready.get(timeout=300)
            if isinstance(msg, str):
                raise ConfigError(f"the baseline could not load the spaCy model: {msg}")
        load_s = time.monotonic() - loading
        machine = machine_busy_s()
        began = time.monotonic()
        start.set()
        results = [done.get(timeout=3600) for _ in procs]
        machine = machine_busy_s() - machine
    finally:
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
    if any(count < 0 for count, *_ in results):
        raise ConfigError("a baseline process failed")
    seconds = max(end for _, _, end, *_ in results) - began
    docs = sum(count for count, *_ in results)
    cpu = sum(c for *_, c, _ in results)
    chars = {w: sum(r[4][w][0] for r in results) for w in ("pipe", "call")} if compare else {}
    spent = {w: sum(r[4][w][1] for r in results) for w in ("pipe", "call")} if compare else {}
    per_call_cost = (
        (spent["call"] / chars["call"]) / (spent["pipe"] / chars["pipe"])
        if compare and all(chars.values()) and spent["pipe"] > 0
        else None
    )
    return {
        "per_call_cost": per_call_cost,
        "docs": docs,
        "seconds": seconds,
        "docs_per_s": docs / seconds if seconds > 0 else None,
        "entities": sum(e for _, e, *_ in results),
        "load_s": load_s,
        "cpu_ms_per_doc": cpu * 1000 / docs if docs else None,
        "other_load_pct": other_load_pct(machine, cpu, seconds),
        "per_process": sorted(count for count, *_ in results),
    }


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores) since boot."""
    import psutil

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def other_load_pct(machine_s: float, ours_s: float, wall_s: float) -> float | None:
    """Share of the machine's CPU used by processes outside the benchmark, in percent."""
    capacity = wall_s * (os.cpu_count() or 1)
    if capacity <= 0:
        return None
    return round(max(0.0, machine_s - ours_s) * 100 / capacity, 1)


# ---- reading the store directly (read-only) --------------------------------------------------


class StoreReader:
    """Plain SQL over a store's tables, read-only, for figures the Store API does not give."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = StoreURL.parse(url)
        self.postgres = self.location.is_postgres
        self._conn: Any = None

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self._conn is None:
            if self.postgres:
                import psycopg

                self._conn = psycopg.connect(self.url, autocommit=True)
            else:
                import sqlite3

                path = self.location.path
                self._conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        if self.postgres:
            sql = sql.replace("?", "%s")
        return [tuple(r) for r in self._conn.execute(sql, params).fetchall()]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def create_private_database(url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server of a postgresql:// URL; (its URL, drop function)."""
    import psycopg
    from psycopg import sql

    server = StoreURL.parse(url, setting="--store-url")
    if not server.is_postgres:
        raise ConfigError(f"--store-url: {server.masked!r} is not postgresql://")
    name = f"docflow_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ConfigError(
            f"--store-url: cannot create a private benchmark database: {str(exc).strip()}",
            hint="the benchmark never writes to an existing database; give a role that may "
            "CREATE DATABASE",
        ) from exc
    private = server.with_database(name)

    def drop_database() -> None:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    return private, drop_database


# ---- process sampling ---------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    role: str  #: worker-main | worker | watcher | redis
    pid: int
    rss: int
    cpu: float


class Sampler(threading.Thread):
    """Samples RSS and CPU time of the stack's processes every second."""

    def __init__(
        self,
        roots: Callable[[], dict[str, int]],
        every: float = SAMPLE_EVERY_S,
        database: str | None = None,
    ) -> None:
        super().__init__(name="docflow-bench-sampler", daemon=True)
        self.roots = roots
        self.every = every
        #: a local PostgreSQL database: its server processes count as the pipeline's
        self.database = database
        self.samples: list[Sample] = []
        self.stopped = threading.Event()
        self._pg_procs: dict[int, Any] = {}
        self._pg_next_scan = 0.0

    def snapshot(self, rescan: bool = False) -> list[Sample]:
        """Every process of the stack now; `rescan` finds new database backends at once."""
        import psutil

        now = time.time()
        out: list[Sample] = []
        for role, pid in self.roots().items():
            try:
                root = psutil.Process(pid)
                procs = [(role, root)]
                if role == "worker-main":
                    procs += [("worker", p) for p in root.children(recursive=True)]
                for name, proc in procs:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        out.append(
                            Sample(
                                now,
                                name,
                                proc.pid,
                                proc.memory_info().rss,
                                times.user + times.system,
                            )
                        )
            except psutil.Error:
                continue
        if self.database:
            out += self._postgres(now, rescan)
        return out

    def _postgres(self, now: float, rescan: bool = False) -> list[Sample]:
        """The local server's backends serving the benchmark database (`postgres: ... db ...`).

        Listing every process is itself costly, so the list of backends is refreshed only
        every few seconds (connections are pooled and long-lived); known ones are sampled
        every time.
        """
        import psutil

        if rescan or now >= self._pg_next_scan:
            self._pg_next_scan = now + PG_SCAN_EVERY_S
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = " ".join(proc.info.get("cmdline") or [])
                ours = cmdline.startswith("postgres:") and f" {self.database} " in f"{cmdline} "
                if ours and proc.pid not in self._pg_procs:
                    self._pg_procs[proc.pid] = proc
        out: list[Sample] = []
        for pid, proc in list(self._pg_procs.items()):
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    cpu = times.user + times.system
                    out.append(Sample(now, "postgres", pid, proc.memory_info().rss, cpu))
            except psutil.Error:
                del self._pg_procs[pid]
        return out

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.extend(self.snapshot())
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join(5)


def rss_figures(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    """Peak RSS per role, and growth of the worker processes from the first to the last quarter."""
    peak: dict[str, int] = defaultdict(int)
    for s in samples:
        peak[s.role] = max(peak[s.role], s.rss)
    per_time: dict[float, int] = defaultdict(int)
    for s in samples:
        if s.role == "worker" and start <= s.at <= end:
            per_time[s.at] = max(per_time[s.at], s.rss)
    series = [per_time[t] for t in sorted(per_time)]
    growth = None
    if len(series) >= 4:
        quarter = max(1, len(series) // 4)
        first = sum(series[:quarter]) / quarter
        last = sum(series[-quarter:]) / quarter
        growth = (last / first - 1) * 100 if first else None
    mb = 1024 * 1024
    return {
        "worker_rss_mb_max": _r(peak["worker"] / mb, 1) if peak["worker"] else None,
        "worker_main_rss_mb_max": _r(peak["worker-main"] / mb, 1) if peak["worker-main"] else None,
        "watcher_rss_mb_max": _r(peak["watcher"] / mb, 1) if peak["watcher"] else None,
        "worker_rss_growth_pct": _r(growth, 1),
        "worker_rss_first_quarter_mb": _r(series[0] / mb, 1) if series else None,
        "rss_samples": len(series),
    }


def cpu_by_role(before: list[Sample], after: list[Sample]) -> dict[str, float]:
    """CPU seconds spent per role between two snapshots (processes new in `after` count fully)."""
    start = {s.pid: s.cpu for s in before}
    out: dict[str, float] = defaultdict(float)
    for s in after:
        out[s.role] += max(0.0, s.cpu - start.get(s.pid, 0.0))
    return dict(out)


# ---- redis ------------------------------------------------------------------------------------


def redis_info(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    info: dict[str, Any] = client.info("all")
    return info


def command_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    """Redis commands run between two `INFO all` replies, per command."""
    out: dict[str, int] = {}
    for key, value in after.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            old = before.get(key, {}).get("calls", 0) if isinstance(before.get(key), dict) else 0
            delta = int(value.get("calls", 0)) - int(old)
            if delta:
                out[key.removeprefix("cmdstat_")] = delta
    return out


# ---- logs ---------------------------------------------------------------------------------------


def log_figures(path: Path, doc_ids: set[str]) -> dict[str, Any]:
    """Per-task durations (task_prerun..postrun, store writes included) and log volume per doc."""
    durations: dict[str, list[float]] = defaultdict(list)
    lines = size = doc_lines = 0
    events: Counter[str] = Counter()
    try:
        handle = path.open("rb")
    except OSError:
        return {}
    with handle:
        for raw in handle:
            lines += 1
            size += len(raw)
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("doc_id") not in doc_ids:
                continue
            doc_lines += 1
            events[str(record.get("event")).split("[", 1)[0]] += 1
            if record.get("event") == "task_finished" and "stage" in record:
                durations[str(record["stage"])].append(float(record.get("duration_ms", 0)))
    n = max(1, len(doc_ids))
    return {
        "task_busy_ms_per_doc": _r(sum(sum(v) for v in durations.values()) / n, 2),
        "task_ms": {
            stage: {"p50": _r(percentile(v, 50), 2), "p95": _r(percentile(v, 95), 2)}
            for stage, v in sorted(durations.items())
        },
        "worker_log_lines_per_doc": _r(doc_lines / n, 1),
        "worker_log_bytes_total": size,
        "worker_log_events_per_doc": {k: _r(v / n, 2) for k, v in events.most_common(8)},
    }


# ---- the environment of a run ----------------------------------------------------------------


@contextlib.contextmanager
def private_environment(root: Path, env: dict[str, str]) -> Iterator[None]:
    """DOCFLOW_* from `env` only (plus KEPT_SETTINGS), cwd in `root` (no `.env` read); restored."""
    from workers.settings import get_settings

    saved = dict(os.environ)
    cwd = os.getcwd()
    for key in list(os.environ):
        if key.startswith("DOCFLOW_") and key not in KEPT_SETTINGS:
            del os.environ[key]
    os.environ.update(env)
    os.chdir(root)
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


@contextlib.contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so the clean-up of a run happens for it too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---- the run ----------------------------------------------------------------------------------


class Bench:
    """One benchmark run; `run()` returns the figures as a JSON-ready dict."""

    def __init__(self, config: BenchConfig, say: Say | None = None) -> None:
        self.config = config
        self.say: Say = say or _stderr
        self.root = Path(tempfile.mkdtemp(prefix="docflow-bench-"))
        self.data = self.root / "data"
        self.inbox = self.root / "inbox"
        self.stack: Any = None
        self.store: Store | None = None
        self.sampler: Sampler | None = None
        self.drop_times: dict[str, float] = {}
        self.warm_ids: set[str] = set()
        self.found_times: dict[str, float] = {}
        self.result: dict[str, Any] = {}
        self.baselines: dict[str, dict[str, Any]] = {}
        self.calls: list[int] = []  #: documents per model call in the burst

    # -- orchestration --
    def run(self) -> dict[str, Any]:
        cfg = self.config
        drop_db: Callable[[], None] | None = None
        try:
            with interrupt_on_sigterm():
                files = self._corpus()
                texts = [t for f in files for t in f.texts]
                if cfg.baseline:
                    self._baseline(texts, "before")
                store_url = f"sqlite:///{self.data / 'docflow.db'}"
                if cfg.store_url and not cfg.store_url.startswith("sqlite"):
                    store_url, drop_db = create_private_database(cfg.store_url)
                self.result["store"] = "postgresql" if drop_db else "sqlite"
                if drop_db is not None:
                    self.result["store_url"] = StoreURL.parse(store_url).masked
                with private_environment(self.root, self._env(store_url)):
                    self._pipeline(files, texts, store_url)
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

    def _env(self, store_url: str) -> dict[str, str]:
        return {
            "DOCFLOW_DATA_DIR": str(self.data),
            "DOCFLOW_STORE_URL": store_url,
            "DOCFLOW_INBOX_DIR": str(self.inbox),
            "DOCFLOW_PROCESSED_DIR": str(self.data / "processed"),
            "DOCFLOW_FAILED_DIR": str(self.data / "failed"),
            "DOCFLOW_ENTITIES_FILE": str(self.data / "entities.toml"),
            "DOCFLOW_LOG_FORMAT": "json",
            "DOCFLOW_LOG_LEVEL": "INFO",
        }

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
            words_mean=_r(sum(words) / len(words), 1) if words else None,
        )
        if not self.result["docs"]:
            raise ConfigError("the corpus holds no article that docflow would take")
        return files

    @staticmethod
    def _model() -> str:
        """The model the workers will load: DOCFLOW_SPACY_MODEL is the one setting kept."""
        from tasks.tag import DEFAULT_MODEL

        return os.environ.get("DOCFLOW_SPACY_MODEL") or DEFAULT_MODEL

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
        self.result.update(
            {
                f"baseline_{when}_docs_per_s": _r(base["docs_per_s"], 2),
                f"baseline_{when}_cpu_ms_per_doc": _r(base["cpu_ms_per_doc"], 1),
            }
        )
        runs = list(self.baselines.values())
        n = len(runs)
        self.result.update(
            baseline_docs_per_s=_r(sum(r["docs_per_s"] for r in runs) / n, 2),
            baseline_seconds=_r(sum(r["seconds"] for r in runs) / n, 2),
            baseline_model_load_s=_r(base["load_s"], 2),
            baseline_cpu_ms_per_doc=_r(sum(r["cpu_ms_per_doc"] for r in runs) / n, 1),
            baseline_other_load_pct=base["other_load_pct"],
            baseline_entities=base["entities"],
        )
        self._ratios()

    def _batches(self, files: list[DropFile]) -> None:
        """The sizes of the model calls the workers made for the burst, and their report."""
        burst = {d for f in files for d in f.doc_ids}
        reader = StoreReader(self._store_url())
        try:
            runs = reader.rows("SELECT doc_id, batch_id FROM stage_runs WHERE stage = 'tag'")
        finally:
            reader.close()
        self.calls = model_calls(runs, burst)
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
        self.result["spacy_per_call_cost_pct"] = _r(100 * (cost - 1), 1) if cost else None
        self._ratios()

    def _ratios(self) -> None:
        baseline = self.result.get("baseline_docs_per_s")
        pipeline = self.result.get("pipeline_docs_per_s")
        self.result["ratio"] = _r(pipeline / baseline, 3) if baseline and pipeline else None
        base_cpu = self.result.get("baseline_cpu_ms_per_doc")
        pipe_cpu = self.result.get("pipeline_cpu_ms_per_doc")
        # what the ratio would be on an otherwise idle machine when both are CPU-bound
        self.result["cpu_ratio"] = _r(base_cpu / pipe_cpu, 3) if base_cpu and pipe_cpu else None
        cost = self.result.get("spacy_per_call_cost_pct")
        cpu = self.result.get("cpu_ms_per_doc") or {}
        if base_cpu and cost is not None and cpu:
            around = sum(cpu.get(role, 0.0) for role in ("watcher", "worker-main", "redis"))
            call_cpu = base_cpu * (1 + cost / 100)
            self.result["ratio_ceiling"] = _r(base_cpu / (call_cpu + around), 3)
            if "worker" in cpu:
                # what the workers spend beyond that one model call: parse, rules, store, logs
                self.result["worker_own_cpu_ms_per_doc"] = _r(cpu["worker"] - call_cpu, 1)

    def _pipeline(self, files: list[DropFile], texts: list[str], store_url: str) -> None:
        from workers.settings import Settings
        from workers.stack import LocalStack

        cfg = self.config
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        self.inbox.mkdir(parents=True)
        self.store = open_store(store_url)  # migrated here, before any worker starts
        self.stack = stack = LocalStack(settings, workers=cfg.workers)
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
            last = 0.0
            indexed = 0
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                row = reader.rows(
                    f"SELECT max(indexed_at), count(indexed_at) FROM documents"
                    f" WHERE id IN ({marks}) AND status = 'indexed'",
                    tuple(chunk),
                )[0]
                if row[0] is not None:
                    last = max(last, float(row[0]))
                    indexed += int(row[1])
        finally:
            reader.close()
        seconds = last - first if last > first else None
        n = max(1, len(ids))
        cpu = cpu_by_role(cpu_before, cpu_after)
        cpu["bench"] = me
        wall = wall_after - wall_before
        pipeline_cpu = sum(v for k, v in cpu.items() if k != "bench")
        commands = command_deltas(info_before, info_after)
        self.result.update(
            pipeline_docs_per_s=_r(indexed / seconds, 2) if seconds else None,
            pipeline_seconds=_r(seconds, 2),
            drop_seconds=_r(dropped - first, 2),
            cpu_ms_per_doc={k: _r(v * 1000 / n, 1) for k, v in sorted(cpu.items())},
            pipeline_cpu_ms_per_doc=_r(pipeline_cpu * 1000 / n, 1),
            pipeline_cpu_pct_of_machine=_r(100 * pipeline_cpu / (wall * (os.cpu_count() or 1)), 1)
            if wall > 0
            else None,
            pipeline_other_load_pct=other_load_pct(machine, sum(cpu.values()), wall),
            redis_commands_per_doc=_r(sum(commands.values()) / n, 1),
            redis_top_commands_per_doc={
                k: _r(v / n, 2) for k, v in Counter(commands).most_common(8)
            },
            redis_net_in_bytes_per_doc=_r(
                (
                    info_after.get("total_net_input_bytes", 0)
                    - info_before.get("total_net_input_bytes", 0)
                )
                / n,
                0,
            ),
        )
        self.result.update(rss_figures(self.sampler.samples, first, last or time.time()))
        self._ratios()

    def _trickle(self) -> list[DropFile]:
        assert self.store is not None
        cfg = self.config
        if cfg.trickle <= 0:
            return []
        self.say(f"trickle: {cfg.trickle} files one at a time")
        latencies: list[float] = []
        probes: list[DropFile] = []
        words = cfg.words if cfg.corpus is None else LENGTHS["seed"]
        for i in range(cfg.trickle):
            token = "probe" + secrets.token_hex(5)
            article = generate_article(
                f"{cfg.seed}-probe", i, words[0], max(words[0], words[1] - 6)
            )
            text = article.text.rstrip("\n") + f"\n\nReference {token} was filed.\n"
            [item], _ = prepare_files([(f"probe-{i:05d}.txt", text.encode("utf-8"))])
            probes.append(item)
            dropped = drop(self.inbox, item)
            self.drop_times[item.name] = dropped
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.store.search(token, limit=1):
                    found = time.time()
                    latencies.append(found - dropped)
                    self.found_times.update(dict.fromkeys(item.doc_ids, found))
                    break
                time.sleep(0.01)
            else:
                self.say(f"probe {i} not searchable after 60 s")
            time.sleep(0.1)
        self.result.update(
            latency_p50_s=_r(percentile(latencies, 50)),
            latency_p95_s=_r(percentile(latencies, 95)),
            latency_max_s=_r(max(latencies) if latencies else None),
            latency_samples=len(latencies),
        )
        return probes

    def _wait_inbox_empty(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(p.is_file() for p in self.inbox.rglob("*") if p.name != ".lock"):
                return
            time.sleep(0.2)
        self.say("files are still in the inbox after 60 s")

    def _search(self, texts: list[str]) -> None:
        assert self.store is not None
        cfg = self.config
        queries = search_queries(texts, cfg.queries, cfg.seed)
        if not queries:
            return
        self.say(f"search: {len(queries)} queries")
        self.store.search(queries[0])
        timings: list[float] = []
        hits = 0
        for query in queries:
            began = time.perf_counter()
            found = self.store.search(query, limit=10)
            timings.append((time.perf_counter() - began) * 1000)
            hits += len(found)
        self.result.update(
            search_p50_ms=_r(percentile(timings, 50), 2),
            search_p95_ms=_r(percentile(timings, 95), 2),
            search_queries=len(queries),
            search_hits_mean=_r(hits / len(queries), 1),
        )

    def _store_url(self) -> str:
        assert self.store is not None
        return self.store.url

    def _account(self, files: list[DropFile], probes: list[DropFile]) -> None:
        """Every expected document indexed exactly once; where the time went, per stage."""
        assert self.stack is not None
        reader = StoreReader(self._store_url())
        try:
            status = dict(reader.rows("SELECT id, status FROM documents"))
            runs = reader.rows("SELECT doc_id, stage, duration_ms, attempts FROM stage_runs")
            total = reader.rows("SELECT count(*) FROM documents")[0][0]
            self.result["latency_breakdown_ms"] = latency_breakdown(
                reader,
                {d: self.drop_times[f.name] for f in probes for d in f.doc_ids},
                self.found_times,
            )
        finally:
            reader.close()
        expected = {d for f in [*files, *probes] for d in f.doc_ids}
        burst = {d for f in files for d in f.doc_ids}
        indexed = sum(1 for d in expected if status.get(d) == "indexed")
        failed = sum(1 for d in expected if status.get(d) == "failed")
        placed = _placed_counts(self.data / "processed", self.data / "failed")
        names = [f.name for f in [*files, *probes]]
        duplicated = sum(max(0, placed.get(n, 0) - 1) for n in names)
        stage_ms: dict[str, list[float]] = defaultdict(list)
        reruns = 0
        per_doc: dict[str, float] = defaultdict(float)
        for doc_id, stage, duration, attempts in runs:
            if doc_id not in burst:
                continue
            if duration is not None:
                stage_ms[stage].append(float(duration))
                if stage != "ingest":
                    per_doc[doc_id] += float(duration)
            reruns += int(attempts or 1) > 1
        busy = sum(per_doc.values()) / len(per_doc) if per_doc else None
        workers = self.config.workers
        pipeline = self.result.get("pipeline_docs_per_s")
        self.result.update(
            expected=len(expected),
            indexed=indexed,
            failed=failed,
            lost=len(expected) - indexed - failed,
            duplicated=duplicated,
            not_placed=sum(1 for n in names if not placed.get(n)),
            unexpected_documents=max(0, int(total) - len(expected) - len(self.warm_ids)),
            stage_reruns=reruns,
            stage_ms={
                stage: {"p50": _r(percentile(v, 50), 2), "p95": _r(percentile(v, 95), 2)}
                for stage, v in sorted(stage_ms.items())
            },
            stage_busy_ms_per_doc=_r(busy, 2),
            stage_bound_docs_per_s=_r(workers * 1000 / busy, 2) if busy else None,
        )
        if pipeline and busy:
            self.result["stage_time_share_pct"] = _r(100 * pipeline * busy / (1000 * workers), 1)
        self.result.update(log_figures(self.data / "logs" / "worker.log", burst))
        task_busy = self.result.get("task_busy_ms_per_doc")
        if pipeline and task_busy:
            # the share of the worker processes' time spent inside tasks; the rest is waiting
            # for the next message (dispatch, acks, broker round trips) or for a CPU
            self.result["worker_busy_pct"] = _r(100 * pipeline * task_busy / (1000 * workers), 1)
        info = redis_info(self.stack.broker_url)
        self.result["redis_used_memory_peak_mb"] = _r(
            int(info.get("used_memory_peak", 0)) / 1024 / 1024, 2
        )
        self.result["redis_used_memory_mb"] = _r(int(info.get("used_memory", 0)) / 1024 / 1024, 2)

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


#: segments of drop-to-indexed at low load: (name, start point, end point)
_SEGMENTS = (
    ("watcher: drop to recorded", "drop", "created"),
    ("queue: recorded to parse start", "created", "parse.start"),
    ("parse", "parse.start", "parse.end"),
    ("parse done to tag start", "parse.end", "tag.start"),
    ("tag", "tag.start", "tag.end"),
    ("tag done to index start", "tag.end", "index.start"),
    ("index", "index.start", "index.end"),
    ("index done to found by search", "index.end", "found"),
)


def latency_breakdown(
    reader: StoreReader, drops: dict[str, float], found: dict[str, float]
) -> dict[str, float | None]:
    """p50 of each segment from drop to indexed, for documents dropped one at a time.

    A stage's recorded duration stops just before its result is written, so each
    "done to next start" gap holds that write, the publish of the next message, the ack
    and the broker round trip to a worker process.
    """
    if not drops:
        return {}
    ids = list(drops)
    marks = ",".join("?" * len(ids))
    points: dict[str, dict[str, float]] = {d: {"drop": t} for d, t in drops.items()}
    for doc_id, at in found.items():
        points[doc_id]["found"] = at
    for doc_id, created in reader.rows(
        f"SELECT id, created_at FROM documents WHERE id IN ({marks})", tuple(ids)
    ):
        points[doc_id]["created"] = float(created)
    for doc_id, stage, started, duration in reader.rows(
        f"SELECT doc_id, stage, started, duration_ms FROM stage_runs WHERE doc_id IN ({marks})",
        tuple(ids),
    ):
        if started is None or duration is None:
            continue
        points[doc_id][f"{stage}.start"] = float(started)
        points[doc_id][f"{stage}.end"] = float(started) + float(duration) / 1000
    out: dict[str, float | None] = {}
    for name, start, end in _SEGMENTS:
        values = [(p[end] - p[start]) * 1000 for p in points.values() if start in p and end in p]
        out[name] = _r(percentile(values, 50), 1)
    return out


def _placed_counts(*folders: Path) -> dict[str, int]:
    """How many times each original file name was placed (`name`, `name-1`, ... count)."""
    counts: dict[str, int] = defaultdict(int)
    clash = re.compile(r"^(?P<stem>.*?)-(?P<n>\d+)$")
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            if not path.is_file() or path.name.endswith(".error.json"):
                continue
            name = path.name
            match = clash.match(path.stem)
            if match and (folder / f"{match['stem']}{path.suffix}").exists():
                name = f"{match['stem']}{path.suffix}"
            counts[name] += 1
    return counts


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


def _stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def run_bench(config: BenchConfig, say: Say | None = None) -> dict[str, Any]:
    """Run a benchmark; the figures as a JSON-ready dict."""
    if config.workers < 1:
        raise ConfigError("--workers must be at least 1")
    return Bench(config, say).run()
