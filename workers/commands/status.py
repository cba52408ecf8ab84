"""`docflow status`: where are my documents? Counts, queues, workers, throughput, ETA."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tasks.errors import DocflowError
from tasks.masking import mask_url
from tasks.models import Stage, Status
from tasks.store import Store
from workers.cli_app import app
from workers.commands import setup, store_for
from workers.output import console, print_json
from workers.settings import Settings

#: one queue per stage, in pipeline order
QUEUES: tuple[str, ...] = tuple(s.value for s in Stage)
#: statuses that still have work ahead of them
BACKLOG: tuple[Status, ...] = (Status.received, Status.parsed, Status.tagged)
WINDOW_S = 60.0


def broker_view(settings: Settings, timeout: float = 1.0) -> dict[str, Any]:
    """Queue depths and workers online, or why they cannot be had (never raises for a
    broker that is down or goes away half-way through)."""
    from workers.broker import ping, queue_depths

    url = settings.resolved_broker_url()
    if url is None:
        return {
            "broker": "not configured (no DOCFLOW_BROKER_URL and no `docflow up` running)",
            "broker_up": False,
            "queues": {},
            "workers": [],
        }
    down = {
        "broker": f"down: nothing answers at {mask_url(url)}",
        "broker_up": False,
        "queues": {},
        "workers": [],
    }
    if not ping(url):
        return down
    try:
        return {
            "broker": f"up at {mask_url(url)}",
            "broker_up": True,
            "queues": queue_depths(url, QUEUES),
            "workers": workers_online(url, timeout),
        }
    except Exception:  # the broker went away between the ping and the questions
        return down


def workers_online(url: str, timeout: float = 1.0) -> list[str]:
    """Node names of the workers that answer a ping on this broker."""
    from celery import Celery

    probe = Celery("docflow-status", broker=url, set_as_current=False)
    probe.conf.broker_connection_retry_on_startup = False
    probe.conf.broker_transport_options = {"socket_timeout": 5, "socket_connect_timeout": 2}
    try:
        replies = probe.control.ping(timeout=timeout) or []
    finally:
        probe.close()
    return sorted(name for reply in replies for name in reply)


def throughput(store: Store, counts: dict[str, int], now: float | None = None) -> dict[str, Any]:
    """Documents indexed in the last minute, and the time the backlog needs at that pace."""
    now = time.time() if now is None else now
    per_min = store.indexed_since(now - WINDOW_S) * 60.0 / WINDOW_S
    backlog = sum(counts.get(s.value, 0) for s in BACKLOG)
    eta: float | None
    if backlog == 0:
        eta = 0.0
    elif per_min > 0:
        eta = round(backlog / per_min * 60.0, 1)
    else:
        eta = None  # nothing finished lately: no basis for a guess
    return {"throughput_per_min": round(per_min, 2), "backlog": backlog, "eta_s": eta}


def collect_status(settings: Settings, store: Store | None = None) -> dict[str, Any]:
    """Everything `docflow status` shows, as one JSON-ready dict."""
    store = store or store_for(settings, read_only=True)
    counts = store.counts()
    data: dict[str, Any] = {"documents": counts, "rejected_files": len(store.rejected_files())}
    data.update(throughput(store, counts))
    data.update(broker_view(settings))
    from workers.watcher_health import read_health

    data["watchers"] = read_health(settings.run_dir)
    return data


class StatusWatch:
    """`status --watch`: one refresh after another, whatever the broker and store do.

    A broker that goes away is one line, "unreachable at <url> since HH:MM:SS, retrying
    every N s", until it answers again; a store that fails a read keeps the last counts
    with one line saying why. Nothing here raises for either.
    """

    def __init__(self, settings: Settings, store: Store, interval: float) -> None:
        self.settings = settings
        self.store = store
        self.interval = interval
        self.broker_down_since: float | None = None
        self.last: dict[str, Any] | None = None

    def collect(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        try:
            data = collect_status(self.settings, self.store)
            data["store"] = "ok"
        except (DocflowError, sqlite3.Error) as exc:
            why = exc.describe() if isinstance(exc, DocflowError) else str(exc)
            data = dict(self.last or _EMPTY)
            data.update(broker_view(self.settings))
            data["store"] = f"unavailable: {why} (showing the last counts, retrying)"
        self.last = data
        if data["broker_up"] or "not configured" in data["broker"]:
            self.broker_down_since = None
            return data
        if self.broker_down_since is None:
            self.broker_down_since = now
        url = mask_url(self.settings.resolved_broker_url())
        since = time.strftime("%H:%M:%S", time.localtime(self.broker_down_since))
        data["broker"] = (
            f"unreachable at {url} since {since} "
            f"({fmt_duration(now - self.broker_down_since)}), retrying every {self.interval:g} s"
        )
        data["broker_down_since"] = self.broker_down_since
        return data


#: what a watch shows when the store has never answered
_EMPTY: dict[str, Any] = {
    "documents": {},
    "rejected_files": 0,
    "throughput_per_min": 0.0,
    "backlog": 0,
    "eta_s": None,
}


def fmt_duration(seconds: float | None) -> str:
    """3 s, 4 min 10 s, 2 h 05 min; 'unknown' for None."""
    if seconds is None:
        return "unknown (nothing indexed in the last minute)"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def render(data: dict[str, Any], footer: str | None = None) -> RenderableType:
    """The status as rich renderables: a documents table, then queues, workers and pace."""
    docs = Table("status", "documents", title="documents", title_justify="left")
    for name, count in data["documents"].items():
        style = "red" if name == Status.failed.value and count else None
        docs.add_row(name, str(count), style=style)
    docs.add_row(
        "rejected files",
        str(data["rejected_files"]),
        style="red" if data["rejected_files"] else None,
    )
    lines: list[RenderableType] = [docs]
    up = data.get("broker_up", False)
    lines.append(Text(f"broker: {data['broker']}", style="" if up else "bold red"))
    if data["queues"]:
        queues = Table("queue", "waiting", title="queues", title_justify="left")
        for queue, depth in data["queues"].items():
            queues.add_row(queue, str(depth))
        lines.append(queues)
    if up:
        names = " ".join(data["workers"]) or "(none: start one with `docflow worker`)"
        lines.append(Text(f"workers online: {len(data['workers'])}  {names}"))
    from workers.watcher_health import health_line

    for watcher in data.get("watchers", []):
        waiting = watcher.get("state") == "waiting"
        lines.append(Text(health_line(watcher), style="bold red" if waiting else ""))
    lines.append(Text(f"throughput: {data['throughput_per_min']:g} documents/min (last minute)"))
    if data["backlog"]:
        lines.append(
            Text(
                f"backlog: {data['backlog']} document{'s' * (data['backlog'] != 1)}, ETA "
                f"{fmt_duration(data['eta_s'])}"
            )
        )
    else:
        lines.append(Text("backlog: none"))
    store_line = data.get("store", "ok")
    if store_line != "ok":
        lines.append(Text(f"store: {store_line}", style="bold red"))
    if footer:
        lines.append(Text(footer, style="dim"))
    return Group(*lines)


@app.command()
def status(
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="refresh in place until Ctrl-C")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, help="seconds between refreshes with --watch")
    ] = 2.0,
) -> None:
    """Documents per status, queue depth per stage, workers online, throughput and ETA.

    With no broker reachable it still shows the store's counts and says the broker is down.
    `--watch` keeps refreshing through a broker or store outage (one line says since
    when, retrying) and picks up again by itself. `--watch --json` prints one JSON
    object per line at every refresh. Like every read-only command, it needs an
    existing store: it never creates one.
    """
    settings = setup(logs=False)
    store = store_for(settings, read_only=True)
    if not watch:
        data = collect_status(settings, store)
        if json_out:
            print_json(data)
        else:
            console.print(render(data))
        return
    refresher = StatusWatch(settings, store, interval)
    try:
        if json_out:
            while True:
                sys.stdout.write(json.dumps(refresher.collect(), default=str) + "\n")
                sys.stdout.flush()
                time.sleep(interval)
        from rich.live import Live

        def frame() -> RenderableType:
            footer = f"updated {time.strftime('%H:%M:%S')}, every {interval:g} s; Ctrl-C to stop"
            return render(refresher.collect(), footer)

        with Live(frame(), console=console, auto_refresh=False, transient=False) as live:
            while True:
                time.sleep(interval)
                live.update(frame(), refresh=True)
    except KeyboardInterrupt:
        return
