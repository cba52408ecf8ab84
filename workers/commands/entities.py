"""`docflow entities` (list, alias, merge, relabel, block) and `docflow eval`.

`docflow entities review` lives in `workers.commands.entities_review`; the group itself and
`write_rule` are shared from `workers.commands`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from workers.cli_app import app
from workers.commands import DECISIONS_FILE, entities_app, setup, store_for, write_rule
from workers.commands import REPROCESS_HINT as REPROCESS_HINT  # workers.web.actions reads it
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
        Path | None,
        typer.Option(
            "--conll",
            exists=True,
            dir_okay=False,
            help="CoNLL-2003 file: -DOCSTART- documents, BIO tags",
        ),
    ] = None,
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed",
            help="score against your `docflow entities review` decisions instead, read from "
            "PATH (default: entities-reviewed.jsonl in the data dir)",
        ),
    ] = False,
    path: Annotated[
        Path | None,
        typer.Argument(
            metavar="PATH",
            dir_okay=False,
            help="with --reviewed: the decisions file (default: entities-reviewed.jsonl in the "
            "data dir)",
        ),
    ] = None,
    collection: Annotated[
        bool,
        typer.Option(
            "--collection/--alone",
            help="with --conll: tag the file's documents as one collection (each weak name "
            "follows what the other documents say, as after `reprocess --collection`), or "
            "each document alone",
        ),
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Score the tagger: on CoNLL data, or against your review decisions.

    **--conll FILE**: per-label and micro P/R/F1, raw model vs docflow.

    **--reviewed [PATH]**: each decision of `docflow entities review` (accept, relabel,
    block, merge, alias; the last one about each name) is gold, checked against the rules
    as they are now (entities.toml included) re-applied to the model's kept spans of every
    indexed document: the model does not run, nothing is written. Prints, per decision kind
    and overall, how many decisions the output agrees with, and lists the others with what
    the tagger says now.
    """
    from workers.resources import get_tagger

    if conll is not None and reviewed:
        raise typer.BadParameter("give --conll FILE or --reviewed, not both", param_hint="--conll")
    if path is not None and not reviewed:
        raise typer.BadParameter("PATH is the decisions file of --reviewed", param_hint="PATH")
    if conll is None and not reviewed:
        raise typer.BadParameter(
            "give --conll FILE (annotated text) or --reviewed (your review decisions)",
            param_hint="--conll / --reviewed",
        )
    settings = setup(logs=False)
    if reviewed:
        from workers.tools.reviewed import evaluate_reviewed, score_reviewed
        from workers.tools.reviewed_gold import read_decisions

        gold = read_decisions(path or settings.data_path / DECISIONS_FILE)
        if gold.decisions:  # the store and the rules are read only when there is gold
            scored = evaluate_reviewed(gold, store_for(settings, read_only=True), get_tagger())
        else:
            scored = score_reviewed(gold, ())
        _print_report(scored.to_dict(), scored.format_table(), json_out)
        return
    from workers.tools.evaluate import evaluate_conll

    assert conll is not None
    report = evaluate_conll(conll, get_tagger(), collection=collection)
    _print_report(report.to_dict(), report.format_table(), json_out)


def _print_report(data: dict[str, Any], table: str, json_out: bool) -> None:
    if json_out:
        print_json(data)
    else:
        console.print(table, markup=False, soft_wrap=True)
