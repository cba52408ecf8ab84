"""`docflow status`: documents per status, queue depths, workers online."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from workers.cli import app
from workers.commands import setup, store_for
from workers.output import console, print_json
from workers.settings import Settings, mask_url


def broker_view(settings: Settings) -> dict[str, Any]:
    """Queue depths and workers online, or why they cannot be had."""
    from workers.app import QUEUES
    from workers.broker import ping, queue_depths

    url = settings.resolved_broker_url()
    if url is None:
        return {"broker": "not configured (no DOCFLOW_BROKER_URL and no `docflow up` running)",
                "queues": {}, "workers": []}
    if not ping(url):
        return {"broker": f"down: nothing answers at {mask_url(url)}", "queues": {}, "workers": []}
    from workers.app import app as celery_app

    celery_app.conf.broker_url = url
    replies = celery_app.control.ping(timeout=1.0) or []
    workers = sorted(name for reply in replies for name in reply)
    return {"broker": f"up at {mask_url(url)}", "queues": queue_depths(url, QUEUES),
            "workers": workers}


def collect_status(settings: Settings) -> dict[str, Any]:
    store = store_for(settings)
    data: dict[str, Any] = {"documents": store.counts(),
                            "rejected_files": len(store.rejected_files())}
    data.update(broker_view(settings))
    return data


@app.command()
def status(json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Documents per status, queue depth per stage, workers online."""
    settings = setup(logs=False)
    data = collect_status(settings)
    if json_out:
        print_json(data)
        return
    table = Table("status", "documents")
    for name, count in data["documents"].items():
        table.add_row(name, str(count))
    table.add_row("rejected files", str(data["rejected_files"]))
    console.print(table)
    console.print(f"broker: {data['broker']}")
    if data["queues"]:
        console.print("queues: " + "  ".join(f"{q} {n}" for q, n in data["queues"].items()))
    console.print(f"workers online: {len(data['workers'])} " + " ".join(data["workers"]))
