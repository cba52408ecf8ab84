"""The inbox watcher: takes each dropped file once it is complete, exactly once, safely.

How a file travels:

1. **seen**: an inotify/polling event, or the periodic full rescan (events get dropped
   under load and network mounts send none). A close-after-write or a rename into place
   means complete: taken at once. Anything else waits until its size and mtime settle
   (`tasks.stability`).
2. **claimed**: renamed into `<inbox>/.claimed/<watcher id>/<relative path>`. A rename is
   atomic, so when two watchers race for a file exactly one wins; the other gets
   FileNotFoundError and moves on. Each watcher holds an exclusive `flock` on
   `.claimed/<id>/.lock` for as long as it lives; the kernel drops it when the process
   dies (even on SIGKILL), so any watcher that can take that lock knows the owner is dead
   and adopts its claims (content-hash de-duplication makes taking one twice harmless).
3. **ingested**: read (no links, FIFOs or devices; size checked first) and recorded with
   `ingest_file`; then one chain per new document is enqueued.
4. **placed**: only then is the file moved to the processed folder, under its relative
   path, made unique on a clash, never overwriting anything. A file that cannot be
   ingested goes to the failed folder with `<name>.error.json` beside it, and the
   rejection is recorded in the store. Nothing is deleted.

A stop (SIGTERM, Ctrl-C) finishes the file in hand first. Files still claimed then (their
store or broker was down) stay in the box and are adopted by the next watcher.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import queue
import re
import secrets
import shutil
import socket
import stat
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog

from tasks.errors import ConfigError, DocflowError, PermanentError, RetryableError
from tasks.ingest import display_name, ingest_file
from tasks.models import IngestResult, Status
from tasks.stability import StabilityTracker, Verdict
from tasks.store import Store
from workers.files import is_ignored_name, read_file
from workers.settings import Settings

log = structlog.get_logger("docflow.watcher")

CLAIMED_DIR = ".claimed"
LOCK_NAME = ".lock"
ERROR_SUFFIX = ".error.json"
#: unexpected errors (bugs) on one file get this many tries before it is quarantined
MAX_UNEXPECTED_ATTEMPTS = 3
#: retry delays for a file whose store or broker was unavailable
RETRY_MAX_S = 30.0
#: a claim folder without a lock file is only adopted once it is this old
UNLOCKED_GRACE_S = 60.0


# ---- configuration and collaborators -------------------------------------------------


@dataclass(frozen=True)
class WatchConfig:
    """What a watcher needs to know; see `from_settings`."""

    inbox: Path
    processed: Path
    failed: Path
    max_bytes: int
    settle_s: float = 0.3
    rescan_s: float = 5.0
    polling: bool = False
    stall_s: float | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, inbox: Path | None = None, polling: bool | None = None
    ) -> WatchConfig:
        folder = (inbox or settings.inbox).expanduser().resolve()
        config = cls(
            inbox=folder,
            processed=settings.processed,
            failed=settings.failed,
            max_bytes=settings.max_file_bytes,
            settle_s=settings.settle_s,
            rescan_s=settings.rescan_s,
            polling=settings.watch_polling if polling is None else polling,
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse layouts that would loop (the inbox inside its own output folders)."""
        for name, out in (("processed", self.processed), ("failed", self.failed)):
            if self.inbox == out or out in self.inbox.parents:
                raise ConfigError(
                    f"the inbox {self.inbox} is inside the {name} folder {out}",
                    hint=f"point DOCFLOW_{name.upper()}_DIR somewhere outside the inbox",
                )


class Dispatcher(Protocol):
    """How ingested documents get into the pipeline."""

    def start(self, result: IngestResult) -> None:
        """One chain per new document of an ingested file."""

    def resume(self, doc_ids: list[str]) -> None:
        """Documents of a recovered claim: start those that may never have been started."""


class CeleryDispatcher:
    """The real pipeline: Celery chains through the configured broker."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self, result: IngestResult) -> None:
        from workers.pipeline import start_chains

        start_chains(result)

    def resume(self, doc_ids: list[str]) -> None:
        from workers.pipeline import enqueue_chain

        for doc_id in doc_ids:
            doc = self.store.get_document(doc_id)
            # a recovered file may have died between being recorded and its chain being sent;
            # a second chain for a document already on its way is skipped by each stage
            if doc.status is Status.received:
                enqueue_chain(doc_id, doc.trace_id)


# ---- small pure-ish helpers ------------------------------------------------------------


def new_watcher_id() -> str:
    """`<host>-<pid>-<random>`: readable, and unique even when pids repeat (containers)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()).lstrip(".") or "host"
    return f"{host[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


def relative_key(root: str, path: str) -> str | None:
    """The inbox-relative path ('a/b.txt') of a file the watcher may take, else None.

    None for anything outside the inbox, inside a dot-folder (such as `.claimed`), or
    named like a dotfile or temporary file (`*.part`, `*.tmp`, `~*`, ...).
    """
    if not path:
        return None
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if rel in (".", "") or parts[0] == ".." or os.path.isabs(rel):
        return None
    if any(part.startswith(".") for part in parts[:-1]) or is_ignored_name(parts[-1]):
        return None
    return "/".join(parts)


def place(src: Path, dest_root: Path, rel: str) -> Path:
    """Move a file to `dest_root/rel`, never overwriting: `name-1.ext` etc. on a clash.

    Same filesystem: hard link + unlink (atomic no-clobber). Otherwise the bytes are
    copied and fsynced under a temporary name first, then linked into place.
    """
    target = dest_root.joinpath(*rel.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        final = _link_unique(src, target)
    except OSError as exc:
        if exc.errno not in (
            errno.EXDEV,
            errno.EPERM,
            errno.ENOTSUP,
            errno.EMLINK,
            errno.EOPNOTSUPP,
        ):
            raise
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        with src.open("rb") as fin, tmp.open("wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
        shutil.copystat(src, tmp)
        try:
            final = _link_unique(tmp, target)
        except OSError:
            final = _rename_unique(tmp, target)
        else:
            tmp.unlink()
    src.unlink(missing_ok=True)
    return final


def _candidates(target: Path) -> Iterator[Path]:
    yield target
    stem, suffix = target.stem, target.suffix
    n = 1
    while True:
        yield target.with_name(f"{stem}-{n}{suffix}")
        n += 1


def _link_unique(src: Path, target: Path) -> Path:
    info = src.stat()
    for candidate in _candidates(target):
        try:
            os.link(src, candidate, follow_symlinks=False)
            return candidate
        except FileExistsError:
            try:
                other = candidate.lstat()
            except FileNotFoundError:
                continue
            if (other.st_ino, other.st_dev) == (info.st_ino, info.st_dev):
                return candidate  # placed already, before a crash cut the move short
    raise AssertionError("unreachable")  # pragma: no cover


def _rename_unique(src: Path, target: Path) -> Path:
    for candidate in _candidates(target):
        if not candidate.exists():
            os.replace(src, candidate)
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def write_error_file(path: Path, info: dict[str, Any]) -> Path:
    """`<path>.error.json`, written atomically."""
    out = path.with_name(path.name + ERROR_SUFFIX)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- claims ------------------------------------------------------------------------


class ClaimBox:
    """`<inbox>/.claimed/<id>/`: where this watcher's claimed files wait, under a lock."""

    def __init__(self, inbox: Path, ident: str) -> None:
        self.inbox = inbox
        self.root = inbox / CLAIMED_DIR
        self.ident = ident
        self.folder = self.root / ident
        self._lock_fd: int | None = None

    def open(self) -> None:
        """Create the folder with its lock held, atomically (never seen unlocked)."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = self.root / f".new-{self.ident}"
        staging.mkdir()
        fd = os.open(staging / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        os.rename(staging, self.folder)
        self._lock_fd = fd

    def claim(self, src: str, rel: str) -> Path | None:
        """Rename the file into this box; None if another watcher (or anyone) got there first."""
        dest = self.folder.joinpath(*rel.split("/"))
        if "/" in rel:
            dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(src, dest)
        except FileNotFoundError:
            return None
        return dest

    def files(self, folder: Path | None = None) -> list[tuple[Path, str]]:
        """(path, inbox-relative key) of every file waiting in a box (this one by default)."""
        base = folder or self.folder
        out = []
        for root, dirs, names in os.walk(base, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if path.parent == base and name == LOCK_NAME:
                    continue
                out.append((path, path.relative_to(base).as_posix()))
        return out

    def adopt_dead(self) -> list[tuple[Path, str]]:
        """Take over the claims of watchers that died; returns what was moved into this box."""
        adopted: list[tuple[Path, str]] = []
        try:
            entries = sorted(self.root.iterdir())
        except FileNotFoundError:
            return adopted
        for other in entries:
            if other == self.folder or not other.is_dir() or other.is_symlink():
                continue
            fd = _try_lock(other / LOCK_NAME)
            if fd is False:
                continue  # alive
            if fd is None and not _older_than(other, UNLOCKED_GRACE_S):
                continue  # no lock (yet): a watcher being set up or torn down
            try:
                moved = []
                for path, rel in self.files(other):
                    dest = self.folder.joinpath(*rel.split("/"))
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    if dest.exists():
                        dest = next(c for c in _candidates(dest) if not c.exists())
                    try:
                        os.rename(path, dest)
                    except FileNotFoundError:
                        continue  # another watcher adopted it first
                    moved.append((dest, rel))
                _remove_tree(other)
            finally:
                if isinstance(fd, int):
                    os.close(fd)
            if moved:
                log.warning(
                    "claims_recovered",
                    from_watcher=other.name,
                    files=len(moved),
                    watcher=self.ident,
                )
            adopted.extend(moved)
        return adopted

    def close(self) -> int:
        """Drop the lock; remove the box if empty. Returns how many claims it still holds.

        Claims left here (files whose store or broker was down) are adopted, as recovered
        claims, by the next watcher that runs on this inbox.
        """
        kept = len(self.files())
        if not kept:
            _remove_tree(self.folder)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        return kept


def _try_lock(lock: Path) -> int | bool | None:
    """An fd holding the lock of a dead watcher's box; False if its owner lives; None if no lock."""
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    return fd


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def _remove_tree(folder: Path) -> None:
    """Remove a claim box's lock and its now-empty folders (never a file with content)."""
    with contextlib.suppress(OSError):
        (folder / LOCK_NAME).unlink()
    for root, dirs, _ in os.walk(folder, topdown=False):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    with contextlib.suppress(OSError):
        folder.rmdir()


# ---- events -------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A filesystem event, reduced to what the watcher acts on."""

    kind: str  #: closed | moved | created | modified | deleted | dir_moved
    src: str = ""
    dest: str = ""


def _from_watchdog(event: Any) -> Event | None:
    src = os.fsdecode(event.src_path or "")
    dest = os.fsdecode(getattr(event, "dest_path", "") or "")
    kind = event.event_type
    if event.is_directory:
        return Event("dir_moved", src, dest) if kind == "moved" else None
    if kind in ("closed", "moved", "created", "modified", "deleted"):
        return Event(kind, src, dest)
    return None


@dataclass
class _Retry:
    rel: str
    recovered: bool
    attempts: int = 0
    at: float = 0.0


@dataclass
class WatchStats:
    """Counts since start, for logs and tests."""

    claimed: int = 0
    ingested: int = 0
    rejected: int = 0
    lost_races: int = 0
    recovered: int = 0


# ---- the watcher ---------------------------------------------------------------------


@dataclass
class Watcher:
    """Watches one inbox; `run()` blocks until `stop()` (call it from a signal handler)."""

    config: WatchConfig
    store: Store
    dispatcher: Dispatcher
    ident: str = field(default_factory=new_watcher_id)
    clock: Callable[[], float] = time.monotonic
    stats: WatchStats = field(default_factory=WatchStats)

    def __post_init__(self) -> None:
        self.root = os.path.realpath(self.config.inbox)
        self.box = ClaimBox(Path(self.root), self.ident)
        self.tracker = StabilityTracker(self.config.settle_s, self.config.stall_s)
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.closes_reported = False  #: whether the platform reports close-after-write
        self.mode = "rescan only"  #: how changes are noticed: inotify, native, polling
        self._stop = threading.Event()
        self._backlog: deque[tuple[Path, str, bool]] = deque()
        self._ready: OrderedDict[str, str] = OrderedDict()  #: complete files -> why
        self._retries: dict[Path, _Retry] = {}
        self._skipped: dict[str, tuple[int, int]] = {}
        self._next_rescan = 0.0
        self._observer: Any = None
        self._excluded = [
            os.path.realpath(p) + os.sep for p in (self.config.processed, self.config.failed)
        ]

    # ---- lifecycle ----------------------------------------------------------------
    def start(self, observe: bool = True) -> None:
        """Lock a claim box, adopt dead watchers' claims, start events, scan what is there."""
        try:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            self.box.open()
        except OSError as exc:
            raise ConfigError(
                f"cannot create the claim folder {self.box.root}: {exc}",
                hint="the watcher needs write access to the inbox",
            ) from exc
        if observe:
            self._start_observer()
        log.info(
            "watcher_started",
            inbox=self.root,
            watcher=self.ident,
            mode=self.mode,
            settle_s=self.config.settle_s,
            rescan_s=self.config.rescan_s,
        )
        self.rescan()

    def stop(self) -> None:
        """Ask `run()` to return after the file in hand (safe from a signal handler)."""
        self._stop.set()

    def close(self) -> None:
        """Stop events and drop the lock; unfinished claims stay for the next watcher."""
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
            self._observer = None
        kept = self.box.close()
        log.info(
            "watcher_stopped",
            watcher=self.ident,
            claimed=self.stats.claimed,
            ingested=self.stats.ingested,
            rejected=self.stats.rejected,
            claims_kept=kept,
        )
        if kept:
            log.warning(
                "claims_kept",
                files=kept,
                folder=str(self.box.folder),
                hint="the next watcher on this inbox takes them",
            )

    def run(self) -> None:
        self.start()
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            self.close()

    def _start_observer(self) -> None:
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

        events = self.events

        class Handler(FileSystemEventHandler):
            def dispatch(self, event: Any) -> None:
                reduced = _from_watchdog(event)
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
        for kind in ["polling"] if self.config.polling else ["native", "polling"]:
            try:
                observer = self._make_observer(kind)
                observer.schedule(Handler(), self.root, recursive=True, event_filter=wanted)
                observer.start()
            except (OSError, ImportError) as exc:  # e.g. the inotify watch limit is reached
                log.warning("events_unavailable", mode=kind, error=str(exc))
                continue
            self._observer = observer
            self.closes_reported = type(observer).__name__ == "InotifyObserver"
            self.mode = "inotify" if self.closes_reported else kind
            return
        self.mode = "rescan only"

    def _make_observer(self, kind: str) -> Any:
        if kind == "polling":
            from watchdog.observers.polling import PollingObserver

            return PollingObserver(timeout=min(1.0, self.config.rescan_s))
        if sys.platform.startswith("linux"):
            from watchdog.observers.inotify import InotifyObserver

            # full events: a file moved in from outside comes as a move (complete), not a create
            return InotifyObserver(generate_full_events=True)
        from watchdog.observers import Observer

        return Observer()

    # ---- the loop ------------------------------------------------------------------
    def step(self, timeout: float = 0.25) -> None:
        """One turn: recovered claims, events, complete files, due checks, retries, rescan.

        Events are cheap to note and are all noted before any settle decision, so a file
        whose writer is known to hold it open is never taken for being quiet; taking files
        (claim, ingest, enqueue, move) is the slow part and happens from the `ready` queue.
        """
        while self._backlog and not self._stop.is_set():
            path, rel, recovered = self._backlog.popleft()
            self.process(path, rel, recovered=recovered)
        now = self.clock()
        wakeups = [self._next_rescan, *(r.at for r in self._retries.values())]
        due = self.tracker.next_due()
        if due is not None:
            wakeups.append(due)
        wait = 0.0 if self._ready else max(0.0, min(timeout, min(wakeups) - now))
        with contextlib.suppress(queue.Empty):
            self.note(self.events.get(timeout=wait) if wait > 0 else self.events.get_nowait())
        self._drain()
        if self._stop.is_set():
            return
        now = self.clock()
        self._retry_due(now)
        if self.tracker.next_due() is not None:
            for key in self.tracker.due(now):
                self._recheck(key, now)
        if now >= self._next_rescan:
            self.rescan()
        budget = time.monotonic() + 1.0  # then let timers run, even during a long burst
        while self._ready and not self._stop.is_set() and time.monotonic() < budget:
            for _ in range(min(20, len(self._ready))):
                key, reason = self._ready.popitem(last=False)
                self.take(key, reason)
            self._drain()

    def _drain(self) -> None:
        """Note every event waiting in the queue (cheap: at most a stat each)."""
        while True:
            try:
                self.note(self.events.get_nowait())
            except queue.Empty:
                return

    def handle(self, event: Event) -> None:
        """Note one filesystem event and take whatever it made ready (used by tests)."""
        self.note(event)
        while self._ready:
            key, reason = self._ready.popitem(last=False)
            self.take(key, reason)

    def note(self, event: Event) -> None:
        """Update what is known from one event; complete files join the `ready` queue."""
        if event.kind == "closed":
            self._make_ready(relative_key(self.root, event.src), "closed")
        elif event.kind == "moved":
            old = relative_key(self.root, event.src)
            if old is not None:
                self.tracker.forget(old)
                self._ready.pop(old, None)
            self._make_ready(relative_key(self.root, event.dest), "moved")
        elif event.kind == "dir_moved":
            if event.dest and not event.src:  # a whole folder moved in from outside
                for found in list(self._walk(event.dest)):
                    self._make_ready(found, "moved")
        elif event.kind in ("created", "modified"):
            key = relative_key(self.root, event.src)
            if key is None or key in self._ready:
                return
            now = self.clock()
            self._recheck(key, now)
            if event.kind == "modified" and self.closes_reported and key in self.tracker:
                self.tracker.writing(key, now)  # a writer is at work: its close says when done
        elif event.kind == "deleted":
            gone = relative_key(self.root, event.src)
            if gone is not None:
                self.tracker.forget(gone)
                self._ready.pop(gone, None)

    def _make_ready(self, key: str | None, reason: str) -> None:
        if key is not None:
            self.tracker.forget(key)
            self._ready.setdefault(key, reason)

    def rescan(self) -> None:
        """Look at every file in the inbox (events get lost); adopt dead watchers' claims."""
        self._next_rescan = self.clock() + self.config.rescan_s
        for path, rel in self.box.adopt_dead():
            self.stats.recovered += 1
            self._backlog.append((path, rel, True))
        now = self.clock()
        seen: set[str] = set()
        for key in self._walk(self.root):
            seen.add(key)
            if key not in self.tracker and key not in self._ready:
                self._recheck(key, now)
        self.tracker.retain(seen)
        for key in [k for k in self._skipped if k not in seen]:
            del self._skipped[key]

    def _walk(self, top: str) -> Iterator[str]:
        """Keys of regular-looking files under a folder; no dot-folders, no links followed."""
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if not entry.name.startswith(".") and not self._is_excluded(entry.path):
                        stack.append(entry.path)
                    continue
                key = relative_key(self.root, entry.path)
                if key is not None:
                    yield key

    def _is_excluded(self, path: str) -> bool:
        """The processed/failed folders, when someone put them inside the inbox."""
        probe = os.path.realpath(path) + os.sep
        return any(probe.startswith(ex) for ex in self._excluded)

    def _recheck(self, key: str, now: float) -> None:
        path = self._path(key)
        try:
            info = os.lstat(path)
        except OSError:
            self.tracker.forget(key)
            return
        if not self._takeable(key, path, info):
            self.tracker.forget(key)
            return
        if self.tracker.observe(key, info.st_size, info.st_mtime_ns, now) is Verdict.stable:
            self._make_ready(key, "settled")

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _takeable(self, key: str, path: str, info: os.stat_result) -> bool:
        """Regular files inside the inbox only: never links, FIFOs, sockets or devices."""
        why = None
        if not stat.S_ISREG(info.st_mode):
            why = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        elif os.path.realpath(path) != path:
            why = "reached through a symbolic link"
        elif self._is_excluded(os.path.dirname(path)):
            why = "inside the processed or failed folder"
        if why is None:
            return True
        mark = (info.st_ino, info.st_mtime_ns)
        if self._skipped.get(key) != mark:
            self._skipped[key] = mark
            log.info("file_skipped", source=key, reason=why)
        return False

    # ---- taking a file -----------------------------------------------------------------
    def take(self, key: str, reason: str) -> bool:
        """Claim a complete file and work on it; False if it is gone or not to be taken."""
        self.tracker.forget(key)
        path = self._path(key)
        try:
            info = os.lstat(path)
        except OSError:
            return False
        if not self._takeable(key, path, info):
            return False
        try:
            claimed = self.box.claim(path, key)
        except OSError as exc:
            log.error(
                "claim_failed",
                source=key,
                error=str(exc),
                hint="the inbox and its .claimed folder must be one writable filesystem",
            )
            return False
        if claimed is None:
            self.stats.lost_races += 1
            return False
        self.stats.claimed += 1
        log.info("file_claimed", source=key, watcher=self.ident, reason=reason, bytes=info.st_size)
        self.process(claimed, key)
        return True

    def process(self, claimed: Path, rel: str, recovered: bool = False) -> None:
        """Ingest a claimed file, start its chains, then move it out; or quarantine it."""
        started = time.perf_counter()
        retry = self._retries.pop(claimed, None)
        try:
            data = read_file(claimed, self.config.max_bytes)
            result = ingest_file(
                self.store, rel, data, max_bytes=self.config.max_bytes, worker=self.ident
            )
        except PermanentError as exc:
            self._reject(claimed, rel, exc.message, exc.hint, exc, retry)
            return
        except RetryableError as exc:
            self._later(claimed, rel, recovered, retry, exc.describe())
            return
        except Exception as exc:
            attempts = (retry.attempts if retry else 0) + 1
            if attempts >= MAX_UNEXPECTED_ATTEMPTS:
                self._reject(
                    claimed,
                    rel,
                    f"{rel}: unexpected {type(exc).__name__}: {exc}",
                    "this looks like a docflow bug: report it with the watcher log",
                    exc,
                    retry,
                )
            else:
                log.exception("file_error", source=rel, attempt=attempts)
                self._later(claimed, rel, recovered, retry, f"{type(exc).__name__}: {exc}")
            return
        try:
            self.dispatcher.start(result)
            if recovered and result.duplicate_ids:
                self.dispatcher.resume(result.duplicate_ids)
        except Exception as exc:  # broker down: the file stays claimed and is tried again
            self._later(claimed, rel, True, retry, f"enqueue failed: {type(exc).__name__}: {exc}")
            return
        try:
            final = place(claimed, self.config.processed, rel)
        except OSError as exc:
            self._later(claimed, rel, recovered, retry, f"cannot move to processed: {exc}")
            return
        self.stats.ingested += 1
        log.info(
            "file_ingested",
            source=rel,
            doc_ids=result.new_ids,
            trace_ids=[result.traces[d] for d in result.new_ids],
            duplicate_ids=result.duplicate_ids,
            errors=len(result.errors),
            processed=str(final),
            recovered=recovered,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    def _later(
        self, claimed: Path, rel: str, recovered: bool, retry: _Retry | None, error: str
    ) -> None:
        entry = retry or _Retry(rel=rel, recovered=recovered)
        entry.recovered = entry.recovered or recovered
        entry.attempts += 1
        delay = min(RETRY_MAX_S, 0.5 * 2 ** (entry.attempts - 1))
        entry.at = self.clock() + delay
        self._retries[claimed] = entry
        log.warning("file_retry", source=rel, error=error, attempt=entry.attempts, retry_in_s=delay)

    def _retry_due(self, now: float) -> None:
        for claimed, entry in list(self._retries.items()):
            if self._stop.is_set():
                return
            if entry.at <= now:
                if not claimed.exists():
                    self._retries.pop(claimed, None)
                    continue
                self.process(claimed, entry.rel, recovered=entry.recovered)

    def _reject(
        self,
        claimed: Path,
        rel: str,
        error: str,
        hint: str,
        exc: BaseException,
        retry: _Retry | None,
    ) -> None:
        """Record the rejection, move the file to the failed folder, say why beside it."""
        describe = exc.describe() if isinstance(exc, DocflowError) else f"{error} ({hint})"
        try:
            self.store.record_rejected(display_name(rel), describe)
        except RetryableError as store_exc:
            self._later(claimed, rel, False, retry, store_exc.describe())
            return
        self.stats.rejected += 1
        log.warning("file_rejected", source=display_name(rel), error=describe)
        try:
            final = place(claimed, self.config.failed, rel)
        except OSError as move_exc:
            self._later(claimed, rel, False, retry, f"cannot move to failed: {move_exc}")
            return
        note = write_error_file(
            final,
            {
                "source": rel,
                "error": error,
                "hint": hint,
                "at": now_iso(),
                "kind": type(exc).__name__,
                "watcher": self.ident,
                "file": final.name,
            },
        )
        log.info("file_quarantined", source=rel, path=str(final), error_file=str(note))
