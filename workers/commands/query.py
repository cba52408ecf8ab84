"""Commands that only read the store: search, show, entities, export. No broker needed."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from tasks.models import DocumentRecord, Status
from tasks.search.request import MAX_PAGE, MAX_PER_PAGE, SearchRequest
from workers.cli_app import app
from workers.commands import resolve_id, setup, store_for
from workers.output import console, fail, highlight, print_json

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


# long only by its options: each declaration is an entry of `docflow search --help`
@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='words (all must match), "a phrase", a OR b, -excluded, prefix*; '
            "empty: list documents (newest first)"
        ),
    ] = "",
    entity: Annotated[
        str | None,
        typer.Option(
            "--entity", "-e", help="only documents mentioning this entity (id, name or alias)"
        ),
    ] = None,
    label: Annotated[
        str | None,
        typer.Option("--label", "-l", help="only documents with an entity of this label"),
    ] = None,
    date_from: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="published on or after this day"),
    ] = None,
    date_to: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="published on or before this day"),
    ] = None,
    dateline: Annotated[
        str | None, typer.Option("--dateline", help="the dateline's place, e.g. Brasilia")
    ] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="language code, e.g. en")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="text, markdown, html or json")
    ] = None,
    status: Annotated[
        Status | None,
        typer.Option("--status", help="with an empty query: list documents in this status"),
    ] = None,
    page: Annotated[int, typer.Option("--page", min=1, max=MAX_PAGE)] = 1,
    per_page: Annotated[
        int, typer.Option("--per-page", "--limit", "-n", min=1, max=MAX_PER_PAGE)
    ] = 10,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the page as JSON: hits, total and facets")
    ] = False,
) -> None:
    """Full-text search: best hits first, with highlighted snippets, a page at a time."""
    try:
        request = SearchRequest.model_validate(
            {
                "q": query,
                "entity": entity,
                "label": label,
                "date_from": date_from and date_from.date(),
                "date_to": date_to and date_to.date(),
                "dateline": dateline,
                "lang": lang,
                "format": fmt,
                "status": status,
                "page": page,
                "per_page": per_page,
                "facets": json_out,
            }
        )
    except ValidationError as exc:
        fail("; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
        return
    store = store_for(setup(logs=False), read_only=True)
    result = store.search_page(request)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    if not result.hits:
        more = f" on page {page}: there are {result.total}" if result.total else ""
        console.print(f"no documents match{more}")
        return
    first = request.offset + 1
    console.print(
        f"hits {first}-{first + len(result.hits) - 1} of {result.total}"
        f"  [dim](page {page} of {result.pages})[/]"
    )
    for hit in result.hits:
        console.print(f"[bold]{hit.id}[/]  {escape(hit.title)}  [dim]score {hit.score:.3g}[/]")
        console.print("   " + highlight(hit.snippet))


def export_record(doc: DocumentRecord) -> dict[str, Any]:
    """One document as an export line: the article and its entities."""
    article = doc.article
    return {
        "id": doc.id,
        "source": doc.source,
        "status": doc.status.value,
        "title": article.title if article else None,
        "published": article.published if article else None,
        "dateline": article.dateline if article else None,
        "headings": article.headings if article else [],
        "paragraphs": article.paragraphs if article else [],
        "language": article.language if article else None,
        "url": article.url if article else None,
        "metadata": article.metadata if article else {},
        "text": article.text if article else "",
        "entities": [
            {
                "text": m.text,
                "label": m.label,
                "start": m.start,
                "end": m.end,
                "canonical": m.canonical or m.text,
                "entity_id": m.entity_id,
            }
            for m in doc.mentions
        ],
    }


@app.command()
def show(
    ident: Annotated[
        str, typer.Argument(metavar="ID", help="document id (a unique prefix is enough)")
    ],
    json_out: JsonOpt = False,
) -> None:
    """One document: its status, article and entities."""
    store = store_for(setup(logs=False), read_only=True)
    doc = store.get_document(resolve_id(store, ident))
    record = export_record(doc)
    record.update(
        trace_id=doc.trace_id, attempts=doc.attempts, stage=doc.stage, last_error=doc.last_error
    )
    if json_out:
        print_json(record)
        return
    console.print(f"[bold]{doc.id}[/]  {escape(record['title'] or '(no title)')}")
    console.print(
        f"source {doc.source}  status {doc.status.value}  published {record['published']}"
        f"  dateline {record['dateline']}"
    )
    if doc.last_error:
        console.print(f"[red]error at {doc.stage}:[/] {escape(doc.last_error)}")
    for heading in record["headings"]:
        console.print(f"  § {escape(heading)}")
    console.print(f"{len(record['paragraphs'])} paragraphs")
    names: dict[tuple[str, str], int] = {}
    for m in doc.mentions:
        key = (m.canonical or m.text, m.label)
        names[key] = names.get(key, 0) + 1
    for (name, lab), n in sorted(names.items(), key=lambda kv: -kv[1]):
        console.print(f"  {lab:<12} {escape(name)} ×{n}")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
    all_docs: Annotated[
        bool, typer.Option("--all", help="include documents not yet indexed")
    ] = False,
) -> None:
    """Every indexed article as JSON Lines: structure, text and entities with offsets."""
    if fmt != "jsonl":
        raise typer.BadParameter("only jsonl is supported", param_hint="--format")
    store = store_for(setup(logs=False), read_only=True)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for doc in store.iter_documents(None if all_docs else Status.indexed):
            out.write(json.dumps(export_record(doc), ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
