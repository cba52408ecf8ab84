"""Markdown block lines read without regular expressions that could backtrack.

An ATX heading (``## Title ##``) and a table's delimiter row (``| --- | :-: |``) were
regexes with overlapping repetitions (``[ \\t]+(.*?)(?:[ \\t]+#+)?`` and ``\\s*\\|?\\s*``
around repeated cells): a long line of the right shape cost quadratic or exponential
time. These are plain string scans, linear in the line.
"""

from __future__ import annotations

import re

#: one cell of a table's delimiter row: dashes, optionally colon-aligned
_RULE_CELL = re.compile(r":?-{2,}:?")


def atx_heading(line: str) -> tuple[int, str] | None:
    """(level, text) for an ATX heading line (``# Title``, ``### Part ###``), else None."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    level = len(stripped) - len(stripped.lstrip("#"))
    rest = stripped[level:]
    if not 1 <= level <= 6 or (rest and rest[0] not in " \t"):
        return None
    text = rest.strip(" \t")
    unclosed = text.rstrip("#")
    if unclosed != text and (not unclosed or unclosed[-1] in " \t"):
        text = unclosed.rstrip(" \t")  # an optional closing run of #s
    return level, text


def is_table_rule(line: str) -> bool:
    """True for a table's delimiter row: ``|---|:--:|``, ``--- | ---`` (cells of 2+ dashes)."""
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") else row
    cells = row.split("|")
    return all(_RULE_CELL.fullmatch(cell.strip()) for cell in cells)
