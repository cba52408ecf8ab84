"""What happens to claimed files: ingested in groups, published once per step and moved out;
or quarantined with a reason; or, while the store or broker cannot take them, kept claimed
and retried with backoff.

A group (the files taken in one turn, up to GROUP_FILES) is read and split file by file
(pure: a file that cannot be taken is rejected alone), then all its articles are recorded in
ONE store transaction (`tasks.ingest.record_files`). If the store fails, no file of the
group is recorded and every one stays claimed and is retried; any other failure of the
group's transaction splits it into single files, so one odd file cannot hold up the rest.

The new documents are queued in the dispatcher, and `publish` flushes them once per
watcher step: a burst becomes a few batch messages, a lone file one message in the same
step it was taken. **A file is placed (moved to processed) only after its documents are
both recorded and published.** A flush that fails keeps the ids queued and the files
claimed, says once that the watcher waits on the broker, and is tried again with backoff;
a watcher that dies in between leaves the files in its claim box, and the next watcher
takes them again (their documents are then duplicates, resumed if still `received`),
while the recovery sweep sends any `received` document that stays idle.

Whatever happens, the claim is never lost and the watcher never stops over one file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from tasks.errors import DocflowError, PermanentError, RetryableError
from tasks.ingest import PreparedFile, display_name, prepare_file, record_files
from tasks.models import IngestResult
from tasks.store import Store
from workers.claims import Claim, ClaimBox
from workers.inbox_fs import write_error_file
from workers.watch_config import Dispatcher, WatchConfig
from workers.watcher_health import Health, is_store_error, now_iso, store_problem

log = structlog.get_logger("docflow.watcher")

#: unexpected errors (bugs) on one file get this many tries before it is quarantined
MAX_UNEXPECTED_ATTEMPTS = 3
#: retry delays for a file whose store or broker was unavailable
RETRY_MAX_S = 30.0
#: at most this many claimed files are recorded in one store transaction
GROUP_FILES = 32
BROKER_HINT = (
    "check that the broker (DOCFLOW_BROKER_URL, or `docflow up` on this data dir) runs "
    "and is reachable; the watcher goes on by itself"
)


@dataclass
class _Retry:
    claim: Claim
    recovered: bool
    attempts: int = 0
    at: float = 0.0


@dataclass
class _Taken:
    """A claimed file on its way: read and split, then recorded, then published and placed."""

    claim: Claim
    recovered: bool
    retry: _Retry | None
    started: float
    prepared: PreparedFile | None = None
    result: IngestResult | None = None
    sent: list[str] = field(default_factory=list)  #: ids queued for publishing


@dataclass
class WatchStats:
    """Counts since start, for logs and tests."""

    claimed: int = 0
    ingested: int = 0
    rejected: int = 0
    lost_races: int = 0  #: files another watcher claimed first
    recovered: int = 0


@dataclass
class ClaimProcessor:
    """Works on claimed files for one watcher; holds the files waiting for a retry."""

    config: WatchConfig
    store: Store
    dispatcher: Dispatcher
    box: ClaimBox
    health: Health
    stats: WatchStats
    ident: str
    clock: Callable[[], float]
    retries: dict[str, _Retry] = field(default_factory=dict)  #: by place in the claim box
    unplaced: list[_Taken] = field(default_factory=list)  #: recorded, not yet published
    publish_at: float = 0.0  #: while the broker is down: the next flush try
    _publish_failures: int = 0

    def process_safely(self, claim: Claim, recovered: bool = False) -> None:
        """One file on its own: recorded, published and placed now (a group of one)."""
        self.process_group([(claim, recovered)])
        self.publish()

    process = process_safely

    def process_group(self, claims: Iterable[tuple[Claim, bool]]) -> None:
        """Read, split and record a group of claimed files; their documents are queued."""
        taken = [
            _Taken(claim, recovered, self.retries.pop(claim.box_rel, None), time.perf_counter())
            for claim, recovered in claims
        ]
        try:
            ready = [item for item in taken if self._prepare(item)]
            if ready:
                self._record(ready)
        except Exception as exc:  # never lose a claim: log it and try again later
            log.exception("file_error", files=len(taken), during="process")
            held = {item.claim.box_rel for item in self.unplaced} | set(self.retries)
            for item in taken:
                if item.claim.box_rel not in held and self.box.holds(item.claim):
                    self._later(item, f"{type(exc).__name__}: {exc}")

    def _prepare(self, item: _Taken) -> bool:
        """Read and split one claimed file; False if it was rejected or put off."""
        claim = item.claim
        try:
            data = self.box.read(claim, self.config.max_bytes)
        except PermanentError as exc:  # a link, a FIFO, too big: quarantined with the reason
            self._reject(item, exc.message, exc.hint, exc)
            return False
        except OSError as exc:
            if self.box.holds(claim):  # else it is gone: nothing left to do
                self._later(item, f"cannot read the claimed file: {exc}")
            return False
        try:
            item.prepared = prepare_file(claim.rel, data, max_bytes=self.config.max_bytes)
        except PermanentError as exc:
            self._reject(item, exc.message, exc.hint, exc)
            return False
        except Exception as exc:
            self._unexpected(item, exc)
            return False
        return True

    def _record(self, group: list[_Taken]) -> None:
        """Record a group's articles in one transaction and queue its new documents."""
        files = [item.prepared for item in group if item.prepared is not None]
        try:
            results = record_files(self.store, files, worker=self.ident)
        except Exception as exc:
            if is_store_error(exc) or isinstance(exc, OSError):  # ingest only does store I/O
                self._store_down(exc)
                for item in group:
                    self._later(item, f"store: {type(exc).__name__}: {exc}")
            elif isinstance(exc, RetryableError):
                for item in group:
                    self._later(item, exc.describe())
            elif len(group) > 1:  # one odd file must not hold up the rest: each alone
                log.warning("group_split", files=len(group), error=f"{type(exc).__name__}: {exc}")
                for item in group:
                    self._record([item])
            elif isinstance(exc, PermanentError):
                self._reject(group[0], exc.message, exc.hint, exc)
            else:
                self._unexpected(group[0], exc)
            return
        self._ok("store")
        for item, result in zip(group, results, strict=True):
            item.result = result
            try:
                self.dispatcher.start(result)
                item.sent = list(result.new_ids)
                if item.recovered and result.duplicate_ids:
                    self.dispatcher.resume(result.duplicate_ids)
                    item.sent += result.duplicate_ids
            except Exception as exc:  # resume reads the store: keep the claim, try again
                if is_store_error(exc):
                    self._store_down(exc)
                item.recovered = True
                self._later(item, f"cannot queue its documents: {type(exc).__name__}: {exc}")
                continue
            self.unplaced.append(item)

    def publish(self, *, more_coming: bool = False) -> None:
        """Flush the queued documents (once), then place every file whose documents went.

        `more_coming`: more files of the burst wait to be taken; a partial batch waits for
        them (a file stays claimed until its documents went). While the broker is down the
        flush is tried with backoff, not on every step.
        """
        now = self.clock()
        if now >= self.publish_at:
            try:
                self.dispatcher.flush(more_coming=more_coming)
            except Exception as exc:  # broker down: ids stay queued, files stay claimed
                self._publish_failures += 1
                delay = min(RETRY_MAX_S, 0.5 * 2 ** (self._publish_failures - 1))
                self.publish_at = now + delay
                problem = f"cannot publish to the broker: {type(exc).__name__}: {exc}"
                if not self.health.wait_on("broker", problem, BROKER_HINT):
                    log.debug("publish_retry", error=problem, retry_in_s=delay)
            else:
                if self._publish_failures:
                    self._publish_failures, self.publish_at = 0, 0.0
                    self._ok("broker")
        if not self.unplaced:
            return
        waiting = self.dispatcher.waiting()
        recorded, self.unplaced = self.unplaced, []
        for item in recorded:
            if waiting and not waiting.isdisjoint(item.sent):
                self.unplaced.append(item)
            else:
                self._place(item)

    def _place(self, item: _Taken) -> None:
        claim, result = item.claim, item.result
        assert result is not None
        try:
            final = self.box.place(claim, self.config.processed, claim.rel)
        except OSError as exc:
            self._later(item, f"cannot move to processed: {exc}")
            return
        self.stats.ingested += 1
        log.info(
            "file_ingested",
            source=display_name(claim.rel),
            doc_ids=result.new_ids,
            trace_ids=[result.traces[d] for d in result.new_ids],
            duplicate_ids=result.duplicate_ids,
            errors=len(result.errors),
            processed=str(final),
            recovered=item.recovered,
            duration_ms=round((time.perf_counter() - item.started) * 1000, 2),
        )

    def _unexpected(self, item: _Taken, exc: Exception) -> None:
        """A bug on one file: a few more tries, then it is quarantined."""
        rel = item.claim.rel
        attempts = (item.retry.attempts if item.retry else 0) + 1
        if attempts >= MAX_UNEXPECTED_ATTEMPTS:
            self._reject(
                item,
                f"{display_name(rel)}: unexpected {type(exc).__name__}: {exc}",
                "this looks like a docflow bug: report it with the watcher log",
                exc,
            )
        else:
            log.exception("file_error", source=display_name(rel), attempt=attempts)
            self._later(item, f"{type(exc).__name__}: {exc}")

    def _ok(self, kind: str | None = None) -> None:
        """The store (or broker) took a file: if it was being waited on, retry the rest now."""
        if not self.health.waiting:
            return
        self.health.ok(kind)
        if not self.health.waiting:
            now = self.clock()
            for entry in self.retries.values():
                entry.at = min(entry.at, now)

    def _store_down(self, exc: BaseException) -> None:
        """Wait on the store (said once); the next try gets a fresh connection."""
        problem, hint = store_problem(self.store, exc)
        self.health.wait_on("store", problem, hint)
        try:
            self.store.close()  # e.g. SQLite keeps a file once opened read-only as read-only
        except Exception as close_exc:
            log.debug("store_close_failed", error=str(close_exc))

    def _later(self, item: _Taken, error: str) -> None:
        """Keep the claim and try the file again after a backoff."""
        claim = item.claim
        entry = item.retry or _Retry(claim=claim, recovered=item.recovered)
        entry.recovered = entry.recovered or item.recovered
        entry.attempts += 1
        delay = min(RETRY_MAX_S, 0.5 * 2 ** (entry.attempts - 1))
        entry.at = self.clock() + delay
        self.retries[claim.box_rel] = entry
        # while the watcher waits on its store or broker, it said so once: no line per retry
        emit = log.debug if self.health.waiting else log.warning
        emit(
            "file_retry",
            source=display_name(claim.rel),
            error=error,
            attempt=entry.attempts,
            retry_in_s=delay,
        )

    def retry_due(self, now: float, stop: threading.Event) -> None:
        """Try again the files whose backoff is over, in groups (published by the step)."""
        due: list[tuple[Claim, bool]] = []
        for box_rel, entry in list(self.retries.items()):
            if entry.at > now:
                continue
            if not self.box.holds(entry.claim):
                self.retries.pop(box_rel, None)
                continue
            due.append((entry.claim, entry.recovered))
        for i in range(0, len(due), GROUP_FILES):
            if stop.is_set():
                return
            self.process_group(due[i : i + GROUP_FILES])

    def _reject(self, item: _Taken, error: str, hint: str, exc: BaseException) -> None:
        """Record the rejection, move the file to the failed folder, say why beside it."""
        claim = item.claim
        rel = claim.rel
        describe = exc.describe() if isinstance(exc, DocflowError) else f"{error} ({hint})"
        try:
            self.store.record_rejected(display_name(rel), describe)
        except Exception as store_exc:  # any store error: keep the claim, wait, retry
            self._store_down(store_exc)
            self._later(item, f"cannot record the rejection: {store_exc}")
            return
        self._ok("store")
        self.stats.rejected += 1
        log.warning("file_rejected", source=display_name(rel), error=describe)
        try:
            final = self.box.place(claim, self.config.failed, rel)
        except OSError as move_exc:
            self._later(item, f"cannot move to failed: {move_exc}")
            return
        info: dict[str, Any] = {
            "source": rel,
            "error": error,
            "hint": hint,
            "at": now_iso(),
            "kind": type(exc).__name__,
            "watcher": self.ident,
            "file": final.name,
        }
        try:
            note = write_error_file(final.parent, final.name, info)
        except OSError as note_exc:
            log.error(
                "error_file_failed",
                source=display_name(rel),
                path=str(final),
                error=str(note_exc),
                hint="the reason is recorded in the store: see `docflow failed`",
            )
            return
        log.info(
            "file_quarantined", source=display_name(rel), path=str(final), error_file=str(note)
        )
