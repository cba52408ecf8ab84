"""The `docflow` command: every sub-command lives in `workers/commands/`."""

from __future__ import annotations

import sys

import typer

from tasks.errors import DocflowError
from workers.output import fail

app = typer.Typer(
    name="docflow",
    help="Drop articles in a folder; get them parsed, entity-tagged and searchable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a help paragraph wraps to the terminal, not the source
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from workers.commands import pipeline, query, status  # noqa: F401

    for module in ("watch", "ops", "entities", "observe", "bench", "admin"):
        try:
            __import__(f"workers.commands.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"workers.commands.{module}":
                raise


def main() -> None:
    _register()
    try:
        app()
    except DocflowError as exc:
        fail(exc.describe())
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":  # `python -m workers.cli`: run the importable module's app
    from workers.cli import main as cli_main

    cli_main()
