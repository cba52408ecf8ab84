"""`docflow bench`: throughput, latency, memory and search speed of a private pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tasks.errors import ConfigError
from tasks.store.url import StoreURL
from workers.cli_app import app
from workers.logging import configure_logging
from workers.output import console, err_console, print_json
from workers.tools.corpus import LENGTHS, parse_words

#: (key, label, unit, target test or None, target text)
ROWS: list[tuple[str, str, str, Any, str]] = [
    ("docs", "documents (burst)", "", None, ""),
    ("workers", "worker processes", "", None, ""),
    ("store", "store", "", None, ""),
    ("words_mean", "words per article (mean)", "", None, ""),
    ("pipeline_docs_per_s", "pipeline", "docs/s", None, ""),
    ("baseline_docs_per_s", "baseline (raw spaCy, same texts)", "docs/s", None, ""),
    ("baseline_before_docs_per_s", "  baseline before the burst", "docs/s", None, ""),
    ("baseline_after_docs_per_s", "  baseline after the burst", "docs/s", None, ""),
    ("ratio", "ratio pipeline / baseline", "", None, ">= 0.92 seed, >= 0.85 short"),
    ("spacy_per_call_cost_pct", "  spaCy as the workers called it vs nlp.pipe", "% CPU", None, ""),
    (
        "ratio_ceiling",
        "  ratio if workers only called spaCy",
        "",
        None,
        "the workers' model calls + watcher, Celery main, Redis",
    ),
    ("worker_own_cpu_ms_per_doc", "  worker CPU per doc beyond that call", "ms", None, ""),
    ("latency_p50_s", "drop-to-searchable p50", "s", lambda v: v <= 0.5, "<= 0.5 s"),
    ("latency_p95_s", "drop-to-searchable p95", "s", lambda v: v <= 1.0, "<= 1 s"),
    ("worker_rss_mb_max", "worker peak RSS", "MB", lambda v: v <= 400, "<= 400 MB"),
    (
        "worker_rss_growth_pct",
        "worker RSS growth (1st -> last quarter)",
        "%",
        lambda v: v <= 10,
        "<= 10 %",
    ),
    ("watcher_rss_mb_max", "watcher peak RSS", "MB", None, ""),
    ("entity_data_rss_mb", "entity rules' data, RSS per process", "MB", None, ""),
    ("entity_data_load_ms", "entity rules' data, load per process", "ms", None, ""),
    ("redis_used_memory_peak_mb", "Redis used_memory_peak", "MB", None, ""),
    ("documents", "documents searched", "", None, ""),
    ("fill_docs_per_s", "  filled through the store API", "docs/s", None, ""),
    ("search_p50_ms", "search p50 (with facets)", "ms", lambda v: v <= 25, "<= 25 ms"),
    ("search_p95_ms", "search p95 (with facets)", "ms", lambda v: v <= 100, "<= 100 ms"),
    ("search_hits_mean", "  documents matched per query (mean)", "", None, ""),
    ("search_listing_ms", "  listing every document, with facets", "ms", None, ""),
    ("api_search_p50_ms", "API search p50 (with facets)", "ms", lambda v: v <= 25, "<= 25 ms"),
    ("api_search_p95_ms", "API search p95 (with facets)", "ms", lambda v: v <= 100, "<= 100 ms"),
    ("page_p50_ms", "search page p50", "ms", None, ""),
    ("page_p95_ms", "search page p95", "ms", lambda v: v <= 150, "<= 150 ms"),
    ("indexed", "indexed", "", None, ""),
    ("lost", "lost", "", lambda v: v == 0, "0"),
    ("duplicated", "duplicated", "", lambda v: v == 0, "0"),
    ("failed", "failed", "", lambda v: v == 0, "0"),
    ("stage_reruns", "stage re-runs", "", None, ""),
    ("stage_busy_ms_per_doc", "stage time per doc (parse+tag+index)", "ms", None, ""),
    ("stage_time_share_pct", "share of worker time inside stages", "%", None, ""),
    ("worker_busy_pct", "share of worker time inside tasks", "%", None, ""),
    ("pipeline_cpu_ms_per_doc", "pipeline CPU per doc (all processes)", "ms", None, ""),
    ("baseline_cpu_ms_per_doc", "baseline CPU per doc", "ms", None, ""),
    ("cpu_ratio", "CPU ratio baseline / pipeline", "", None, ""),
    ("pipeline_other_load_pct", "machine load from other processes", "%", None, ""),
    ("redis_commands_per_doc", "Redis commands per doc", "", None, ""),
    ("in_process_docs", "documents delivered in process", "", None, ""),
    ("in_process_cpu_ms_per_doc", "deliver_batch CPU per doc", "ms", None, ""),
    ("raw_pipe_cpu_ms_per_doc", "raw nlp.pipe CPU per doc, same texts", "ms", None, ""),
    ("model_vs_raw", "  the model part / raw nlp.pipe", "", None, ""),
    ("in_process_ratio", "  raw nlp.pipe / deliver_batch", "", None, ""),
    ("worker_log_lines_per_doc", "worker log lines per doc", "", None, ""),
]


def _ratio_ok(result: dict[str, Any]) -> bool | None:
    ratio = result.get("ratio")
    if ratio is None:
        return None
    words = result.get("words") or [0, 0]
    short = words[1] and words[1] <= LENGTHS["short"][1]
    return bool(ratio >= (0.85 if short else 0.92))


def render(result: dict[str, Any]) -> None:
    """The figures as a readable table (targets are for 2 workers on 2 cores)."""
    from rich.table import Table

    table = Table(title="docflow bench", show_lines=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target")
    for key, label, unit, check, target in ROWS:
        value = result.get(key)
        if value is None and (key not in ("lost", "duplicated") or "indexed" not in result):
            continue
        verdict = ""
        ok = _ratio_ok(result) if key == "ratio" else (check(value) if check else None)
        if ok is not None and value is not None:
            verdict = " [green]ok[/]" if ok else " [red]missed[/]"
        shown = f"{value} {unit}".strip()
        table.add_row(label, shown, f"{target}{verdict}" if target else "")
    for stage, figures in (result.get("stage_ms") or {}).items():
        task = (result.get("task_ms") or {}).get(stage, {})
        extra = f" (task {task.get('p50')}/{task.get('p95')})" if task else ""
        table.add_row(f"stage {stage} p50/p95", f"{figures['p50']}/{figures['p95']} ms{extra}", "")
    for segment, value in (result.get("latency_breakdown_ms") or {}).items():
        table.add_row(f"  low-load p50: {segment}", f"{value} ms", "")
    for part, value in (result.get("in_process_ms_per_doc") or {}).items():
        table.add_row(f"  {part.replace('_', ' ')}", f"{value} ms", "")
    if result.get("in_process_gc_ms_per_doc") is not None:
        table.add_row("  of which gc", f"{result['in_process_gc_ms_per_doc']} ms", "")
    cpu = result.get("cpu_ms_per_doc") or {}
    if cpu:
        table.add_row("CPU per doc", ", ".join(f"{k} {v}" for k, v in cpu.items()) + " ms", "")
    batches = result.get("batches") or {}
    if batches:
        table.add_row(
            "model calls (docs per call)",
            f"{batches['model_calls']} ({batches['docs_per_model_call']})",
            f"{batches['batched_docs_pct']} % of docs in a batch",
        )
        sizes = ", ".join(f"{k}: {v}" for k, v in batches["docs_by_batch_size"].items() if v)
        table.add_row("  docs by batch size", sizes, "")
    console.print(table)


# long only by its options: each declaration is an entry of `docflow bench --help`
@app.command()
def bench(
    docs: Annotated[
        int | None,
        typer.Option(
            "--docs",
            "-n",
            min=1,
            help="documents in the burst (default 300; with --corpus: every file)",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="worker processes")] = 2,
    corpus: Annotated[
        Path | None,
        typer.Option(
            "--corpus",
            exists=True,
            file_okay=False,
            help="a folder of articles to use instead of generated ones",
        ),
    ] = None,
    length: Annotated[
        str,
        typer.Option(
            "--length", help="generated article length: short (~230 words) or seed (~600)"
        ),
    ] = "seed",
    words: Annotated[
        str | None,
        typer.Option(
            "--words", help="generated article length as MIN-MAX words (overrides --length)"
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the generated corpus")] = 0,
    store_url: Annotated[
        str | None,
        typer.Option(
            "--store-url",
            help="sqlite (default) or a postgresql:// server, where a private database is created "
            "for the run and dropped after it",
        ),
    ] = None,
    trickle: Annotated[
        int,
        typer.Option(
            "--trickle", min=0, help="files dropped one at a time for the latency figures"
        ),
    ] = 20,
    queries: Annotated[int, typer.Option("--queries", min=0, help="search queries timed")] = 200,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="skip the raw-spaCy baseline (no ratio)")
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the temporary folder (and database) for inspection")
    ] = False,
    search_only: Annotated[
        bool,
        typer.Option(
            "--search-only",
            help="only search latency: fill a private store with --docs generated documents "
            "through the store API (no workers), then time --queries searches with facets, "
            "on the store and over HTTP (the API's search and the search page)",
        ),
    ] = False,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            help="only where a worker's CPU goes: deliver the corpus's documents in batches "
            "in this process (no Redis, Celery or watcher) with each part timed (parse, "
            "model, rules, store writes, leases and loads, gc), against raw nlp.pipe on the "
            "same texts",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Measure the pipeline end to end on a private stack, against raw spaCy on the same texts.

    Starts its own Redis on a free port, N worker processes and a watcher on a temporary
    inbox, with a temporary store (never your data dir, broker or store), drops the
    corpus into the inbox in one burst, then trickles probe files one at a time. Reports
    documents/s from first drop to last indexed, the same spaCy model over the same texts
    in N processes (ratio = pipeline / baseline), how the workers batched the burst (model
    calls, documents per call, the batch-size distribution), what calls of those sizes
    cost over one continuous nlp.pipe and the ratio that leaves for a pipeline making them
    (ratio_ceiling), drop-to-searchable latency, per-stage times, worker RSS and its growth,
    Redis memory, search latency, and whether every document was indexed exactly once.
    Everything is stopped and removed at the end, Ctrl-C included.
    """
    from workers.tools.bench.config import BenchConfig
    from workers.tools.bench.run import run_bench

    configure_logging("console", "WARNING")
    try:
        span = parse_words(words) if words else parse_words(length)
    except ValueError as exc:
        raise ConfigError(f"--words/--length: {exc}") from None
    if store_url and not store_url.startswith("sqlite"):
        StoreURL.parse(store_url, setting="--store-url")  # one parser, one error text
    if search_only:
        from workers.tools.bench.search import search_bench

        figures = search_bench(
            docs or 10_000, store_url, seed, queries, span, say=lambda msg: err_console.print(msg)
        )
        print_json(figures) if json_out else render(figures)
        return
    if in_process:
        from workers.tools.bench.corpus_files import folder_files, generated_files
        from workers.tools.bench.inprocess import in_process_bench

        items = (
            folder_files(corpus, docs)
            if corpus is not None
            else generated_files(docs or 300, span, seed)
        )
        figures = in_process_bench(
            items, say=lambda msg: err_console.print(f"[dim]bench:[/] {msg}")
        )
        print_json(figures) if json_out else render(figures)
        return
    config = BenchConfig(
        docs=docs if docs is not None or corpus is not None else 300,
        workers=workers,
        corpus=corpus.resolve() if corpus else None,
        words=span,
        seed=seed,
        store_url=store_url,
        trickle=trickle,
        queries=queries,
        baseline=not no_baseline,
        keep=keep,
    )
    result = run_bench(config, say=lambda msg: err_console.print(f"[dim]bench:[/] {msg}"))
    if json_out:
        print_json(result)
    else:
        render(result)
