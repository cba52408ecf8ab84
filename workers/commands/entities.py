"""`docflow entities` (list, alias, merge, relabel, block) and `docflow eval`.

`docflow entities review` lives in `workers.commands.entities_review`; the group itself and
`write_rule` are shared from `workers.commands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from workers.cli_app import app
from workers.commands import REPROCESS_HINT as REPROCESS_HINT  # workers.web.actions reads it
from workers.commands import entities_app, setup, store_for, write_rule
from workers.output import console, print_json

app.add_typer(entities_app, name="entities")


@entities_app.callback()
def entities(
    ctx: typer.Context,
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="PERSON, GPE, ORG, ...")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1)] = 50,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Canonical entities, most documents first (or a sub-command to edit the rules)."""
    if ctx.invoked_subcommand is not None:
        return
    store = store_for(setup(logs=False), read_only=True)
    rows = store.entities(label=label, limit=limit)
    if json_out:
        print_json([r.model_dump() for r in rows])
        return
    table = Table("name", "label", "docs", "mentions", "aliases", "id")
    for r in rows:
        table.add_row(
            escape(r.name),
            r.label,
            str(r.documents),
            str(r.mentions),
            escape(", ".join(r.aliases[:6])),
            escape(r.id),
        )
    console.print(table)


@entities_app.command()
def alias(
    name: Annotated[str, typer.Argument(help="the canonical name, e.g. 'Recep Tayyip Erdoğan'")],
    other: Annotated[str, typer.Argument(metavar="ALIAS", help="another spelling, e.g. 'Tayyip'")],
) -> None:
    """Store mentions spelled ALIAS under NAME."""
    write_rule("alias", name, other)


@entities_app.command()
def merge(
    a: Annotated[str, typer.Argument(metavar="A", help="the entity to merge away")],
    b: Annotated[str, typer.Argument(metavar="B", help="the entity that stays")],
) -> None:
    """Merge entity A into entity B (by canonical name)."""
    write_rule("merge", a, b)


@entities_app.command()
def relabel(
    name: Annotated[str, typer.Argument(help="a mention's text or canonical name, e.g. 'Kyiv'")],
    label: Annotated[str, typer.Argument(help="the label it always has: GPE, ORG, PERSON, ...")],
) -> None:
    """Give every mention named NAME the label LABEL (the model's or the rules' aside)."""
    write_rule("relabel", name, label)


@entities_app.command()
def block(name: Annotated[str, typer.Argument(help="a name never to store as an entity")]) -> None:
    """Never store NAME as an entity (e.g. a news agency's name in every byline)."""
    write_rule("block", name)


@app.command("eval")
def evaluate(
    conll: Annotated[
        Path,
        typer.Option(
            "--conll",
            exists=True,
            dir_okay=False,
            help="CoNLL-2003 file: -DOCSTART- documents, BIO tags",
        ),
    ],
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score the tagger on CoNLL data: per-label and micro P/R/F1, raw model vs docflow."""
    from workers.resources import get_tagger
    from workers.tools.evaluate import evaluate_conll

    setup(logs=False)
    report = evaluate_conll(conll, get_tagger())
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(report.format_table())
