"""Operations: migrate, recover, retry, reprocess."""

from __future__ import annotations

from typing import Annotated

import typer

from tasks.models import Stage, Status
from tasks.store import Store
from workers.cli_app import app
from workers.commands import point_app_at, require_broker, resolve_id, setup, store_for
from workers.output import console, print_json

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
#: where a document goes back to so that a stage runs again
BEFORE: dict[Stage, Status] = {
    Stage.parse: Status.received,
    Stage.tag: Status.parsed,
    Stage.index: Status.tagged,
}


def retry_document(store: Store, doc_id: str) -> Stage | None:
    """Send a failed document again from the stage that failed (the Celery app must point
    at the broker); None, and nothing done, if it is not failed. `docflow retry` and the
    web server's retry both call this."""
    from workers.publish import enqueue_chain

    doc = store.get_document(doc_id)
    if doc.status is not Status.failed:
        return None
    stage = Stage(doc.stage) if doc.stage in BEFORE else Stage.parse
    store.reset_to(doc_id, BEFORE[stage])
    enqueue_chain(doc_id, doc.trace_id, stage)
    return stage


@app.command()
def migrate() -> None:
    """Bring the store's schema up to date (workers also do this when they start)."""
    from tasks.store import open_store

    settings = setup()
    store = open_store(settings.store, migrate=False)
    console.print(f"schema version {store.migrate()}")


@app.command()
def recover(
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            help="seconds a document must have been idle (default DOCFLOW_STUCK_AFTER_S)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="re-enqueue even when the stage's queue is not empty")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Re-enqueue documents stuck in a non-final state (lost messages, killed workers)."""
    from workers.recovery import recover_once

    settings = setup()
    url = require_broker(settings)
    point_app_at(url)
    resent = recover_once(url, settings, force=force, older_than_s=older_than, lock=False)
    if json_out:
        print_json({"recovered": resent})
    else:
        console.print(f"re-enqueued {len(resent)} documents")


@app.command()
def retry(
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...", help="document ids")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="every failed document")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run failed documents again from the stage that failed."""
    if not ids and not all_failed:
        raise typer.BadParameter("give document ids or --all-failed")
    settings = setup()
    store = store_for(settings)
    point_app_at(require_broker(settings))
    targets = (
        [d.id for d in store.failed_documents()]
        if all_failed
        else [resolve_id(store, i) for i in ids or []]
    )
    sent = []
    for doc_id in targets:
        stage = retry_document(store, doc_id)
        if stage is None:
            status = store.get_document(doc_id).status.value
            console.print(f"{doc_id}: {status}, not failed; left alone")
            continue
        sent.append({"id": doc_id, "from_stage": stage.value})
    if json_out:
        print_json(sent)
    else:
        console.print(f"retrying {len(sent)} documents")


@app.command()
def reprocess(
    ids: Annotated[list[str] | None, typer.Argument(metavar="[ID]...")] = None,
    stage: Annotated[
        str, typer.Option("--stage", help="the stage to run again: parse or tag")
    ] = "tag",
    all_docs: Annotated[
        bool, typer.Option("--all", help="every document, not only those whose output is outdated")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run a stage again on stored documents, after an entity-file edit or a model change.

    Without ids, only documents whose tags were made by another tagger version are redone
    (or all of them with --all).
    """
    from workers.publish import enqueue_chain
    from workers.resources import get_tagger

    try:
        chosen = Stage(stage)
    except ValueError:
        raise typer.BadParameter("choose parse or tag", param_hint="--stage") from None
    if chosen not in (Stage.parse, Stage.tag):
        raise typer.BadParameter("choose parse or tag", param_hint="--stage")
    settings = setup()
    store = store_for(settings)
    point_app_at(require_broker(settings))
    if ids:
        docs = [store.get_document(resolve_id(store, i)) for i in ids]
    else:
        current = get_tagger().version if chosen is Stage.tag and not all_docs else None
        docs = [
            d
            for d in store.iter_documents(Status.indexed)
            if current is None or d.tag_version != current
        ]
    for doc in docs:
        store.reset_to(doc.id, BEFORE[chosen])
        enqueue_chain(doc.id, doc.trace_id, chosen)
    if json_out:
        print_json({"stage": chosen.value, "documents": [d.id for d in docs]})
    else:
        console.print(f"re-running {chosen.value} on {len(docs)} documents")
