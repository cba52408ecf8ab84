"""The one intake for files handed to docflow by a command: record first, then publish ids.

`docflow run` and `docflow ingest` (and anything later that takes files) call
`ingest_paths`: each file is read, split into articles and every article recorded in the
store (status `received`) before anything is published; then each new document's chain
is started with a message that carries only its id. Nothing exists only inside a broker
message, so a broker that loses its messages (a Redis restart without persistence) loses
no document: the recovery sweep finds the `received` ones in the store and sends them
again. The watcher follows the same rule (workers/watcher.py).

A file that cannot be taken is recorded as rejected (`docflow failed`) with its reason.
If publishing fails (the broker went away), the documents stay recorded, the rest of the
files are still recorded, and the ids not sent are returned: the sweep sends them later.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from kombu.exceptions import OperationalError

from tasks.errors import ConfigError, PermanentError, RetryableError
from tasks.ingest import display_name, ingest_file
from tasks.store import Store
from workers.files import iter_files, read_file
from workers.settings import Settings

log = structlog.get_logger("docflow.intake")


@dataclass
class Intake:
    """What became of the files given to one command."""

    doc_ids: list[str] = field(default_factory=list)  # new and duplicate documents
    new_ids: list[str] = field(default_factory=list)
    rejected: int = 0  # files rejected whole or in part
    unsent: list[str] = field(default_factory=list)  # recorded, chain not published yet
    files: list[dict[str, object]] = field(default_factory=list)
    publish_error: str = ""


def ingest_paths(store: Store, settings: Settings, paths: list[Path]) -> Intake:
    """Record every file's articles in the store, then start their chains (ids only).

    Store outages raise (RetryableError: nothing is published for a file not recorded);
    a broker outage stops publishing, not recording (see the module docstring).
    """
    from workers.publish import start_chains

    intake = Intake()
    host = socket.gethostname()
    for path in iter_files(paths):
        source = display_name(path.name)
        try:
            result = ingest_file(
                store,
                path.name,
                read_file(path, settings.max_file_bytes),
                max_bytes=settings.max_file_bytes,
                worker=host,
            )
        except PermanentError as exc:
            store.record_rejected(source, exc.describe())
            log.warning("file_rejected", source=source, error=exc.describe())
            intake.rejected += 1
            intake.files.append({"source": source, "documents": [], "error": exc.describe()})
            continue
        intake.rejected += bool(result.errors)
        intake.doc_ids.extend(result.new_ids + result.duplicate_ids)
        intake.new_ids.extend(result.new_ids)
        intake.files.append(
            {
                "source": result.source,
                "documents": result.new_ids,
                "duplicates": result.duplicate_ids,
                "errors": result.errors,
            }
        )
        if intake.publish_error:
            intake.unsent.extend(result.new_ids)
            continue
        try:
            start_chains(result)
        except ConfigError:
            raise
        except (OperationalError, RetryableError, OSError) as exc:
            intake.publish_error = f"{type(exc).__name__}: {exc}"
            intake.unsent.extend(result.new_ids)
            log.warning(
                "publish_failed",
                source=result.source,
                error=intake.publish_error,
                action="documents stay recorded; the recovery sweep sends them",
            )
    return intake
