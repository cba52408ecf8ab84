"""The `docflow` Typer app, alone: the command modules register on it, and it imports none of them.

`workers.cli` imports every command module (in the order `docflow --help` lists them) and
runs this app; a command module imports this one, never `workers.cli`, so no import circles.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="docflow",
    help="Drop articles in a folder; get them parsed, entity-tagged and searchable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a help paragraph wraps to the terminal, not the source
    context_settings={"help_option_names": ["-h", "--help"]},
)
