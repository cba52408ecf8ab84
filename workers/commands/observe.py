"""Observing the pipeline: `docflow trace ID`, `docflow failed`, `docflow flower`."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from tasks.models import FINAL_STATUSES, NEXT_STAGE, Stage, StageRun, Status
from tasks.store import Store
from workers.cli_app import app
from workers.commands import resolve_id, setup, store_for
from workers.output import console, err_console, print_json

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
STAGE_ORDER = {s.value: i for i, s in enumerate(Stage)}


def iso(ts: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC (JSON output)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def local(ts: float | None) -> str:
    """A Unix time as local wall-clock time (tables)."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def ordered_runs(runs: list[StageRun]) -> list[StageRun]:
    """Stage runs in pipeline order (ingest, parse, tag, index), then by start time."""
    return sorted(
        runs, key=lambda r: (STAGE_ORDER.get(r.stage, len(STAGE_ORDER)), r.started or 0.0)
    )


def stage_json(run: StageRun) -> dict[str, Any]:
    return {
        "stage": run.stage,
        "worker": run.worker,
        "started": iso(run.started),
        "duration_ms": None if run.duration_ms is None else round(run.duration_ms, 2),
        "attempts": run.attempts,
        "error": run.error,
        "task_id": run.task_id,
        "batch_id": run.batch_id,
        "batch_size": run.batch_size,
    }


def batch_label(run: StageRun) -> str:
    """`-` for a run alone; else the batch task's short id and its number of documents."""
    if not run.batch_id:
        return "-"
    return f"{run.batch_id[:8]} of {run.batch_size or '?'}"


def trace_data(store: Store, doc_id: str, runs: list[StageRun] | None = None) -> dict[str, Any]:
    """One document's journey as `docflow trace --json` prints it."""
    doc = store.get_document(doc_id)
    runs = ordered_runs(store.stage_runs(doc_id) if runs is None else runs)
    return {
        "id": doc.id,
        "trace_id": doc.trace_id,
        "source": doc.source,
        "status": doc.status.value,
        "stages": [stage_json(r) for r in runs],
    }


@app.command()
def trace(
    ident: Annotated[
        str, typer.Argument(metavar="ID", help="document id (a unique prefix is enough)")
    ],
    json_out: JsonOpt = False,
) -> None:
    """One document's journey: each stage, which worker, start, duration, attempts, the
    batch it ran in (its id and size), errors.

    Its trace_id is on every log line of the document: grep the logs for it.
    """
    store = store_for(setup(logs=False), read_only=True)
    doc_id = resolve_id(store, ident)
    runs = ordered_runs(store.stage_runs(doc_id))
    data = trace_data(store, doc_id, runs)
    if json_out:
        print_json(data)
        return
    console.print(
        f"[bold]{data['id']}[/]  {escape(data['source'])}  status "
        f"[bold]{data['status']}[/]  trace_id {data['trace_id']}"
    )
    table = Table("stage", "worker", "started", "duration", "attempts", "batch", "error")
    table.columns[2].no_wrap = True
    for run in runs:
        duration = "-" if run.duration_ms is None else f"{run.duration_ms:,.1f} ms"
        table.add_row(
            run.stage,
            escape(run.worker or "-"),
            local(run.started),
            duration,
            str(run.attempts),
            batch_label(run),
            escape(run.error or ""),
            style="red" if run.error else None,
        )
    console.print(table)
    status = Status(data["status"])
    if status not in FINAL_STATUSES:
        nxt = NEXT_STAGE.get(status)
        if nxt is not None:
            console.print(f"next: {nxt.value} (waiting in its queue or running)")


def failed_rows(store: Store) -> list[dict[str, Any]]:
    """Failed documents and rejected files, oldest first, as `docflow failed --json` rows."""
    rows: list[tuple[float, dict[str, Any]]] = []
    for doc in store.failed_documents():
        # attempts at the stage that failed (the document's own counter spans all stages)
        attempts = next(
            (r.attempts for r in store.stage_runs(doc.id) if r.stage == doc.stage), doc.attempts
        )
        rows.append(
            (
                doc.updated_at,
                {
                    "source": doc.source,
                    "stage": doc.stage,
                    "error": doc.last_error,
                    "attempts": attempts,
                    "at": iso(doc.updated_at),
                    "id": doc.id,
                    "kind": "document",
                },
            )
        )
    for rej in store.rejected_files():
        rows.append(
            (
                rej.at,
                {
                    "source": rej.source,
                    "stage": rej.stage,
                    "error": rej.error,
                    "attempts": rej.attempts,
                    "at": iso(rej.at),
                    "id": None,
                    "kind": "file",
                },
            )
        )
    return [row for _, row in sorted(rows, key=lambda r: r[0])]


@app.command()
def failed(json_out: JsonOpt = False) -> None:
    """Failed documents and rejected files: source, stage, error, attempts, when."""
    store = store_for(setup(logs=False), read_only=True)
    rows = failed_rows(store)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print("nothing failed")
        return
    table = Table("when", "source", "stage", "attempts", "error", "document")
    table.columns[0].no_wrap = table.columns[5].no_wrap = True
    for row in rows:
        at = datetime.fromisoformat(row["at"]).timestamp() if row["at"] else None
        table.add_row(
            local(at),
            escape(row["source"]),
            row["stage"] or "-",
            str(row["attempts"]),
            escape(row["error"] or ""),
            row["id"] or "(file)",
        )
    console.print(table)
    docs = sum(1 for r in rows if r["kind"] == "document")
    files = len(rows) - docs
    console.print(
        f"{docs} failed document{'s' * (docs != 1)}, {files} rejected file{'s' * (files != 1)}"
    )
    if docs:
        console.print(
            "see one with [bold]docflow trace ID[/]; run it again with [bold]docflow retry ID[/]"
        )


@app.command()
def flower(
    port: Annotated[
        int | None,
        typer.Option("--port", "-p", min=1, max=65535, help="port (default: DOCFLOW_FLOWER_PORT)"),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="interface to listen on (default: 127.0.0.1; 0.0.0.0 with basic auth)"
        ),
    ] = None,
) -> None:
    """Flower, the live view of workers and tasks, with the project's settings.

    Same as `celery -A workers.app flower`, plus: DOCFLOW_FLOWER_BASIC_AUTH=user:pass turns
    on basic auth (passed in the environment, never on the command line); the HTTP API
    stays off without auth unless DOCFLOW_FLOWER_UNAUTHENTICATED_API=true. /metrics feeds
    Prometheus (deploy/monitoring/).
    """
    from workers.flower import flower_address, flower_command, flower_env

    settings = setup()
    where = flower_address(settings, address)
    chosen = port or settings.flower_port
    auth = "basic auth" if settings.flower_basic_auth else "no auth (API closed)"
    err_console.print(f"Flower on http://{where}:{chosen}/ ({auth}); metrics at /metrics")
    child = subprocess.Popen(flower_command(settings, port, address), env=flower_env(settings))

    def forward(signum: int, _: Any) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    try:
        code = child.wait()
    except KeyboardInterrupt:  # the child got the same Ctrl-C; let it finish
        try:
            code = child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        sys.exit(code if code > 0 else 1)
