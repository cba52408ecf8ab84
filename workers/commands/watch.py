"""`docflow watch` (the inbox watcher) and `docflow up` (the whole local stack in one command)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from tasks.errors import BrokerUnavailable, ConfigError
from tasks.masking import mask_url
from workers.cli_app import app
from workers.commands import require_broker, serve_command, setup, store_for
from workers.output import console, err_console
from workers.settings import Settings

#: `up` gives its children this long to stop before killing them (all of it stays < 15 s)
STOP_TIMEOUT_S = 10.0


def _on_stop_signals(request_stop: Callable[[], None]) -> None:
    """SIGTERM and SIGINT (Ctrl-C) ask for a clean stop instead of killing mid-file."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        request_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@app.command()
def watch(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="the folder to watch (default: DOCFLOW_INBOX_DIR, else <data dir>/inbox)",
            file_okay=False,
        ),
    ] = None,
    polling: Annotated[
        bool | None,
        typer.Option(
            "--polling/--no-polling",
            help="poll instead of inotify events (network mounts: NFS, SMB); "
            "default DOCFLOW_WATCH_POLLING",
        ),
    ] = None,
) -> None:
    """Watch a folder and ingest every file dropped into it, once complete.

    A file is taken when closed after writing or renamed into place, else
    once its size and mtime hold still for DOCFLOW_SETTLE_S; the folder is
    also rescanned every DOCFLOW_RESCAN_S. Sub-folders are watched. Dotfiles
    and temporary names (*.part, *.tmp, *.crdownload, ~*, *.swp) wait until
    renamed; links, FIFOs and devices are never read.

    Each file is claimed atomically (two watchers never take the same one),
    recorded in the store, then moved to DOCFLOW_PROCESSED_DIR. A file that
    cannot be ingested goes to DOCFLOW_FAILED_DIR with <name>.error.json
    beside it. Files claimed by a watcher that died are taken again by the
    next watcher on the folder. Nothing is deleted.

    Needs a broker: DOCFLOW_BROKER_URL, or `docflow up` on the same data dir.
    The broker and the store are checked at start: if either does not answer,
    it stops at once with one line saying which. Stops cleanly on Ctrl-C or
    SIGTERM.
    """
    from workers.app import app as celery_app
    from workers.broker import ping
    from workers.watcher import CeleryDispatcher, WatchConfig, Watcher

    settings = setup()
    url = require_broker(settings)
    if not ping(url, timeout=3):
        raise BrokerUnavailable(
            f"no Redis answers at {mask_url(url)}: the watcher needs the broker to start",
            hint="start Redis there or run `docflow up`, or fix DOCFLOW_BROKER_URL; "
            "nothing was taken from the inbox",
        )
    celery_app.conf.broker_url = url
    config = WatchConfig.from_settings(settings, inbox=folder, polling=polling)
    store = store_for(settings)  # opened and migrated now: a store that fails, fails here
    watcher = Watcher(config, store, CeleryDispatcher(store))
    _on_stop_signals(watcher.stop)
    watcher.run()


def watch_command(folder: Path) -> list[str]:
    """The command line of a `docflow watch` child process."""
    return [sys.executable, "-c", "from workers.cli import main; main()", "watch", str(folder)]


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _check_serve(settings: Settings) -> None:
    """The web server's interface and port, checked before anything starts."""
    from workers.web.security import check_bind

    check_bind(settings, settings.serve_host)
    if not _port_free(settings.serve_port, settings.serve_host):
        raise ConfigError(
            f"DOCFLOW_SERVE_PORT: port {settings.serve_port} on {settings.serve_host} is "
            "already in use",
            hint="set DOCFLOW_SERVE_PORT to another port, or pass --no-serve",
        )


def _counts_line(settings: Settings, store: Any) -> str:
    counts = store.counts()
    received = sum(counts.values())
    rejected = len(store.rejected_files())
    working = received - counts.get("indexed", 0) - counts.get("failed", 0)
    return (
        f"received [bold]{received}[/]  indexed [bold green]{counts.get('indexed', 0)}[/]  "
        f"failed [bold red]{counts.get('failed', 0)}[/]  in progress {working}  "
        f"rejected files {rejected}"
    )


# long only by its options: each declaration is an entry of `docflow up --help`
@app.command()
def up(
    inbox: Annotated[
        Path | None,
        typer.Option(
            "--inbox",
            file_okay=False,
            help="folder to watch (default: DOCFLOW_INBOX_DIR, else <data dir>/inbox; created)",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="worker processes (default: DOCFLOW_CONCURRENCY or cores)",
        ),
    ] = None,
    no_flower: Annotated[bool, typer.Option("--no-flower", help="do not start Flower")] = False,
    flower_port: Annotated[
        int | None,
        typer.Option(
            "--flower-port", min=1, max=65535, help="Flower's port (default: DOCFLOW_FLOWER_PORT)"
        ),
    ] = None,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="do not start the web pages and API")
    ] = False,
) -> None:
    """The whole local stack in one command: broker, workers, watcher, Flower, web pages.

    Starts an embedded Redis (unless DOCFLOW_BROKER_URL is set), N worker
    processes, a watcher on the inbox, Flower on 127.0.0.1 and `docflow serve`
    (the web pages and API, on DOCFLOW_SERVE_HOST:DOCFLOW_SERVE_PORT,
    127.0.0.1:8000 by default); restarts any of them that dies, and shows live
    counts on a terminal.

    While it runs, every other docflow command on the same data dir (status,
    search, ingest, run, failed, export, ...) uses this stack with no extra
    settings (`docflow run` only records its files and waits on this stack's
    workers); a second `docflow up` on that data dir is refused. Ctrl-C or
    SIGTERM stops everything cleanly; files being worked on are kept and
    taken again on the next start.
    """
    from rich.markup import escape

    from workers.flower import flower_command
    from workers.stack import LocalStack
    from workers.watcher import WatchConfig

    settings = setup(needs_model=True)
    count = workers or settings.concurrency or os.cpu_count() or 1
    stack = LocalStack(settings, workers=count, kind="up")
    stack.lock()  # one stack per data dir (a `run` or another `up` holds it: refused here)
    folder = WatchConfig.from_settings(settings, inbox=inbox).inbox  # refuses looping layouts
    folder.mkdir(parents=True, exist_ok=True)
    port = flower_port or settings.flower_port
    if not no_flower and not _port_free(port):
        raise ConfigError(
            f"--flower-port: port {port} on 127.0.0.1 is already in use",
            hint="pick another with --flower-port, or pass --no-flower",
        )
    if not no_serve:
        _check_serve(settings)
    store = store_for(settings)

    stop = threading.Event()
    _on_stop_signals(stop.set)
    try:
        stack.start()
        env = stack.child_env()
        stack.add_child("watcher", watch_command(folder), env)
        if not no_flower:
            stack.add_child("flower", flower_command(settings, port), env)
        if not no_serve:
            stack.add_child("web", serve_command(), env)
        lines = [
            f"[bold]docflow is up[/] on {escape(str(settings.data_path))}",
            f"  drop files into  [bold]{escape(str(folder))}[/]",
            f"  broker           {mask_url(stack.broker_url)}",
            f"  workers          {count} process{'es' if count != 1 else ''}",
        ]
        if not no_flower:
            lines.append(f"  Flower           http://127.0.0.1:{port}/")
        if not no_serve:
            web = f"http://{settings.serve_host}:{settings.serve_port}/"
            lines.append(f"  web pages, API   {escape(web)}")
        lines += [
            f"  logs             {escape(str(settings.data_path / 'logs'))}",
            "  stop with Ctrl-C",
        ]
        for line in lines:
            console.print(line, soft_wrap=True)
        _supervise(stack, settings, store, stop)
    finally:
        started = time.monotonic()
        stack.stop(timeout=STOP_TIMEOUT_S)
        console.print(f"stopped in {time.monotonic() - started:.1f} s", soft_wrap=True)


def _supervise(stack: Any, settings: Settings, store: Any, stop: threading.Event) -> None:
    """Restart dead children and keep the live line fresh until asked to stop."""
    if not err_console.is_terminal:
        while not stop.wait(0.5):
            stack.supervise()
        return
    from rich.live import Live

    with Live(
        _counts_line(settings, store), console=err_console, refresh_per_second=4, transient=True
    ) as live:
        while not stop.wait(0.5):
            stack.supervise()
            try:
                live.update(_counts_line(settings, store))
            except Exception as exc:  # a busy store must not take the stack down
                live.update(f"counts unavailable: {exc}")
