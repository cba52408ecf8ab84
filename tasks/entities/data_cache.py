"""Word lists built from data packages once per machine and kept in the user's cache folder.

Reading a data package's tables can take tens of MB of small objects that a process never
returns to the system, and some packages are slow to import. So a list of names is built
in a child process (`python -c`, importing the builder by name), written to
`~/.cache/docflow/<version>.txt` (one file per data version: new data gives a new file and
a new tag version), and every later process only reads that file. Without a child the
list is built in this process; without a writable cache folder it is built again next
time. The gazetteer (`gazetteer.py`) and the given names (`given_names.py`) use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

#: a child that has not answered by then is given up on (the list is built in-process)
CHILD_TIMEOUT_S = 120


def cache_dir() -> Path:
    """The user's cache folder for docflow (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory: the system's temporary folder
            base = tempfile.gettempdir()
    return Path(base) / "docflow"


def keep(path: Path, names: Iterable[str]) -> None:
    """Write the names to `path` atomically (a random temporary name, then a rename);
    without a writable cache folder the next process builds them again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".names-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(sorted(names)))
        os.replace(partial, path)
    except OSError:
        Path(partial).unlink(missing_ok=True)


def names_from_a_child(module: str, function: str) -> set[str] | None:
    """`module.function()` (a set of one-line names) run in a child process, None if that
    cannot be done."""
    code = f"from {module} import {function} as b; print(*b(), sep='\\n')"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            encoding="utf-8",
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # names are not all ASCII
            timeout=CHILD_TIMEOUT_S,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = {line for line in done.stdout.splitlines() if line}
    return names or None


def cached_names(version: str, builder: Callable[[], set[str]]) -> frozenset[str]:
    """The names of `version`: read from the cache file, else built by `builder` in a child
    process (in this one if that fails) and kept for the next process.

    `builder` must be a module-level function (the child imports it by name) returning
    names without line breaks.
    """
    path = cache_dir() / f"{version}.txt"
    try:
        return frozenset(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        pass
    names = names_from_a_child(builder.__module__, builder.__name__)
    if names is None:
        names = builder()
    keep(path, names)
    return frozenset(names)
