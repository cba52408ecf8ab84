"""Operations: migrate, recover, retry, reprocess."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from tasks.models import DocumentRecord, Stage, Status
from tasks.store import Store
from workers.cli_app import app
from workers.commands import point_app_at, require_broker, resolve_id, setup, store_for
from workers.output import console, print_json

if TYPE_CHECKING:  # the tagger (spaCy) is imported only by the commands that tag
    from tasks.relink import Relink

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
    model: Annotated[
        bool,
        typer.Option("--model", help="tag: run the model again even where its kept spans do"),
    ] = False,
    collection: Annotated[
        bool,
        typer.Option(
            "--collection",
            help="tag: re-check every indexed document against the collection's label "
            "evidence as it is now (from the kept spans; the model runs only where it would "
            "anyway)",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would change; change nothing")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Run a stage again on stored documents, after an entity-file edit or a model change.

    Without ids, only documents whose tags were made by another tagger version are redone
    (or all of them with --all). For tag, a document tagged by the same model keeps the
    model's spans: the rules and the collection's evidence alone redo it here and now (no
    model, no broker, seconds for thousands); the others go through the pipeline again (a
    broker is needed). A document whose mentions come out the same and whose tags are
    current is left as it is. --collection re-checks every indexed document (the
    collection learns as documents arrive, so an early one may now be outvoted); applying
    it twice changes nothing the second time.
    """
    try:
        chosen = Stage(stage)
    except ValueError:
        raise typer.BadParameter("choose parse or tag", param_hint="--stage") from None
    if chosen not in (Stage.parse, Stage.tag):
        raise typer.BadParameter("choose parse or tag", param_hint="--stage")
    if collection and (chosen is not Stage.tag or model):
        raise typer.BadParameter(
            "re-checks tags from the kept spans: --stage tag, without --model",
            param_hint="--collection",
        )
    settings = setup()
    store = store_for(settings)
    docs = _outdated(store, chosen, ids, all_docs or collection)
    relinks: list[Relink] = []
    checked = 0
    if chosen is Stage.tag and not model:
        from tasks.relink import plan_relinks
        from workers.resources import get_tagger

        tagger = get_tagger()
        version = tagger.version
        relinks, docs = plan_relinks(store, tagger, docs)
        checked = len(relinks)
        # the same mentions under the current version: nothing to write
        relinks = [r for r in relinks if r.changed or r.doc.tag_version != version]
        if collection and not (ids or all_docs):  # the model only where it is outdated
            docs = [d for d in docs if d.tag_version != version]
    changed = [r.doc.id for r in relinks if r.changed]
    said = _Said(chosen, checked if collection else None, json_out)
    if dry_run:
        said.say([r.doc.id for r in relinks], changed, docs, dry=True)
        return
    if relinks:
        lost = [r.doc for r in relinks if not store.relink(r.doc.id, r.mentions, version)]
        relinks = [r for r in relinks if r.doc not in lost]
        changed = [r.doc.id for r in relinks if r.changed]
        docs += lost  # a stage started on them meanwhile: the pipeline redoes them
    if docs:
        from workers.publish import enqueue_chain

        point_app_at(require_broker(settings))
        for doc in docs:
            store.reset_to(doc.id, BEFORE[chosen])
            enqueue_chain(doc.id, doc.trace_id, chosen)
    said.say([r.doc.id for r in relinks], changed, docs, dry=False)


def _outdated(
    store: Store, stage: Stage, ids: list[str] | None, all_docs: bool
) -> list[DocumentRecord]:
    """The named documents, or the indexed ones whose tags another tagger version made."""
    if ids:
        return [store.get_document(resolve_id(store, i)) for i in ids]
    if stage is not Stage.tag or all_docs:
        return list(store.iter_documents(Status.indexed))
    from workers.resources import get_tagger

    current = get_tagger().version
    return [d for d in store.iter_documents(Status.indexed) if d.tag_version != current]


@dataclass(frozen=True)
class _Said:
    """How reprocess reports: its stage, how many documents the collection re-checked
    (None: not asked), and JSON or text."""

    stage: Stage
    checked: int | None
    json_out: bool

    def say(
        self, relinked: list[str], changed: list[str], queued: list[DocumentRecord], dry: bool
    ) -> None:
        """What reprocess did (or, dry, would do): rules only, and the pipeline again."""
        again = [d.id for d in queued]
        if self.json_out:
            out: dict[str, object] = {
                "stage": self.stage.value,
                "dry_run": dry,
                "documents": relinked + again,
                "relinked": relinked,
                "changed": changed,
                "queued": again,
            }
            if self.checked is not None:
                out["checked"] = self.checked
            print_json(out)
            return
        if self.checked is not None:
            console.print(
                f"collection: {self.checked} indexed documents re-checked from their kept"
                f" spans, {len(changed)} {'would change' if dry else 'changed'}"
            )
        if relinked:
            done = "would be redone" if dry else "redone"
            console.print(
                f"rules only (the model's kept spans): {len(relinked)} documents {done},"
                f" {len(changed)} with other entities"
            )
            for doc_id in changed if dry else []:
                console.print(f"  {doc_id}")
        if again or not (relinked or self.checked):
            runs = "would run" if dry else "re-running"
            console.print(
                f"{runs} {self.stage.value} on {len(again)} documents through the pipeline"
            )
