"""Filesystem events for the watcher: watchdog (inotify, else polling), reduced to essentials."""

from __future__ import annotations

import os
import queue
import sys
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger("docflow.watcher")


@dataclass(frozen=True)
class Event:
    """A filesystem event, reduced to what the watcher acts on."""

    kind: str  #: closed | moved | created | modified | deleted | dir_moved
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


@dataclass
class Observing:
    """A running observer (or none), how changes are noticed, and whether closes are seen."""

    observer: Any = None
    mode: str = "rescan only"
    closes_reported: bool = False

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(5)
            self.observer = None


def start_observer(
    root: str, events: queue.SimpleQueue[Event], polling: bool, rescan_s: float
) -> Observing:
    """inotify (or the platform's native events), else polling, else rescans alone."""
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
    for kind in ["polling"] if polling else ["native", "polling"]:
        try:
            observer = _make_observer(kind, rescan_s)
            observer.schedule(Handler(), root, recursive=True, event_filter=wanted)
            observer.start()
        except (OSError, ImportError) as exc:  # e.g. the inotify watch limit is reached
            log.warning("events_unavailable", mode=kind, error=str(exc))
            continue
        closes = type(observer).__name__ == "InotifyObserver"
        return Observing(observer, "inotify" if closes else kind, closes)
    return Observing()


def _make_observer(kind: str, rescan_s: float) -> Any:
    if kind == "polling":
        from watchdog.observers.polling import PollingObserver

        return PollingObserver(timeout=min(1.0, rescan_s))
    if sys.platform.startswith("linux"):
        from watchdog.observers.inotify import InotifyObserver

        # full events: a file moved in from outside comes as a move (complete), not a create
        return InotifyObserver(generate_full_events=True)
    from watchdog.observers import Observer

    return Observer()
