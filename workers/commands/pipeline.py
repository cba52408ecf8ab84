"""`docflow run`, `docflow ingest`, `docflow worker`: putting documents through the pipeline."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import structlog
import typer

from tasks.errors import BrokerUnavailable, ConfigError, RetryableError, StoreUnavailable
from tasks.masking import mask_url
from tasks.models import FINAL_STATUSES, Status
from tasks.store import Store
from workers.cli_app import app
from workers.commands import point_app_at, require_broker, setup, store_for
from workers.intake import ingest_paths
from workers.output import console, err_console, print_json
from workers.settings import Settings

log = structlog.get_logger("docflow.cli")

PathsArg = Annotated[
    list[Path], typer.Argument(help="files or folders (searched recursively)", exists=True)
]


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


# long only by its options: each declaration is an entry of `docflow run --help`
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

    If `docflow up` runs on the same data dir, it uses that stack (its broker and
    workers): it only records the files, sends their ids, and waits. Otherwise, without
    DOCFLOW_BROKER_URL it starts an embedded Redis and its own workers, and stops them on
    exit. Exits 1 if any document failed or any file was rejected.
    """
    from workers.stack import LocalStack, live_stack

    settings = setup(needs_model=not no_workers)
    store = store_for(settings)
    if no_workers and settings.broker_url is None:
        raise ConfigError(
            "--no-workers needs DOCFLOW_BROKER_URL: the workers elsewhere must "
            "share a broker with this command"
        )
    started = time.monotonic()
    running = live_stack(settings)
    if running is not None:
        # `docflow up` owns this data dir: use its broker and workers, keep to our files
        point_app_at(stack_broker(settings, running))
        if not json_out:
            err_console.print(
                f"using the running `docflow up` (pid {running.get('pid')}): "
                "its broker and workers",
                soft_wrap=True,
            )
        intake = ingest_paths(store, settings, paths)
        counts = wait_for(store, intake.doc_ids, None, quiet=json_out)
    else:
        stack = LocalStack(
            settings,
            workers=workers or settings.concurrency or os.cpu_count() or 1,
            start_workers=not no_workers,
            kind="run",
        )
        with stack:
            point_app_at(stack.broker_url)
            intake = ingest_paths(store, settings, paths)
            counts = wait_for(
                store, intake.doc_ids, stack if not no_workers else None, quiet=json_out
            )
    doc_ids, rejected = intake.doc_ids, intake.rejected
    summary = {
        "documents": len(doc_ids),
        "indexed": counts[Status.indexed.value],
        "failed": counts[Status.failed.value],
        "rejected_files": rejected,
        "entities": sum(len(store.get_document(d).mentions) for d in doc_ids),
        "seconds": round(time.monotonic() - started, 2),
    }
    _report_run(summary, json_out)
    if summary["failed"] or rejected:
        raise typer.Exit(1)


def _report_run(summary: dict[str, int | float], json_out: bool) -> None:
    """The run's summary as JSON, or as a line (and where to look when something failed)."""
    if json_out:
        print_json(summary)
        return
    console.print(
        f"[bold]{summary['documents']}[/] documents: {summary['indexed']} indexed, "
        f"{summary['failed']} failed, {summary['rejected_files']} files rejected; "
        f"{summary['entities']} entity mentions; {summary['seconds']:.1f} s"
    )
    if summary["failed"] or summary["rejected_files"]:
        console.print("see [bold]docflow failed[/] for what went wrong and what to do")


def stack_broker(settings: Settings, running: dict[str, object]) -> str:
    """The broker of the stack running on this data dir; refused if it is a `docflow run`
    (its workers stop when it ends) or if it writes to another store than this command."""
    from workers.stack import stack_busy_error

    if running.get("kind") != "up" or not isinstance(running.get("broker_url"), str):
        raise stack_busy_error(settings)
    theirs = running.get("store")
    if isinstance(theirs, str) and theirs != settings.store:
        raise ConfigError(
            f"the running `docflow up` (pid {running.get('pid')}) uses the store "
            f"{mask_url(theirs)}, this command {mask_url(settings.store)}",
            hint="use the same DOCFLOW_STORE_URL as the stack, or another DOCFLOW_DATA_DIR",
        )
    return str(running["broker_url"])


# long only by its options: each declaration is an entry of `docflow ingest --help`
@app.command()
def ingest(
    paths: PathsArg,
    json_out: Annotated[
        bool, typer.Option("--json", help="print each file's recorded documents as JSON")
    ] = False,
) -> None:
    """Record files in the store and send their ids to the workers; do not wait.

    Needs the store the workers use (DOCFLOW_STORE_URL, shared with them; by default the
    SQLite file under DOCFLOW_DATA_DIR) and their broker (DOCFLOW_BROKER_URL, or a
    `docflow up` on the same data dir). Each file is recorded in the store first, then
    only document ids are published: a broker restart loses nothing, the workers'
    recovery sweep re-sends whatever was not taken. Rejected files are recorded with
    their reason (`docflow failed`) and counted on stderr.
    """
    from workers.broker import ping
    from workers.stack import live_stack

    settings = setup()
    url = settings.broker_url
    if url is None:
        running = live_stack(settings)
        url = require_broker(settings) if running is None else stack_broker(settings, running)
    if not ping(url, timeout=3):
        raise BrokerUnavailable(
            f"no Redis answers at {mask_url(url)}",
            hint="start the broker or fix DOCFLOW_BROKER_URL",
        )
    point_app_at(url)
    try:
        store = store_for(settings)
    except RetryableError as exc:
        raise StoreUnavailable(
            f"docflow ingest records each file in the store before sending it, and the "
            f"store does not answer: {exc.describe()}",
            hint="start it, or set DOCFLOW_STORE_URL to the store the workers use",
        ) from exc
    intake = ingest_paths(store, settings, paths)
    if json_out:
        print_json(intake.files)
    else:
        console.print(
            f"recorded {len(intake.new_ids)} new documents "
            f"({len(intake.doc_ids) - len(intake.new_ids)} already known) from "
            f"{len(intake.files)} files in {mask_url(settings.store)}; "
            f"sent {len(intake.new_ids) - len(intake.unsent)} on {mask_url(url)}",
            soft_wrap=True,
        )
    if intake.unsent:
        err_console.print(
            f"docflow: warning: {len(intake.unsent)} documents are recorded but not sent "
            f"({intake.publish_error}); the workers' recovery sweep sends them once the "
            "broker answers",
            soft_wrap=True,
            markup=False,
        )
    if intake.rejected:
        err_console.print(
            f"{intake.rejected} files rejected (wholly or in part): see `docflow failed`",
            soft_wrap=True,
        )


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="comma-separated: ingest,parse,tag,index")
    ] = "ingest,parse,tag,index",
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", min=1, help="processes (default: cores)")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="node name prefix, made unique with the pid (NAME-PID@host); "
            "a full name with @ is used as given; default docflow-QUEUES-PID@host",
        ),
    ] = None,
    loglevel: Annotated[str | None, typer.Option("--loglevel", "-l")] = None,
) -> None:
    """A Celery worker with the project's settings (same as `celery -A workers.app worker`).

    Each worker process gets a node name of its own (so several may run on one machine);
    a worker whose node name is already alive under another process refuses to start.
    """
    from workers.app import QUEUES
    from workers.app import app as celery_app
    from workers.nodes import node_template

    settings = setup(needs_model="tag" in queues.replace(" ", "").split(","))
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
        node_template(chosen, QUEUES, name),
        "-E",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        loglevel or settings.log_level,
    ]
    if concurrency or settings.concurrency:
        argv += ["--concurrency", str(concurrency or settings.concurrency)]
    celery_app.worker_main(argv)
