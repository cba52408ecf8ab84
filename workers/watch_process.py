"""What happens to a claimed file: ingested, published and moved out; or quarantined with a
reason; or, while the store or broker cannot take it, kept claimed and retried with backoff.

Whatever happens, the claim is never lost and the watcher never stops over one file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from tasks.errors import DocflowError, PermanentError, RetryableError
from tasks.ingest import display_name, ingest_file
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

    def process_safely(self, claim: Claim, recovered: bool = False) -> None:
        try:
            self.process(claim, recovered)
        except Exception as exc:  # never lose the claim: log it and try again later
            log.exception("file_error", source=display_name(claim.rel), during="process")
            self._later(claim, recovered, None, f"{type(exc).__name__}: {exc}")

    def process(self, claim: Claim, recovered: bool = False) -> None:
        """Ingest a claimed file, start its chains, then move it out; or quarantine it."""
        started = time.perf_counter()
        rel = claim.rel
        retry = self.retries.pop(claim.box_rel, None)
        try:
            data = self.box.read(claim, self.config.max_bytes)
        except PermanentError as exc:  # a link, a FIFO, too big: quarantined with the reason
            self._reject(claim, exc.message, exc.hint, exc, retry)
            return
        except OSError as exc:
            if self.box.holds(claim):  # else it is gone: nothing left to do
                self._later(claim, recovered, retry, f"cannot read the claimed file: {exc}")
            return
        try:
            result = ingest_file(
                self.store, rel, data, max_bytes=self.config.max_bytes, worker=self.ident
            )
        except PermanentError as exc:
            self._reject(claim, exc.message, exc.hint, exc, retry)
            return
        except Exception as exc:
            if is_store_error(exc) or isinstance(exc, OSError):  # ingest only does store I/O
                self._store_down(exc)
                self._later(claim, recovered, retry, f"store: {type(exc).__name__}: {exc}")
                return
            if isinstance(exc, RetryableError):
                self._later(claim, recovered, retry, exc.describe())
                return
            attempts = (retry.attempts if retry else 0) + 1
            if attempts >= MAX_UNEXPECTED_ATTEMPTS:
                self._reject(
                    claim,
                    f"{display_name(rel)}: unexpected {type(exc).__name__}: {exc}",
                    "this looks like a docflow bug: report it with the watcher log",
                    exc,
                    retry,
                )
            else:
                log.exception("file_error", source=display_name(rel), attempt=attempts)
                self._later(claim, recovered, retry, f"{type(exc).__name__}: {exc}")
            return
        self._ok("store")
        try:
            self.dispatcher.start(result)
            if recovered and result.duplicate_ids:
                self.dispatcher.resume(result.duplicate_ids)
        except Exception as exc:  # broker down: the file stays claimed and is tried again
            if is_store_error(exc):
                self._store_down(exc)
            else:
                self.health.wait_on(
                    "broker",
                    f"cannot publish to the broker: {type(exc).__name__}: {exc}",
                    BROKER_HINT,
                )
            self._later(claim, True, retry, f"enqueue failed: {type(exc).__name__}: {exc}")
            return
        self._ok()
        try:
            final = self.box.place(claim, self.config.processed, rel)
        except OSError as exc:
            self._later(claim, recovered, retry, f"cannot move to processed: {exc}")
            return
        self.stats.ingested += 1
        log.info(
            "file_ingested",
            source=display_name(rel),
            doc_ids=result.new_ids,
            trace_ids=[result.traces[d] for d in result.new_ids],
            duplicate_ids=result.duplicate_ids,
            errors=len(result.errors),
            processed=str(final),
            recovered=recovered,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

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

    def _later(self, claim: Claim, recovered: bool, retry: _Retry | None, error: str) -> None:
        entry = retry or _Retry(claim=claim, recovered=recovered)
        entry.recovered = entry.recovered or recovered
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
        for box_rel, entry in list(self.retries.items()):
            if stop.is_set():
                return
            if entry.at <= now:
                if not self.box.holds(entry.claim):
                    self.retries.pop(box_rel, None)
                    continue
                self.process_safely(entry.claim, entry.recovered)

    def _reject(
        self,
        claim: Claim,
        error: str,
        hint: str,
        exc: BaseException,
        retry: _Retry | None,
    ) -> None:
        """Record the rejection, move the file to the failed folder, say why beside it."""
        rel = claim.rel
        describe = exc.describe() if isinstance(exc, DocflowError) else f"{error} ({hint})"
        try:
            self.store.record_rejected(display_name(rel), describe)
        except Exception as store_exc:  # any store error: keep the claim, wait, retry
            self._store_down(store_exc)
            self._later(claim, False, retry, f"cannot record the rejection: {store_exc}")
            return
        self._ok("store")
        self.stats.rejected += 1
        log.warning("file_rejected", source=display_name(rel), error=describe)
        try:
            final = self.box.place(claim, self.config.failed, rel)
        except OSError as move_exc:
            self._later(claim, False, retry, f"cannot move to failed: {move_exc}")
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
