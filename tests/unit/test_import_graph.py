"""The runtime's modules import one way only: no circle, and every module imports alone.

`workers.app` builds the Celery app and names the task and receiver modules for Celery
to import (`include=`); nothing imports it back at the bottom of a file. Likewise the
`docflow` Typer app lives in `workers.cli_app`, which imports no command module: the command
modules register on it, and `workers.cli` imports them all at its top.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

WORKERS = Path(__file__).resolve().parents[2] / "workers"
TASKS = WORKERS.parent / "tasks"


def _names(paths: list[Path]) -> list[str]:
    return sorted(
        ".".join(path.relative_to(WORKERS.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in paths
    )


MODULES = _names(list(WORKERS.rglob("*.py")))
TASK_MODULES = _names(list(TASKS.rglob("*.py")))


def imports_of(module: str, known: list[str] = MODULES) -> set[str]:
    """Every module of `known` (workers' by default) that `module` imports, anywhere in it
    (at the top, inside a function, or only for type checking)."""
    path = WORKERS.parent.joinpath(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known and name != module}


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in `graph`, as the modules along it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for after in sorted(graph[node]):
            if state.get(after) == "open":
                return [*path[path.index(after) :], after]
            if after not in state and (found := visit(after)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_under_workers_imports_in_a_circle() -> None:
    graph = {module: imports_of(module) for module in MODULES}
    assert "workers.app" in graph and "workers.commands.ops" in graph
    assert "workers.commands.ops" in graph["workers.cli"]  # the CLI's imports are checked too
    assert a_cycle(graph) is None, " -> ".join(a_cycle(graph) or [])


def test_no_module_under_tasks_imports_in_a_circle_or_imports_the_runtime() -> None:
    graph = {module: imports_of(module, TASK_MODULES) for module in TASK_MODULES}
    assert "tasks.store.sqlite" in graph and "tasks.store.dialects" in graph
    assert a_cycle(graph) is None, " -> ".join(a_cycle(graph) or [])
    for module in TASK_MODULES:
        assert not imports_of(module, MODULES), module


def test_the_cli_imports_every_command_module_and_no_command_module_imports_the_cli() -> None:
    commands = {m for m in MODULES if m.startswith("workers.commands.")}
    assert commands <= imports_of("workers.cli")
    for module in commands:
        assert imports_of(module).isdisjoint({"workers.cli", *commands}), module


def test_the_cycle_check_finds_a_circle_when_there_is_one() -> None:
    assert a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_celery_app_module_imports_no_task_or_receiver_module() -> None:
    from workers.app import TASK_MODULES

    assert imports_of("workers.app").isdisjoint(TASK_MODULES)
    assert imports_of("workers.app") <= {"workers.settings"}


def test_the_app_names_the_modules_a_worker_imports_and_they_register_the_stages() -> None:
    from workers.app import TASK_MODULES, app

    assert list(app.conf.include) == list(TASK_MODULES)
    app.loader.import_default_modules()  # what a worker does when it starts
    assert {"docflow.parse", "docflow.tag", "docflow.index"} <= set(app.tasks)


@pytest.mark.parametrize("module", MODULES)
def test_every_module_under_workers_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module
