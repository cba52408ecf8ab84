"""Filesystem events for the watcher, reduced to essentials: on Linux, inotify read in the
watcher's own loop (`workers.watch_inotify`); elsewhere watchdog's native observer; else
watchdog's polling; else none (the periodic rescan alone)."""

from __future__ import annotations

import os
import queue
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

log = structlog.get_logger("docflow.watcher")


@dataclass(frozen=True)
class Event:
    """A filesystem event, reduced to what the watcher acts on."""

    kind: str  #: closed | moved | created | modified | deleted | dir_moved | overflow
    src: str = ""
    dest: str = ""


def from_watchdog(event: Any) -> Event | None:
    src = os.fsdecode(event.src_path or "")
    dest = os.fsdecode(getattr(event, "dest_path", "") or "")
    kind = event.event_type
    if event.is_directory:
        return Event("dir_moved", src, dest) if kind == "moved" else None
    if kind in ("closed", "moved", "created", "modified", "deleted"):
        return Event(kind, src, dest)
    return None


class ChangeReader(Protocol):
    """A source read in the watcher's loop (`workers.watch_inotify.InotifyTree`)."""

    def read(self, timeout_s: float) -> list[tuple[str, str, str]]: ...

    def close(self) -> None: ...


@dataclass
class Observing:
    """How changes are noticed (a reader in the loop, a watchdog observer feeding `queue`,
    or nothing), and whether closes are seen."""

    observer: Any = None
    reader: ChangeReader | None = None
    mode: str = "rescan only"
    closes_reported: bool = False
    queue: queue.SimpleQueue[Event] = field(default_factory=queue.SimpleQueue)

    def wait(self, timeout_s: float) -> list[Event]:
        """The events noticed so far, waiting up to `timeout_s` for one if there are none."""
        if self.reader is not None:
            return [Event(*change) for change in self.reader.read(timeout_s)]
        events: list[Event] = []
        try:
            events.append(
                self.queue.get(timeout=timeout_s) if timeout_s > 0 else self.queue.get_nowait()
            )
            while True:
                events.append(self.queue.get_nowait())
        except queue.Empty:
            return events

    def stop(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(5)
            self.observer = None


def start_observer(
    root: str,
    polling: bool,
    rescan_s: float,
    excluded: Callable[[], frozenset[tuple[int, int]]] = frozenset,
) -> Observing:
    """inotify on Linux (or the platform's native events), else polling, else rescans alone.

    `excluded`: the folders (st_dev, st_ino) never to watch, asked again for each new one.
    """
    for kind in ["polling"] if polling else ["native", "polling"]:
        try:
            if kind == "native" and sys.platform.startswith("linux"):
                from workers.watch_inotify import InotifyTree

                return Observing(
                    reader=InotifyTree(root, excluded), mode="inotify", closes_reported=True
                )
            observing = Observing(mode=kind)
            observing.observer = _watchdog_observer(kind, root, observing.queue, rescan_s)
        except (OSError, ImportError) as exc:  # e.g. the inotify watch limit is reached
            log.warning("events_unavailable", mode=kind, error=str(exc))
            continue
        return observing
    return Observing()


def _watchdog_observer(
    kind: str, root: str, events: queue.SimpleQueue[Event], rescan_s: float
) -> Any:
    """A started watchdog observer putting the reduced events of `root` on `events`."""
    from watchdog.events import (
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
        FileSystemEventHandler,
    )

    class Handler(FileSystemEventHandler):
        def dispatch(self, event: Any) -> None:
            reduced = from_watchdog(event)
            if reduced is not None:
                events.put(reduced)

    wanted = [
        FileClosedEvent,
        FileCreatedEvent,
        FileModifiedEvent,
        FileMovedEvent,
        FileDeletedEvent,
        DirMovedEvent,
    ]
    observer = _make_observer(kind, rescan_s)
    observer.schedule(Handler(), root, recursive=True, event_filter=wanted)
    observer.start()
    return observer


def _make_observer(kind: str, rescan_s: float) -> Any:
    if kind == "polling":
        from watchdog.observers.polling import PollingObserver

        return PollingObserver(timeout=min(1.0, rescan_s))
    from watchdog.observers import Observer

    return Observer()
