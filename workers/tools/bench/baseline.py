"""The baseline: the same spaCy model over the same texts, `nlp.pipe` in N raw processes."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from tasks.errors import ConfigError

#: blocks of the pipeline's call sizes per turn when comparing its calls with nlp.pipe
COMPARE_GROUP = 2


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

    With `compare` (the sizes of the pipeline's model calls), texts are taken in turns of
    blocks of those sizes (`_compare_ways`), alternately through one `nlp.pipe` call per
    block, as a worker calls the model for a batch (a block of one: one call for one
    text), and through one continuous `nlp.pipe` over as many texts; the CPU per
    character of each way is reported: both ways see the same machine at the same
    moment, so the machine's drift cancels out.
    """
    try:
        from tasks.tag import load_pipeline

        nlp = load_pipeline(model)
        nlp("Warm-up sentence from Ankara about the United Nations and Hakan Fidan.")
        ready.put(os.getpid())
        start.wait()

        def take(step: int = 1) -> list[str]:
            with counter.get_lock():
                index = counter.value
                counter.value += step
            return texts[index : index + step]

        def feed() -> Iterator[str]:
            while block := take():
                yield from block

        cpu = time.process_time()
        if compare:
            count, entities, ways = _compare_ways(nlp, take, compare, batch)
        else:
            count = entities = 0
            ways = {}
            for doc in nlp.pipe(feed(), batch_size=batch):
                count += 1
                entities += len(doc.ents)
        done.put((count, entities, time.monotonic(), time.process_time() - cpu, ways))
    except BaseException as exc:  # report, never hang the parent
        ready.put(f"error: {type(exc).__name__}: {exc}")
        done.put((-1, 0, time.monotonic(), 0.0, {}))


def _compare_ways(
    nlp: Any, take: Callable[[int], list[str]], compare: list[int], batch: int
) -> tuple[int, int, dict[str, list[float]]]:
    """Turns of `COMPARE_GROUP` blocks of the pipeline's call sizes, each turn either one
    `nlp.pipe` call per block (as a worker calls the model for each batch) or one
    continuous `nlp.pipe` over the same number of texts (the baseline's way).

    Returns the texts and entities seen, and per way the characters and CPU seconds spent.
    """
    from tasks.tag import MODEL_BATCH

    sizes = itertools.cycle(compare)
    turn = itertools.cycle(("pipe", "call") if os.getpid() % 2 else ("call", "pipe"))
    ways: dict[str, list[float]] = {"pipe": [0, 0.0], "call": [0, 0.0]}
    count = entities = 0
    while True:
        way = next(turn)
        wanted = [next(sizes) for _ in range(COMPARE_GROUP)]
        # "call": as Tagger.tag_batch calls the model, one pipe per batch of documents
        blocks = [take(n) for n in wanted] if way == "call" else [take(sum(wanted))]
        blocks = [block for block in blocks if block]
        if not blocks:
            break
        began = time.process_time()
        docs = [
            doc
            for block in blocks
            for doc in nlp.pipe(block, batch_size=batch if way == "pipe" else MODEL_BATCH)
        ]
        ways[way][1] += time.process_time() - began
        ways[way][0] += sum(len(text) for block in blocks for text in block)
        count += len(docs)
        entities += sum(len(doc.ents) for doc in docs)
    return count, entities, ways


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
    return _summary(results, began, load_s, machine, bool(compare))


def _summary(
    results: list[Any], began: float, load_s: float, machine: float, compared: bool
) -> dict[str, Any]:
    """The baseline's figures from what each process reported."""
    seconds = max(end for _, _, end, *_ in results) - began
    docs = sum(count for count, *_ in results)
    cpu = sum(c for *_, c, _ in results)
    chars = {w: sum(r[4][w][0] for r in results) for w in ("pipe", "call")} if compared else {}
    spent = {w: sum(r[4][w][1] for r in results) for w in ("pipe", "call")} if compared else {}
    per_call_cost = (
        (spent["call"] / chars["call"]) / (spent["pipe"] / chars["pipe"])
        if compared and all(chars.values()) and spent["pipe"] > 0
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
