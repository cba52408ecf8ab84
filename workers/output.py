"""Printing for the CLI: JSON for machines, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = 2) -> None:
    """Print `docflow: error: ...` and exit."""
    err_console.print(f"[bold red]docflow: error:[/] {message}", markup=True, soft_wrap=True)
    raise SystemExit(code)


def highlight(snippet: str) -> str:
    """A search snippet (HTML: escaped text, <mark> highlights) as rich markup."""
    import html

    from rich.markup import escape

    pieces = re.split(r"(</?mark>)", snippet)
    marks = {"<mark>": "[bold yellow]", "</mark>": "[/]"}
    return "".join(marks.get(p) or escape(html.unescape(p)) for p in pieces)
