"""The inbox watcher: takes each dropped file once it is complete, exactly once, safely.

How a file travels:

1. **seen**: an inotify/polling event, or the periodic full rescan (events get dropped
   under load and network mounts send none). A close-after-write or a rename into place
   means complete: taken at once. Anything else waits until its size and mtime settle
   (`tasks.stability`).
2. **claimed**: renamed into `<inbox>/.claimed/<watcher id>/<relative path>`
   (`workers.claims`). A rename is atomic, so when two watchers race for a file exactly
   one wins. Every step is done through directory descriptors (`workers.inbox_fs`): a
   folder swapped for a symbolic link between the check and the rename sends nothing
   from outside the inbox into the pipeline.
3. **ingested**: read through its descriptor (no links, FIFOs or devices; size checked
   first) and split; the files claimed in one turn (up to GROUP_FILES) have all their
   articles recorded in one store transaction (`workers.watch_process`).
4. **published**: once per step, the new documents of every file recorded in it go out
   in one flush (`workers.batch_publish`): batch messages for a burst, a single message
   for a lone file, sent in the same step it was taken (no added latency).
5. **placed**: only then is the file moved to the processed folder, under its relative
   path, made unique on a clash, never overwriting anything. A file that cannot be
   ingested goes to the failed folder with `<name>.error.json` beside it, and the
   rejection is recorded in the store. Nothing is deleted.

A store that cannot be written or a broker that is down never stops the watcher: the
file stays claimed and is retried with backoff, and the watcher says once what it waits
for (`workers.watcher_health`, shown by `docflow status`). No single path can stop it
either: per-file errors are logged (`file_skipped`, `file_error`) and the loop goes on.

A stop (SIGTERM, Ctrl-C) finishes the group in hand and publishes it first. Files still
claimed then (their store or broker was down) stay in the box and are adopted by the next
watcher, which records them again as duplicates and publishes those still `received`.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from tasks.errors import ConfigError
from tasks.ingest import display_name
from tasks.stability import StabilityTracker, Verdict
from tasks.store import Store
from workers.claims import CLAIMED_DIR, LOCK_NAME, Claim, ClaimBox
from workers.inbox_fs import DirId, Skip, lookup, open_dir
from workers.watch_config import (
    CeleryDispatcher,
    Dispatcher,
    WatchConfig,
    hardlinks_protected,
    inbox_parts,
    new_watcher_id,
    place,
    relative_key,
)
from workers.watch_events import Event, Observing, start_observer
from workers.watch_process import GROUP_FILES, ClaimProcessor, WatchStats
from workers.watch_scan import ClaimFailed, claim_key, excluded_ids, walk_keys
from workers.watcher_health import Health, health_file

__all__ = [
    "CLAIMED_DIR",
    "LOCK_NAME",
    "CeleryDispatcher",
    "Claim",
    "ClaimBox",
    "Event",
    "WatchConfig",
    "Watcher",
    "place",
    "relative_key",
]

log = structlog.get_logger("docflow.watcher")

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
        run_dir = self.config.run_dir
        self.health = Health(
            self.ident, self.root, health_file(run_dir, self.ident) if run_dir else None
        )
        self.tracker = StabilityTracker(self.config.settle_s, self.config.stall_s)
        self.closes_reported = False  #: whether the platform reports close-after-write
        self.mode = "rescan only"  #: how changes are noticed: inotify, native, polling
        self._stop = threading.Event()
        self._backlog: deque[tuple[Claim, bool]] = deque()
        self._ready: OrderedDict[str, str] = OrderedDict()  #: complete files -> why
        self._skipped: dict[str, tuple[int, int]] = {}
        self._next_rescan = 0.0
        self._observing = Observing()
        self._inbox_fd: int | None = None
        self._excluded: frozenset[DirId] = frozenset()
        self.processor = ClaimProcessor(
            self.config,
            self.store,
            self.dispatcher,
            self.box,
            self.health,
            self.stats,
            self.ident,
            self.clock,
        )

    def process(self, claim: Claim, recovered: bool = False) -> None:
        """Ingest a claimed file, publish its documents, then move it out; or quarantine it."""
        self.processor.process(claim, recovered)

    @property
    def inbox_fd(self) -> int:
        if self._inbox_fd is None:
            raise RuntimeError("the watcher is not started")
        return self._inbox_fd

    # ---- lifecycle ----------------------------------------------------------------
    def start(self, observe: bool = True) -> None:
        """Lock a claim box, adopt dead watchers' claims, start events, scan what is there."""
        try:
            Path(self.root).mkdir(parents=True, exist_ok=True)
            self._inbox_fd = open_dir(self.root)  # resolved: no link to follow at the end
            self.box.open(self._inbox_fd)
        except BaseException as exc:
            if self._inbox_fd is not None:
                os.close(self._inbox_fd)
                self._inbox_fd = None
            if not isinstance(exc, OSError):
                raise
            raise ConfigError(
                f"cannot create the claim folder {self.box.root}: {exc}",
                hint="the watcher needs write access to the inbox",
            ) from exc
        self._excluded = excluded_ids((self.config.processed, self.config.failed))
        if hardlinks_protected() is False:
            log.warning(
                "hardlinks_unprotected",
                hint="set fs.protected_hardlinks=1 (sysctl): without it, whoever can write "
                "to the inbox can hard-link files they cannot read into it",
            )
        self.health.write()
        if observe:
            self._observing = start_observer(
                self.root, self.config.polling, self.config.rescan_s, lambda: self._excluded
            )
            self.mode, self.closes_reported = self._observing.mode, self._observing.closes_reported
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
        self._observing.stop()
        kept = self.box.close()
        if self._inbox_fd is not None:
            os.close(self._inbox_fd)
            self._inbox_fd = None
        self.health.remove()
        log.info(
            "watcher_stopped",
            watcher=self.ident,
            claimed=self.stats.claimed,
            ingested=self.stats.ingested,
            rejected=self.stats.rejected,
            lost_races=self.stats.lost_races,  # files another watcher claimed first
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
                try:
                    self.step()
                except Exception:  # a bug must not become a restart loop: log and go on
                    log.exception("watcher_step_failed", watcher=self.ident)
                    self._stop.wait(0.5)
        finally:
            self.close()

    # ---- the loop ------------------------------------------------------------------
    def step(self, timeout: float = 0.25) -> None:
        """One turn: recovered claims, events, complete files, due checks, retries, rescan;
        then one publish for every file recorded in the turn (`ClaimProcessor.publish`);
        while more files are ready to take, a batch not yet full waits for them.

        Events are cheap to note and are all noted before any settle decision, so a file
        whose writer is known to hold it open is never taken for being quiet; taking files
        (claim, record in groups, publish, move) is the slow part and happens from the
        `ready` queue.
        """
        try:
            self._turn(timeout)
        finally:
            # files that became ready meanwhile: the burst goes on, a partial batch waits
            # for them (the next turn starts at once); a lone file goes out now
            self._drain()
            more = bool(self._ready) and not self._stop.is_set()
            self.processor.publish(more_coming=more)

    def _turn(self, timeout: float) -> None:
        while self._backlog and not self._stop.is_set():
            group = [self._backlog.popleft() for _ in range(min(GROUP_FILES, len(self._backlog)))]
            self.processor.process_group(group)
        now = self.clock()
        wakeups = [self._next_rescan, *(r.at for r in self.processor.retries.values())]
        if self.processor.unplaced:
            wakeups.append(self.processor.publish_at)
        due = self.tracker.next_due()
        if due is not None:
            wakeups.append(due)
        wait = 0.0 if self._ready else max(0.0, min(timeout, min(wakeups) - now))
        for event in self._observing.wait(wait):
            self.note(event)
        self._drain()
        if self._stop.is_set():
            return
        now = self.clock()
        self.processor.retry_due(now, self._stop)
        if self.tracker.next_due() is not None:
            for key in self.tracker.due(now):
                self._recheck(key, now)
        if now >= self._next_rescan:
            self.rescan()
        budget = time.monotonic() + 1.0  # then let timers run, even during a long burst
        while self._ready and not self._stop.is_set() and time.monotonic() < budget:
            group = []
            for _ in range(min(GROUP_FILES, len(self._ready))):
                claim = self._claim_safely(*self._ready.popitem(last=False))
                if claim is not None:
                    group.append((claim, False))
            self.processor.process_group(group)
            self._drain()
            if self._ready and self.processor.dispatcher.burst_ready():
                # a long burst: its first full batches go now, so the workers start
                # while the watcher takes the rest
                self.processor.publish(more_coming=True)

    def _drain(self) -> None:
        """Note every event noticed so far (cheap: at most a stat each)."""
        for event in self._observing.wait(0):
            self.note(event)

    def handle(self, event: Event) -> None:
        """Note one filesystem event and take whatever it made ready (used by tests)."""
        self.note(event)
        while self._ready:
            self.take(*self._ready.popitem(last=False))

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
                parts = inbox_parts(self.root, event.dest)
                if parts is not None and not parts[-1].startswith("."):
                    for found in list(walk_keys(self.inbox_fd, "/".join(parts), self._excluded)):
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
        elif event.kind == "overflow":  # events were lost: look at every file now
            self._next_rescan = 0.0

    def _make_ready(self, key: str | None, reason: str) -> None:
        if key is not None:
            self.tracker.forget(key)
            self._ready.setdefault(key, reason)

    def rescan(self) -> None:
        """Look at every file in the inbox (events get lost); adopt dead watchers' claims."""
        self._next_rescan = self.clock() + self.config.rescan_s
        try:
            adopted = self.box.adopt_dead()
        except OSError as exc:
            log.warning("adopt_failed", error=str(exc), folder=str(self.box.root))
            adopted = []
        for claim in adopted:
            self.stats.recovered += 1
            self._backlog.append((claim, True))
        self._excluded = excluded_ids((self.config.processed, self.config.failed))
        now = self.clock()
        seen: set[str] = set()
        for key in walk_keys(self.inbox_fd, "", self._excluded):
            seen.add(key)
            if key not in self.tracker and key not in self._ready:
                self._recheck(key, now)
        self.tracker.retain(seen)
        for key in [k for k in self._skipped if k not in seen]:
            del self._skipped[key]

    def _recheck(self, key: str, now: float) -> None:
        try:
            fd, _, info = lookup(self.inbox_fd, key, self._excluded)
        except Skip as skip:
            self.tracker.forget(key)
            self._report_skip(key, skip)
            return
        except OSError:
            self.tracker.forget(key)
            return
        os.close(fd)
        if self.tracker.observe(key, info.st_size, info.st_mtime_ns, now) is Verdict.stable:
            self._make_ready(key, "settled")

    def _report_skip(self, key: str, skip: Skip) -> None:
        if self._skipped.get(key) != skip.mark:
            self._skipped[key] = skip.mark
            log.info("file_skipped", source=display_name(key), reason=skip.reason)

    # ---- taking a file -----------------------------------------------------------------
    def take(self, key: str, reason: str) -> bool:
        """Claim a complete file and work on it alone; False if it is gone or not to be taken."""
        claim = self._claim_safely(key, reason)
        if claim is None:
            return False
        self.processor.process_safely(claim)
        return True

    def _claim_safely(self, key: str, reason: str) -> Claim | None:
        """Rename a complete file into the claim box; None if it is gone or not to be taken."""
        self.tracker.forget(key)
        try:
            claim, size = claim_key(self.inbox_fd, self.box, key, self._excluded)
        except Skip as skip:
            self._report_skip(key, skip)
            return None
        except ClaimFailed as exc:
            log.error(
                "claim_failed",
                source=display_name(key),
                error=str(exc),
                hint="the inbox and its .claimed folder must be one writable filesystem",
            )
            return None
        except OSError:
            return None  # gone (taken by another watcher, renamed, deleted)
        except Exception:  # one bad path never stops the watcher
            log.exception("file_error", source=display_name(key), during="take")
            return None
        if claim is None:
            self.stats.lost_races += 1
            return None
        self.stats.claimed += 1
        log.debug("file_claimed", source=display_name(key), reason=reason, bytes=size)
        return claim
