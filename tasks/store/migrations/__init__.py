"""Versioned schema migrations, one numbered .sql file each, per backend."""

from __future__ import annotations

from importlib import resources


def migration_scripts(backend: str) -> list[tuple[int, str]]:
    """(version, SQL) pairs of a backend's migrations, in order."""
    folder = resources.files(__package__).joinpath(backend)
    scripts = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            scripts.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(scripts)
