"""The one intake for files handed to docflow by a command: record first, then publish ids.

`docflow run` and `docflow ingest` (and anything later that takes files) call
`ingest_paths`: each file is read and split into articles (a file that cannot be taken is
recorded as rejected, alone), and the articles of up to GROUP_FILES files are recorded in
the store (status `received`) in ONE transaction (`tasks.ingest.record_files`) before
anything is published. The new documents then go out as batch messages
(`workers.batch_publish.BatchSender`): flushed whenever enough is pending to give every
parse consumer a full batch (so a 10,000-file ingest starts work early) and at the end.
Messages carry only ids. Nothing exists only inside a broker message, so a broker that
loses its messages (a Redis restart without persistence) loses no document: the recovery
sweep finds the `received` ones in the store and sends them again. The watcher follows
the same rule (workers/watcher.py).

If publishing fails (the broker went away), the documents stay recorded, the rest of the
files are still recorded, and the ids not sent are returned: the sweep sends them later.
A store outage raises (RetryableError); what was recorded before it stays recorded.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from kombu.exceptions import OperationalError

from tasks.errors import ConfigError, PermanentError, RetryableError
from tasks.ingest import PreparedFile, display_name, prepare_file, record_files
from tasks.models import IngestResult
from tasks.store import Store
from workers.files import iter_files, read_file
from workers.settings import Settings

if TYPE_CHECKING:
    from workers.batch_publish import BatchSender

log = structlog.get_logger("docflow.intake")

#: at most this many files are recorded in one store transaction
GROUP_FILES = 64


@dataclass
class Intake:
    """What became of the files given to one command."""

    doc_ids: list[str] = field(default_factory=list)  # new and duplicate documents
    new_ids: list[str] = field(default_factory=list)
    rejected: int = 0  # files rejected whole or in part
    unsent: list[str] = field(default_factory=list)  # recorded, chain not published yet
    files: list[dict[str, object]] = field(default_factory=list)
    publish_error: str = ""
    messages: int = 0  # messages published (a batch of documents is one)

    def reject(self, store: Store, source: str, error: str) -> None:
        store.record_rejected(source, error)
        log.warning("file_rejected", source=source, error=error)
        self.rejected += 1
        self.files.append({"source": source, "documents": [], "error": error})

    def recorded(self, result: IngestResult) -> None:
        self.rejected += bool(result.errors)
        self.doc_ids.extend(result.new_ids + result.duplicate_ids)
        self.new_ids.extend(result.new_ids)
        self.files.append(
            {
                "source": result.source,
                "documents": result.new_ids,
                "duplicates": result.duplicate_ids,
                "errors": result.errors,
            }
        )


def ingest_paths(
    store: Store, settings: Settings, paths: list[Path], sender: BatchSender | None = None
) -> Intake:
    """Record every file's articles in the store (in groups), then publish ids in batches.

    Store outages raise (RetryableError: nothing is published for a file not recorded);
    a broker outage stops publishing, not recording (see the module docstring).
    """
    from workers.batch_publish import BatchSender  # the Celery app loads only here

    intake = Intake()
    sender = sender or BatchSender.from_settings(settings)
    host = socket.gethostname()
    group: list[PreparedFile] = []
    for path in iter_files(paths):
        try:
            data = read_file(path, settings.max_file_bytes)
            group.append(prepare_file(path.name, data, max_bytes=settings.max_file_bytes))
        except PermanentError as exc:
            intake.reject(store, display_name(path.name), exc.describe())
            continue
        if len(group) >= GROUP_FILES:
            _record(store, group, host, intake, sender)
            group = []
            if sender.burst_ready():
                _flush(sender, intake, more_coming=True)
    if group:
        _record(store, group, host, intake, sender)
    _flush(sender, intake)
    return intake


def _record(
    store: Store, group: list[PreparedFile], host: str, intake: Intake, sender: BatchSender
) -> None:
    """One transaction for the group; if it fails for anything but the store, each file
    alone (so a file the store refuses is rejected without its group-mates)."""
    try:
        results = record_files(store, group, worker=host)
    except RetryableError:
        raise
    except Exception as exc:
        if len(group) == 1:
            if not isinstance(exc, PermanentError):
                raise
            intake.reject(store, group[0].source, exc.describe())
            return
        log.warning("group_split", files=len(group), error=f"{type(exc).__name__}: {exc}")
        for prepared in group:
            _record(store, [prepared], host, intake, sender)
        return
    for result in results:
        intake.recorded(result)
        sender.add(result)


def _flush(sender: BatchSender, intake: Intake, *, more_coming: bool = False) -> None:
    """Publish what is pending; after a broker error, nothing more is tried (see above)."""
    if intake.publish_error:
        intake.unsent.extend(p.doc_id for p in sender.pending)
        sender.pending.clear()
        return
    try:
        intake.messages += len(sender.flush(more_coming=more_coming))
    except ConfigError:
        raise
    except (OperationalError, RetryableError, OSError) as exc:
        intake.publish_error = f"{type(exc).__name__}: {exc}"
        intake.unsent.extend(p.doc_id for p in sender.pending)
        log.warning(
            "publish_failed",
            documents=len(sender.pending),
            error=intake.publish_error,
            action="documents stay recorded; the recovery sweep sends them",
        )
        sender.pending.clear()
