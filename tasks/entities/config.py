"""The user's entity rules: `<data dir>/entities.toml`, applied every time a document is tagged.

Format (TOML, every section optional; a missing file means no rules)::

    # Aliases: a mention spelled NAME is stored under the canonical name.
    [alias]
    "Tayyip Erdogan" = "Recep Tayyip Erdoğan"
    "POTUS" = "Donald Trump"

    # Merges: the entity A (its canonical name) is merged into the entity B.
    [merge]
    "Islamic State" = "ISIL"

    # Blocks: names never stored as entities (matched on the mention text
    # and on its canonical name).
    [block]
    names = ["Reuters", "Anadolu Agency"]

    # Relabels: a name (mention text or canonical name) always has this label.
    [relabel]
    "Kyiv" = "GPE"

Names match without regard to case, accents, dots or a leading "the"
(`Erdogan` == `Erdoğan`, `U.S.` == `US`). Aliases apply to the text of a
mention before the built-in country and alias table; merges apply to the
canonical name afterwards (chains such as A -> B -> C are followed).
Editing the file changes `Tagger.version`, so documents tagged under older
rules can be found and re-tagged.

Edit it by hand or with `add_alias`, `add_merge`, `add_block` and `add_relabel`, which keep
comments and formatting (tomlkit) and replace the file atomically.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from tasks.entities.normalize import match_key
from tasks.entities.spans import NAME_LABELS
from tasks.errors import ConfigError

SECTIONS = ("alias", "merge", "block", "relabel")
HEADER = (
    "docflow entity rules: [alias] NAME = canonical, [merge] A = B, [block] names = [...],"
    " [relabel] NAME = LABEL"
)
_LINE = re.compile(r"line (\d+)")


@dataclass(slots=True)
class EntityConfig:
    """User rules, keyed by `match_key` of each name."""

    aliases: dict[str, str] = field(default_factory=dict)
    merges: dict[str, str] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()
    relabels: dict[str, str] = field(default_factory=dict)
    digest: str = "none"

    def alias_for(self, name: str) -> str | None:
        return self.aliases.get(match_key(name)) if self.aliases else None

    def merged(self, canonical: str) -> str:
        """Follow merges from `canonical` to its final name (cycles stop where they loop)."""
        if not self.merges:
            return canonical
        seen: set[str] = set()
        current = canonical
        while (key := match_key(current)) in self.merges and key not in seen:
            seen.add(key)
            current = self.merges[key]
        return current

    def is_blocked(self, *names: str) -> bool:
        return bool(self.blocked) and any(match_key(name) in self.blocked for name in names if name)

    def label_for(self, *names: str) -> str | None:
        """The label a relabel rule gives the first of `names` it names, if any."""
        if not self.relabels:
            return None
        return next((self.relabels[k] for n in names if (k := match_key(n)) in self.relabels), None)


def _line_of(text: str, name: str) -> int | None:
    """1-based line where `name` first appears as a key, for error messages."""
    for number, line in enumerate(text.splitlines(), start=1):
        if name in line:
            return number
    return None


def _fail(path: Path, text: str, where: str, message: str) -> ConfigError:
    line = _line_of(text, where)
    place = f"{path}:{line}" if line else str(path)
    return ConfigError(f"{place}: {message}", hint="fix or remove the entry, then re-tag")


def _string_table(path: Path, text: str, data: dict[str, Any], section: str) -> dict[str, str]:
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise _fail(path, text, f"{section}", f'[{section}] must be a table of NAME = "name"')
    result: dict[str, str] = {}
    for name, target in table.items():
        if not isinstance(target, str) or not target.strip() or not name.strip():
            raise _fail(path, text, name, f"[{section}] {name!r} must map to a non-empty string")
        result[match_key(name)] = target.strip()
    return result


def _relabels(path: Path, text: str, data: dict[str, Any]) -> dict[str, str]:
    labels = _string_table(path, text, data, "relabel")
    for key, label in labels.items():
        if label.upper() not in NAME_LABELS:
            raise _fail(
                path,
                text,
                label,
                f"[relabel] {label!r} is not a name label ({', '.join(sorted(NAME_LABELS))})",
            )
        labels[key] = label.upper()
    return labels


def _blocked(path: Path, text: str, data: dict[str, Any]) -> frozenset[str]:
    block = data.get("block", {})
    names = block.get("names", []) if isinstance(block, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _fail(path, text, "names", "[block] names must be a list of strings")
    return frozenset(match_key(n) for n in names if n.strip())


def parse_config(text: str, path: Path) -> EntityConfig:
    """Parse the text of an entities.toml file (path is only used in messages)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _LINE.search(str(exc))
        place = f"{path}:{found.group(1)}" if found else str(path)
        raise ConfigError(f"{place}: not valid TOML: {exc}", hint="fix the file") from exc
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        allowed = ", ".join(SECTIONS)
        raise _fail(path, text, unknown[0], f"unknown section {unknown[0]!r} (allowed: {allowed})")
    return EntityConfig(
        aliases=_string_table(path, text, data, "alias"),
        merges=_string_table(path, text, data, "merge"),
        blocked=_blocked(path, text, data),
        relabels=_relabels(path, text, data),
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:8],
    )


def load_config(path: Path | None) -> EntityConfig:
    """Read the user's rules; a missing file (or no path) is an empty config."""
    if path is None:
        return EntityConfig()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return EntityConfig()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read entity rules: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: entity rules are not UTF-8 text") from exc
    return parse_config(text, path)


# --- editing -------------------------------------------------------------------------------


def _open_document(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        doc = tomlkit.document()
        doc.add(tomlkit.comment(HEADER))
        return doc
    text = path.read_text(encoding="utf-8")
    parse_config(text, path)  # same checks and messages as at tag time
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:  # pragma: no cover - tomllib already accepted it
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _write_atomically(path: Path, doc: tomlkit.TOMLDocument) -> None:
    text = tomlkit.dumps(doc)
    parse_config(text, path)  # never write a file the tagger would reject
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _table(doc: tomlkit.TOMLDocument, section: str) -> Any:
    if section not in doc:
        doc.add(section, tomlkit.table())
    return doc[section]


def _clean(value: str, what: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ConfigError(f"{what} must not be empty")
    return cleaned


def _set_pair(path: Path, section: str, key: str, value: str) -> None:
    doc = _open_document(path)
    table = _table(doc, section)
    for existing in list(table.keys()):
        if match_key(existing) == match_key(key):
            del table[existing]
    table[key] = value
    _write_atomically(path, doc)


def add_alias(path: Path, name: str, alias: str) -> None:
    """Store mentions spelled `alias` under the canonical `name`."""
    name, alias = _clean(name, "canonical name"), _clean(alias, "alias")
    if match_key(name) == match_key(alias):
        raise ConfigError(f"alias {alias!r} is the same name as {name!r}")
    _set_pair(path, "alias", alias, name)


def add_merge(path: Path, a: str, b: str) -> None:
    """Merge the entity named `a` into the entity named `b`."""
    a, b = _clean(a, "entity to merge"), _clean(b, "target entity")
    if match_key(a) == match_key(b):
        raise ConfigError(f"cannot merge {a!r} into itself")
    final = load_config(path).merged(b)
    if match_key(final) == match_key(a):
        raise ConfigError(
            f"merging {a!r} into {b!r} would make a cycle ({b!r} is merged into {a!r})"
        )
    _set_pair(path, "merge", a, b)


def add_relabel(path: Path, name: str, label: str) -> None:
    """Give every mention named `name` (text or canonical name) the label `label`."""
    name, label = _clean(name, "name to relabel"), _clean(label, "label").upper()
    if label not in NAME_LABELS:
        raise ConfigError(
            f"{label!r} is not a name label", hint=f"use one of {', '.join(sorted(NAME_LABELS))}"
        )
    _set_pair(path, "relabel", name, label)


def add_block(path: Path, name: str) -> None:
    """Never store `name` as an entity."""
    name = _clean(name, "name to block")
    doc = _open_document(path)
    table = _table(doc, "block")
    if "names" not in table:
        table["names"] = tomlkit.array()
    names = table["names"]
    if any(match_key(str(existing)) == match_key(name) for existing in names):
        return
    names.append(name)
    _write_atomically(path, doc)


#: the kinds of rule `add_rule` writes, and what each needs as `other`
RULE_KINDS = {
    "alias": "the other spelling",
    "merge": "the entity that stays",
    "relabel": "the label",
    "block": None,
}


def add_rule(path: Path, kind: str, name: str, other: str | None = None) -> str:
    """Write one rule of `kind` (see `RULE_KINDS`); returns what it did, in words.

    The one entry point for the CLI commands, the review queue and the HTTP API."""
    if kind not in RULE_KINDS:
        raise ConfigError(f"unknown rule {kind!r}", hint=f"use one of {', '.join(RULE_KINDS)}")
    other = (other or "").strip()
    needs = RULE_KINDS[kind]
    if needs and not other:
        raise ConfigError(f"a {kind} rule needs {needs}", hint="give both names")
    if kind == "alias":
        add_alias(path, name, other)
        return f"{other!r} is now an alias of {name!r}"
    if kind == "merge":
        add_merge(path, name, other)
        return f"{name!r} is merged into {other!r}"
    if kind == "relabel":
        add_relabel(path, name, other)
        return f"{name!r} is now {other.upper()}"
    add_block(path, name)
    return f"{name!r} is blocked"
