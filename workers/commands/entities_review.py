"""`docflow entities review`: the entities most likely wrong, one key per decision.

Ranking is `tasks.entities.review.rank` (pure); this module reads the store, asks, writes the
rules with the same `write_rule` the alias/merge/relabel/block commands use, and logs each
decision but skip and quit to `<data dir>/entities-reviewed.jsonl` (gold for `docflow eval
--reviewed`).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.markup import escape

from tasks.errors import ConfigError
from workers.commands import DECISIONS_FILE, entities_app, setup, store_for, write_rule
from workers.output import console, print_json

#: how many stored entities are ranked (most documents first)
SCAN_LIMIT = 100_000
KEYS = "[a]ccept  [m]erge  a[l]ias  [r]elabel  [b]lock  [s]kip  [q]uit"
DECISIONS = {
    "a": "accept",
    "m": "merge",
    "l": "alias",
    "r": "relabel",
    "b": "block",
    "s": "skip",
    "q": "quit",
}

if TYPE_CHECKING:  # the ranking (rapidfuzz, numpy) is imported when `review` runs
    from tasks.entities.review import Suspect


def _read_key() -> str:
    """One key: a keypress on a terminal, else the first letter of a line ('q' at the end)."""
    if sys.stdin.isatty():
        return click.getchar().lower()
    line = sys.stdin.readline()
    return line.strip()[:1].lower() if line else "q"


def _ask(question: str) -> str:
    """A line of text from the user ('' at the end of the input)."""
    console.print(question, end="")
    return sys.stdin.readline().strip()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _show(index: int, total: int, suspect: Suspect) -> None:
    """Print one suspect: name, label, counts, reasons and the suggestion."""
    e = suspect.entity
    console.print(
        f"\n[bold]{index}/{total}  {escape(e.name)}[/]  {e.label}  "
        f"{_count(e.documents, 'document')}, {_count(e.mentions, 'mention')}  "
        f"(score {suspect.score:g})"
    )
    for reason in suspect.reasons:
        console.print(f"  - {escape(reason)}")
    action, target = suspect.suggestion
    if action == "block":
        hint = "block (the name is never stored again, under any label)"
    elif action == "merge":
        hint = f"merge into {escape(repr(target))}"
    else:
        hint = f"relabel as {target}"
    console.print(f"  suggested: {hint}")


def _rule_for(decision: str, suspect: Suspect) -> tuple[str, str | None] | None:
    """The rule a decision writes: (kind, its target), or None if nothing to write."""
    if decision == "block":
        return "block", None
    suggested = suspect.target if suspect.action == decision and suspect.target else ""
    question = {
        "merge": "  merge into (canonical name, empty to skip): ",
        "relabel": "  relabel as (GPE, ORG, PERSON, ...; empty to skip): ",
        "alias": "  store it under (canonical name, empty to skip): ",
    }.get(decision)
    if question is None:
        return None
    target = suggested or _ask(question)
    return (decision, target) if target else None


def _record(path: Path, suspect: Suspect, decision: str, target: str | None) -> None:
    """Append one decision as a JSON line (gold data for later)."""
    e = suspect.entity
    line = {
        "id": e.id,
        "name": e.name,
        "label": e.label,
        "decision": decision,
        "target": target or None,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")


def _decide(suspect: Suspect, log: Path) -> tuple[bool, bool]:
    """Ask about one suspect and act: (a rule was written, the user quit)."""
    while (key := _read_key()) not in DECISIONS:
        console.print(f"\n  {escape(KEYS)} > ", end="")
    decision = DECISIONS[key]
    console.print(decision)
    if decision in ("skip", "quit"):
        return False, decision == "quit"
    if decision == "accept":
        _record(log, suspect, decision, None)
        return False, False
    rule = _rule_for(decision, suspect)
    if rule is None:
        console.print("  skipped")
        return False, False
    kind, target = rule
    # an alias stores the suspect's spelling under the name typed: the typed name leads
    name, other = (
        (target or "", suspect.entity.name) if kind == "alias" else (suspect.entity.name, target)
    )
    try:
        write_rule(kind, name, other, hint=False)
    except ConfigError as exc:
        console.print(f"  [red]not written:[/] {escape(str(exc))}")
        return False, False
    _record(log, suspect, decision, target)
    return True, False


def _review(suspects: list[Suspect], log: Path) -> None:
    """The interactive loop over the suspects, then a one-line summary."""
    written = 0
    console.print(f"{_count(len(suspects), 'suspect')} to review; keys: {escape(KEYS)}")
    for index, suspect in enumerate(suspects, 1):
        _show(index, len(suspects), suspect)
        console.print(f"  {escape(KEYS)} > ", end="")
        wrote, quit_ = _decide(suspect, log)
        written += wrote
        if quit_:
            break
    tail = "; `docflow reprocess --stage tag` applies them to documents already stored"
    summary = f"\n{_count(written, 'rule')} written; decisions logged to {log}{tail}"
    console.print(summary, soft_wrap=True)


@entities_app.command()
def review(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="suspects to show")] = 20,
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="only entities of this label")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the ranked suspects as JSON, ask nothing")
    ] = False,
) -> None:
    """Review the entities most likely wrong, one key each.

    Ranked by: the same name under two labels, near-duplicate spellings, lower-case or
    pronoun-like names, places tagged PERSON (a single mention adds a little).
    Keys: **a** accept (it is right), **m** merge (into the suggested entity, or asks),
    **l** alias (asks the canonical name), **r** relabel (as suggested, or asks), **b** block,
    **s** skip, **q** quit. Merge, alias, relabel and block write the rules file like
    `docflow entities merge/alias/relabel/block`; every decision but skip and quit is logged
    to `<data dir>/entities-reviewed.jsonl` (`docflow eval --reviewed` scores against it).
    Run `docflow reprocess --stage tag` afterwards to apply the rules.
    """
    from tasks.entities.review import rank

    settings = setup(logs=False)
    rows = store_for(settings, read_only=True).entities(label=None, limit=SCAN_LIMIT)
    suspects = rank(rows)
    if label:
        suspects = [s for s in suspects if s.entity.label == label.upper()]
    suspects = suspects[:limit]
    if json_out:
        print_json([s.to_dict() for s in suspects])
        return
    _review(suspects, settings.data_path / DECISIONS_FILE)
