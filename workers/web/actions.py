"""The writes the server offers, each through the code the CLI runs for it: uploads go
through the one intake (`workers.intake.ingest_paths`, like the watcher's files and
`docflow ingest`), retries through `docflow retry`'s `retry_document`, entity rules through
`docflow entities alias|merge|block` (`tasks.entities.config`)."""

from __future__ import annotations

import threading

import structlog

from tasks.errors import ConfigError, PermanentError
from workers.commands import point_app_at, resolve_id
from workers.web.errors import Unavailable
from workers.web.schemas import RetryOut, RuleIn, RuleOut, UploadOut
from workers.web.state import WebState
from workers.web.uploads import Upload, staged

log = structlog.get_logger("docflow.web")
NO_BROKER_HINT = "start `docflow up` on this data dir, or set DOCFLOW_BROKER_URL for the server"


class BadRule(PermanentError):
    """An entity rule that cannot be written (empty, a cycle, the same name twice)."""


class Rejected(PermanentError):
    """An uploaded file that the intake could not take (its reason is the message)."""


_repoint = threading.Lock()


def _use_broker(state: WebState) -> str:
    """The broker to publish to, the Celery app pointed at it.

    The server lives longer than one `docflow up` (a restarted stack's embedded Redis has
    another port): when the URL changed, the connection pools made for the old one are
    dropped, as Celery does after a fork.
    """
    from workers.app import app as celery_app

    url = state.settings.resolved_broker_url()
    if url is None:
        raise Unavailable("no broker to send work to", hint=NO_BROKER_HINT)
    with _repoint:
        if celery_app.conf.broker_url != url:
            celery_app._after_fork()  # forget pools bound to the old broker
            point_app_at(url)
    return url


def status_url(doc_id: str) -> str:
    return f"/api/documents/{doc_id}"


def take_upload(state: WebState, upload: Upload) -> UploadOut:
    """Record the upload's articles through the intake, then publish their ids."""
    from workers.batch_publish import BatchSender
    from workers.intake import ingest_paths

    url = _use_broker(state)
    store = state.store
    with staged(state.settings.data_path, upload.name, upload.data) as path:
        sender = BatchSender.from_settings(state.settings, broker_url=url)
        intake = ingest_paths(store, state.settings, [path], sender)
    entry = intake.files[0] if intake.files else {}
    parts = entry.get("errors")
    listed = [str(e) for e in parts] if isinstance(parts, list) else []
    errors = [e for e in [str(entry.get("error") or ""), *listed] if e]
    if not intake.doc_ids:
        raise Rejected(
            f"{upload.name}: {'; '.join(errors) or 'no article in it'}",
            hint="check the file's format (see Formats in the README); it is listed by "
            "`docflow failed`",
        )
    first = intake.doc_ids[0]
    log.info("upload_taken", source=upload.name, documents=len(intake.doc_ids))
    return UploadOut(
        id=first,
        ids=intake.doc_ids,
        duplicate=not intake.new_ids,
        status_url=status_url(first),
        source=upload.name,
        queued=not intake.unsent and not intake.publish_error,
        errors=errors,
    )


def retry(state: WebState, ident: str) -> RetryOut:
    """Run a failed document again from the stage that failed (Rejected if not failed)."""
    from workers.commands.ops import retry_document

    store = state.store
    doc_id = resolve_id(store, ident)
    _use_broker(state)
    stage = retry_document(store, doc_id)
    if stage is None:
        status = store.get_document(doc_id).status.value
        raise Rejected(f"document {doc_id} is {status}, not failed", hint="only failed ones")
    log.info("retry_requested", doc_id=doc_id, stage=stage.value)
    return RetryOut(id=doc_id, from_stage=stage.value, status_url=status_url(doc_id))


def write_rule(state: WebState, rule: RuleIn) -> RuleOut:
    """Add an alias, merge, relabel or block rule to the user's entities file."""
    from tasks.entities.config import add_rule

    path = state.settings.entities_path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        done = add_rule(path, rule.kind, rule.name, rule.other)
    except (ConfigError, ValueError) as exc:
        message = exc.message if isinstance(exc, ConfigError) else str(exc)
        raise BadRule(message, hint="fix the names and send the rule again") from exc
    log.info("entity_rule_added", kind=rule.kind)
    from workers.commands.entities import REPROCESS_HINT

    return RuleOut(file=str(path), message=f"{done}; {REPROCESS_HINT}")
