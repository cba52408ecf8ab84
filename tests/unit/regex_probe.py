"""Find every regular expression in `tasks/` and `workers/` and probe it for super-linear time.

Used by `tests/unit/test_regex_linear.py`; also runnable by hand
(`python -m tests.unit.regex_probe`) to list the worst shape for every pattern.

* `collect_patterns()` imports every module under `tasks/` and `workers/` and takes each
  module-level `re.Pattern` (also inside lists, tuples and dicts), and adds every call
  `re.compile/search/match/fullmatch/sub/subn/split/findall/finditer` written with a
  constant pattern inside a function (found with `ast`), so a regex added later is
  covered without touching the test.
* `adversarial_inputs(pattern, n)` builds inputs from the pattern's own pieces: its
  literal runs and one character of each class it uses, repeated alone, in pairs,
  after a prefix and before a near-miss suffix that makes the match fail at the end
  (so that both a failing `fullmatch` and a `search` retried at every offset show
  their cost).
* `cost(pattern, text)` runs `finditer` to exhaustion (the `search`/`sub` cost),
  `match` and `fullmatch`.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import pkgutil
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tasks", "workers")
_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
#: characters every pattern is probed with besides its own
_BASE = ("a", "A", "1", " ", "\n", ".")
#: suffixes that end an input with something the pattern did not expect
_SUFFIXES = ("", "\x01")
_MAX_TOKENS = 10
#: how many tokens serve as prefixes and in pairs
_MAX_COMBINED = 7


@dataclass(frozen=True)
class Found:
    """One pattern and where it was found (`module.NAME` or `path:line`)."""

    where: str
    pattern: re.Pattern[str]


def collect_patterns() -> list[Found]:
    """Every module-level pattern and every constant inline pattern in tasks/ and workers/."""
    found: dict[tuple[str, int], Found] = {}
    for module_name in _module_names():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            for pattern in _patterns_in(value, depth=3):
                key = (pattern.pattern, pattern.flags)
                found.setdefault(key, Found(f"{module_name}.{name}", pattern))
    for where, pattern in _inline_patterns():
        found.setdefault((pattern.pattern, pattern.flags), Found(where, pattern))
    return sorted(found.values(), key=lambda f: f.where)


def _module_names() -> Iterator[str]:
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        yield package_name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            yield info.name


def _patterns_in(value: object, depth: int) -> Iterator[re.Pattern[str]]:
    if isinstance(value, re.Pattern):
        if isinstance(value.pattern, str):
            yield value
    elif depth > 0 and isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _patterns_in(item, depth - 1)
    elif depth > 0 and isinstance(value, dict):
        for item in value.values():
            yield from _patterns_in(item, depth - 1)


def _inline_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    """`re.<call>("constant", ...)` anywhere in the source, with constant flags."""
    for package_name in PACKAGES:
        for path in sorted((ROOT / package_name).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                pattern = _constant_pattern(node)
                if pattern is not None:
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", pattern  # type: ignore[attr-defined]


def _constant_pattern(node: ast.AST) -> re.Pattern[str] | None:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Name) and owner.id == "re" and node.func.attr in _CALLS):
        return None
    if not node.args or not isinstance(node.args[0], ast.Constant):
        return None
    source = node.args[0].value
    if not isinstance(source, str):
        return None
    flags = 0
    flag_node = next((k.value for k in node.keywords if k.arg == "flags"), None)
    if flag_node is None and node.func.attr in ("compile", "search", "match", "fullmatch"):
        flag_node = node.args[2] if node.func.attr != "compile" and len(node.args) > 2 else None
        flag_node = (
            node.args[1] if node.func.attr == "compile" and len(node.args) > 1 else flag_node
        )
    if flag_node is not None:
        flags = _flag_value(flag_node)
    return re.compile(source, flags)


def _flag_value(node: ast.AST) -> int:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "re"
    ):
        return int(getattr(re, node.attr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flag_value(node.left) | _flag_value(node.right)
    return 0


# --------------------------------------------------------------------------- #
# inputs
# --------------------------------------------------------------------------- #


def pattern_tokens(pattern: re.Pattern[str]) -> list[str]:
    """The pattern's literal runs and one character per class, then the base characters."""
    tokens: list[str] = []
    _walk(_parser.parse(pattern.pattern, pattern.flags), tokens)
    ordered = list(dict.fromkeys(t for t in tokens if t))
    singles = list(dict.fromkeys(c for t in ordered for c in t))
    merged = list(dict.fromkeys([*ordered, *singles]))[:_MAX_TOKENS]
    return list(dict.fromkeys([*merged, *_BASE]))


def _walk(items: Iterable[tuple[object, object]], tokens: list[str]) -> None:
    run = ""
    for op, arg in items:
        if op is sre_constants.LITERAL:
            run += chr(arg)  # type: ignore[arg-type]
            continue
        tokens.append(run)
        run = ""
        if op is sre_constants.IN:
            tokens.extend(_class_chars(arg))  # type: ignore[arg-type]
        elif op in (
            sre_constants.MAX_REPEAT,
            sre_constants.MIN_REPEAT,
            sre_constants.POSSESSIVE_REPEAT,
        ):
            _walk(arg[2], tokens)  # type: ignore[index]
        elif op is sre_constants.SUBPATTERN:
            _walk(arg[3], tokens)  # type: ignore[index]
        elif op is sre_constants.BRANCH:
            for branch in arg[1]:  # type: ignore[index]
                _walk(branch, tokens)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            _walk(arg[1], tokens)  # type: ignore[index]
        elif op is sre_constants.NOT_LITERAL:
            tokens.append("x" if arg != ord("x") else "y")
    tokens.append(run)


def _class_chars(items: Iterable[tuple[object, object]]) -> list[str]:
    chars: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            chars.append(chr(arg))  # type: ignore[arg-type]
        elif op is sre_constants.RANGE:
            chars.append(chr(arg[0]))  # type: ignore[index]
        elif op is sre_constants.CATEGORY:
            name = str(arg)
            chars.append("1" if "DIGIT" in name else " " if "SPACE" in name else "a")
    return chars


def adversarial_inputs(pattern: re.Pattern[str], n: int) -> Iterator[str]:
    """Inputs of about `n` characters built from the pattern's own pieces."""
    tokens = pattern_tokens(pattern)
    heads = tokens[:_MAX_COMBINED]
    prefixes = ["", *heads, *(head + " a" for head in heads)]  # "# a" + a long run
    for unit in tokens:
        body = unit * max(1, n // len(unit))
        for prefix in prefixes:
            for suffix in _SUFFIXES:
                yield prefix + body + suffix
    for first, second in itertools.permutations(tokens[:_MAX_COMBINED] + list(_BASE), 2):
        unit = first + second
        body = unit * max(1, n // len(unit))
        for suffix in _SUFFIXES:
            yield body + suffix


def cost(pattern: re.Pattern[str], text: str) -> float:
    """Seconds for a full scan (`finditer`), `match` and `fullmatch` of `text`."""
    started = time.perf_counter()
    for _ in pattern.finditer(text):
        pass
    pattern.match(text)
    pattern.fullmatch(text)
    return time.perf_counter() - started


def best_of(pattern: re.Pattern[str], text: str, repeats: int = 3) -> float:
    return min(cost(pattern, text) for _ in range(repeats))


def worst_inputs(pattern: re.Pattern[str], n: int, keep: int = 3) -> list[str]:
    """The `keep` shapes (as builders of size `n`) that cost the most at size `n`."""
    timed = sorted(
        ((cost(pattern, text), text) for text in adversarial_inputs(pattern, n)), reverse=True
    )
    return [text for _, text in timed[:keep]]


def growth(pattern: re.Pattern[str], text: str, factor: int = 8) -> tuple[float, float]:
    """The cost of `text` and of the same shape `factor` times longer."""
    big = _scaled(pattern, text, factor)
    return best_of(pattern, text), best_of(pattern, big)


def _scaled(pattern: re.Pattern[str], text: str, factor: int) -> str:
    """The same shape as `text` (prefix, repeated unit, suffix), `factor` times longer."""
    for prefix_len in range(0, 40):
        for suffix_len in (0, 1):
            core = text[prefix_len : len(text) - suffix_len]
            for unit_len in range(1, 40):
                unit = core[:unit_len]
                reps = len(core) // unit_len
                if reps > 4 and unit * reps == core:
                    return (
                        text[:prefix_len] + unit * (reps * factor) + text[len(text) - suffix_len :]
                    )
    return text * factor


def main() -> None:
    for found in collect_patterns():
        worst = worst_inputs(found.pattern, 128, keep=1)[0]
        small, big = growth(found.pattern, worst)
        shown = f"{found.pattern.pattern[:60]!r} on {worst[:30]!r}"
        print(f"{big / max(small, 1e-7):7.1f}x {big * 1000:9.2f}ms {found.where}: {shown}")


if __name__ == "__main__":
    main()
