"""The `docflow` command: the app is `workers.cli_app.app`, every sub-command lives in
`workers/commands/` and registers on it when its module is imported here."""

from __future__ import annotations

import sys

from tasks.errors import DocflowError
from workers.cli_app import app
from workers.output import fail

# isort: off
# The order of these imports is the order `docflow --help` lists the commands in.
import workers.commands.pipeline  # run, ingest, worker
import workers.commands.query  # search, show, export
import workers.commands.status  # status
import workers.commands.watch  # watch, up
import workers.commands.ops  # migrate, recover, retry, reprocess
import workers.commands.entities  # eval, entities
import workers.commands.entities_review  # entities review
import workers.commands.observe  # trace, failed, flower
import workers.commands.serve  # serve
import workers.commands.bench  # noqa: F401  # bench
# isort: on


def main() -> None:
    try:
        app()
    except DocflowError as exc:
        fail(exc.describe())
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


__all__ = ["app", "main"]

if __name__ == "__main__":  # `python -m workers.cli`
    main()
