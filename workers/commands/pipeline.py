"""`docflow run`, `docflow ingest`, `docflow worker`: putting documents through the pipeline."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Annotated

import structlog
import typer

from tasks.errors import BrokerUnavailable, ConfigError, PermanentError
from tasks.ingest import display_name, ingest_file
from tasks.models import FINAL_STATUSES, Status
from tasks.store import Store
from workers.cli import app
from workers.commands import setup, store_for
from workers.files import iter_files, read_file
from workers.output import console, err_console, print_json
from workers.settings import Settings, mask_url

log = structlog.get_logger("docflow.cli")

PathsArg = Annotated[
    list[Path], typer.Argument(help="files or folders (searched recursively)", exists=True)
]


def ingest_paths(store: Store, settings: Settings, paths: list[Path]) -> tuple[list[str], int]:
    """Record every file in the store and start chains; (document ids, rejected files)."""
    from workers.pipeline import start_chains

    doc_ids: list[str] = []
    rejected = 0
    host = socket.gethostname()
    for path in iter_files(paths):
        try:
            result = ingest_file(
                store,
                path.name,
                read_file(path, settings.max_file_bytes),
                max_bytes=settings.max_file_bytes,
                worker=host,
            )
        except PermanentError as exc:
            store.record_rejected(display_name(path.name), exc.describe())
            log.warning("file_rejected", source=display_name(path.name), error=exc.describe())
            rejected += 1
            continue
        start_chains(result)
        rejected += bool(result.errors)
        doc_ids.extend(result.new_ids + result.duplicate_ids)
    return doc_ids, rejected


def wait_for(store: Store, doc_ids: list[str], stack: object | None, quiet: bool) -> dict[str, int]:
    """Block until every document is indexed or failed; a live bar on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    total = len(doc_ids)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
    )
    with progress:
        bar = progress.add_task("processing", total=total, detail="")
        while True:
            counts = store.status_counts(doc_ids)
            done = sum(counts[s.value] for s in FINAL_STATUSES)
            detail = " ".join(f"{k} {v}" for k, v in counts.items() if v)
            progress.update(bar, completed=done, detail=detail)
            if done >= total:
                return counts
            if stack is not None:
                stack.supervise()  # type: ignore[attr-defined]
            time.sleep(0.2)


@app.command()
def run(
    paths: PathsArg,
    workers: Annotated[
        int | None, typer.Option("--workers", "-w", min=1, help="worker processes (default: cores)")
    ] = None,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="only enqueue; workers run elsewhere")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """The main job: ingest files and folders, process them, wait, and summarise.

    Without DOCFLOW_BROKER_URL it starts an embedded Redis and its own workers, and stops
    them on exit. Exits 1 if any document failed or any file was rejected.
    """
    from workers.stack import LocalStack

    settings = setup()
    store = store_for(settings)
    if no_workers and settings.broker_url is None:
        raise ConfigError(
            "--no-workers needs DOCFLOW_BROKER_URL: the workers elsewhere must "
            "share a broker with this command"
        )
    started = time.monotonic()
    stack = LocalStack(
        settings,
        workers=workers or settings.concurrency or os.cpu_count() or 1,
        start_workers=not no_workers,
    )
    with stack:
        point_app_at(stack.broker_url)
        doc_ids, rejected = ingest_paths(store, settings, paths)
        counts = wait_for(store, doc_ids, stack if not no_workers else None, quiet=json_out)
    elapsed = time.monotonic() - started
    mentions = sum(len(store.get_document(d).mentions) for d in doc_ids)
    summary = {
        "documents": len(doc_ids),
        "indexed": counts[Status.indexed.value],
        "failed": counts[Status.failed.value],
        "rejected_files": rejected,
        "entities": mentions,
        "seconds": round(elapsed, 2),
    }
    if json_out:
        print_json(summary)
    else:
        console.print(
            f"[bold]{summary['documents']}[/] documents: {summary['indexed']} indexed, "
            f"{summary['failed']} failed, {rejected} files rejected; {mentions} entity mentions; "
            f"{elapsed:.1f} s"
        )
        if summary["failed"] or rejected:
            console.print("see [bold]docflow failed[/] for what went wrong and what to do")
    if summary["failed"] or rejected:
        raise typer.Exit(1)


def point_app_at(url: str) -> None:
    from workers.app import app as celery_app

    celery_app.conf.broker_url = url


def require_broker(settings: Settings) -> str:
    url = settings.resolved_broker_url()
    if url is None:
        raise ConfigError(
            "no broker: DOCFLOW_BROKER_URL is not set and no `docflow up` runs on this data dir",
            hint="set DOCFLOW_BROKER_URL=redis://host:6379/0 or start `docflow up`",
        )
    return url


@app.command()
def ingest(
    paths: PathsArg,
    json_out: Annotated[bool, typer.Option("--json", help="print what was sent as JSON")] = False,
) -> None:
    """Enqueue files for workers elsewhere (the configured broker); do not wait."""
    from workers.broker import ping
    from workers.pipeline import send_ingest

    settings = setup()
    url = require_broker(settings)
    if not ping(url, timeout=3):
        raise BrokerUnavailable(
            f"no Redis answers at {mask_url(url)}",
            hint="start the broker or fix DOCFLOW_BROKER_URL",
        )
    point_app_at(url)
    sent = []
    for path in iter_files(paths):
        data = read_file(path, settings.max_file_bytes)
        result = send_ingest(path.name, data)
        sent.append({"source": path.name, "task_id": result.id})
    if json_out:
        print_json(sent)
    else:
        console.print(f"enqueued {len(sent)} files on {mask_url(url)}")


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="comma-separated: ingest,parse,tag,index")
    ] = "ingest,parse,tag,index",
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", min=1, help="processes (default: cores)")
    ] = None,
    name: Annotated[str, typer.Option("--name", "-n", help="node name prefix")] = "docflow",
    loglevel: Annotated[str | None, typer.Option("--loglevel", "-l")] = None,
) -> None:
    """A Celery worker with the project's settings (same as `celery -A workers.app worker`)."""
    from workers.app import QUEUES
    from workers.app import app as celery_app

    settings = setup()
    url = require_broker(settings)
    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown:
        raise ConfigError(
            f"--queues: unknown queue(s) {', '.join(unknown)}",
            hint=f"choose from {','.join(QUEUES)}",
        )
    celery_app.conf.broker_url = url
    argv = [
        "worker",
        "-Q",
        ",".join(chosen),
        "-n",
        f"{name}@%h",
        "-E",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        loglevel or settings.log_level,
    ]
    if concurrency or settings.concurrency:
        argv += ["--concurrency", str(concurrency or settings.concurrency)]
    celery_app.worker_main(argv)
