"""The user's review decisions, read as gold (`<data dir>/entities-reviewed.jsonl`).

What each decision means as gold, and how the output is judged against it, is in
`workers.tools.reviewed`. This module only reads the file: one JSON object a line, the
last decision about a name replacing earlier ones; a line that is no decision is
reported with its file and line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.entities.normalize import match_key
from tasks.errors import DocflowError

#: the decisions that are gold, in the order reports list them
KINDS = ("accept", "relabel", "block", "merge", "alias")
#: logged decisions that say nothing about the entity
NO_GOLD = frozenset({"skip", "quit"})
#: decisions whose `target` is required (relabel: a label; merge, alias: a canonical name)
NEEDS_TARGET = frozenset({"relabel", "merge", "alias"})


class ReviewedFormatError(DocflowError):
    """The review decisions file is missing, unreadable, or has a line that is no decision."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One review decision about a name (see the module docstring for what it means)."""

    name: str
    kind: str
    label: str | None = None
    target: str | None = None
    line: int = 0

    @property
    def key(self) -> str:
        return match_key(self.name)

    def describe(self) -> str:
        """The decision in words: `relabel ORG -> GPE`, `merge into 'Volodymyr Zelensky'`."""
        if self.kind == "accept":
            return f"accept {self.label}"
        if self.kind == "relabel":
            return f"relabel {self.label or '?'} -> {self.target}"
        if self.kind == "block":
            return "block"
        return f"{'merge into' if self.kind == 'merge' else 'alias of'} {self.target!r}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "decision": self.kind,
            "label": self.label,
            "target": self.target,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class ReviewedGold:
    """The decisions that count (the last one per name, in file order) and what was left out."""

    source: str
    decisions: tuple[Decision, ...]
    superseded: int = 0
    ignored: int = 0


def _bad(source: str, number: int, message: str) -> ReviewedFormatError:
    return ReviewedFormatError(
        f"{source}:{number}: {message}",
        hint=f"fix or delete line {number}: each line holds one decision as `docflow entities "
        'review` writes it, e.g. {"name": "Kyiv", "label": "ORG", "decision": "relabel", '
        '"target": "GPE"}',
    )


def _text(record: dict[str, Any], field_name: str) -> str | None:
    """A field's value, stripped; None when absent, null or blank; ValueError if not text."""
    value = record.get(field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{field_name!r} must be text, got {json.dumps(value)}")
    return value.strip() or None


def _decision(line: str, number: int, source: str) -> Decision | None:
    """The decision on one line; None for a decision that is no gold (skip, quit)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _bad(source, number, f"not JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(record, dict):
        raise _bad(source, number, "not a JSON object")
    try:
        kind, name = _text(record, "decision"), _text(record, "name")
        label, target = _text(record, "label"), _text(record, "target")
    except ValueError as exc:
        raise _bad(source, number, str(exc)) from None
    if kind in NO_GOLD:
        return None
    if kind not in KINDS:
        known = ", ".join((*KINDS, *sorted(NO_GOLD)))
        raise _bad(source, number, f"unknown decision {kind!r} (known: {known})")
    if name is None:
        raise _bad(source, number, f"a {kind} decision needs the entity's 'name'")
    if kind == "accept" and label is None:
        raise _bad(source, number, "an accept decision needs the 'label' it accepts")
    if kind in NEEDS_TARGET and target is None:
        wanted = "the new label" if kind == "relabel" else "the canonical name"
        raise _bad(source, number, f"a {kind} decision needs a 'target' ({wanted})")
    if kind == "relabel" and target is not None:
        target = target.upper()
    label = label.upper() if label else None
    return Decision(name=name, kind=kind, label=label, target=target, line=number)


def parse_decisions(content: str, source: str = "<decisions>") -> ReviewedGold:
    """The gold in a decisions file's text: the last decision per name counts."""
    latest: dict[str, Decision] = {}
    superseded = ignored = 0
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        decision = _decision(line, number, source)
        if decision is None:
            ignored += 1
            continue
        superseded += decision.key in latest
        latest[decision.key] = decision
    ordered = tuple(sorted(latest.values(), key=lambda d: d.line))
    return ReviewedGold(source, ordered, superseded=superseded, ignored=ignored)


def read_decisions(path: Path) -> ReviewedGold:
    """`parse_decisions` of a file; a missing or unreadable file is a ReviewedFormatError."""
    try:
        content = path.read_text(encoding="utf-8-sig")  # a BOM is no broken first line
    except FileNotFoundError:
        raise ReviewedFormatError(
            f"no review decisions at {path}",
            hint="`docflow entities review` writes them there; or give the file: "
            "docflow eval --reviewed PATH",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReviewedFormatError(f"{path}: cannot read the review decisions: {exc}") from exc
    return parse_decisions(content, str(path))
