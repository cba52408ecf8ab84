"""What a watcher is configured with, what it hands documents to, and small path helpers."""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tasks.errors import ConfigError
from tasks.models import IngestResult, Status
from tasks.store import Store
from workers.files import is_ignored_name
from workers.inbox_fs import open_root, place_at
from workers.settings import Settings, get_settings

if TYPE_CHECKING:
    from workers.batch_publish import BatchSender

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
    run_dir: Path | None = None  #: where the health file goes (none: not written)

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
            run_dir=settings.run_dir,
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
    """How ingested documents get into the pipeline: queued per file, published per step."""

    def start(self, result: IngestResult) -> None:
        """Queue the new documents of an ingested file for the next flush."""

    def resume(self, doc_ids: list[str]) -> None:
        """Documents of a recovered claim: queue those that may never have been started."""

    def flush(self, *, more_coming: bool = False) -> None:
        """Publish what is queued; on a broker error what was not sent stays queued.

        `more_coming`: more files of the same burst are waiting to be taken, so a batch
        not yet full may wait for them (see `BatchSender.flush`)."""

    def waiting(self) -> set[str]:
        """The ids queued and not published yet."""

    def burst_ready(self) -> bool:
        """Whether enough is queued to give every parse process a full batch now."""


class CeleryDispatcher:
    """The real pipeline: batch messages through the configured broker (`BatchSender`)."""

    def __init__(self, store: Store, sender: BatchSender | None = None) -> None:
        from workers.batch_publish import BatchSender  # Celery and its app load only here

        self.store = store
        self.sender = sender or BatchSender.from_settings(get_settings())

    def start(self, result: IngestResult) -> None:
        self.sender.add(result)

    def resume(self, doc_ids: list[str]) -> None:
        # a recovered file may have died between being recorded and its chain being sent;
        # a second chain for a document already on its way is skipped by each stage
        docs = (self.store.get_document(doc_id) for doc_id in doc_ids)
        self.sender.add_ids((d.id, d.trace_id) for d in docs if d.status is Status.received)

    def flush(self, *, more_coming: bool = False) -> None:
        self.sender.flush(more_coming=more_coming)

    def waiting(self) -> set[str]:
        return {p.doc_id for p in self.sender.pending}

    def burst_ready(self) -> bool:
        return self.sender.burst_ready()


# ---- small pure-ish helpers ------------------------------------------------------------


def new_watcher_id() -> str:
    """`<host>-<pid>-<random>`: readable, and unique even when pids repeat (containers)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()).lstrip(".") or "host"
    return f"{host[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


def inbox_parts(root: str, path: str) -> list[str] | None:
    """The components of a path inside the inbox, unless outside it or in a dot-folder."""
    if not path:
        return None
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if rel in (".", "") or parts[0] == ".." or os.path.isabs(rel):
        return None
    if any(part.startswith(".") for part in parts[:-1]):
        return None
    return parts


def relative_key(root: str, path: str) -> str | None:
    """The inbox-relative path ('a/b.txt') of a file the watcher may take, else None.

    None for anything outside the inbox, inside a dot-folder (such as `.claimed`), or
    named like a dotfile or temporary file (`*.part`, `*.tmp`, `~*`, ...).
    """
    parts = inbox_parts(root, path)
    if parts is None or is_ignored_name(parts[-1]):
        return None
    return "/".join(parts)


def place(src: Path, dest_root: Path, rel: str) -> Path:
    """Move the file at `src` to `dest_root/rel`, never overwriting (see `place_at`)."""
    fd = open_root(src.parent)
    try:
        return place_at(fd, src.name, dest_root, rel)
    finally:
        os.close(fd)


def hardlinks_protected() -> bool | None:
    """Linux's fs.protected_hardlinks (None where there is no such setting)."""
    try:
        return Path("/proc/sys/fs/protected_hardlinks").read_text().strip() != "0"
    except OSError:
        return None
