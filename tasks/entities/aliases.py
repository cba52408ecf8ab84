"""The built-in alias table: countries from pycountry plus the curated `aliases.toml`.

Every name resolves through `match_key` (accents, case, dots and a leading
`the` ignored), so `U.S.`, `US`, `USA` and `the United States` all find
`United States`; `Turkey` and `Türkiye` find `Türkiye`.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from tasks.entities.normalize import match_key
from tasks.errors import ConfigError

DATA_FILE = Path(__file__).with_name("aliases.toml")


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """A name the table knows: its canonical form and label."""

    canonical: str
    label: str
    country: bool = False


@dataclass(slots=True)
class AliasTable:
    """Alias key -> known entity; first definition of a key wins."""

    entries: dict[str, KnownEntity] = field(default_factory=dict)
    #: names as written that may be looked for in running text (exact, case-sensitive)
    gazetteer: dict[str, KnownEntity] = field(default_factory=dict)
    version: str = ""
    _upper: dict[str, KnownEntity] | None = None
    _index: dict[str, int] | None = None

    def add(self, name: str, entity: KnownEntity, *, override: bool = False) -> None:
        key = match_key(name)
        if key and (override or key not in self.entries):
            self.entries[key] = entity

    def add_searchable(self, name: str, entity: KnownEntity) -> None:
        """Make `name` findable in text when it looks like a name, not a code or a word."""
        if len(name) >= 4 and any(ch.islower() for ch in name) and not set(name) & set(",()"):
            self.gazetteer.setdefault(name, entity)

    def upper_gazetteer(self) -> dict[str, KnownEntity]:
        """The gazetteer in capitals, for all-caps headlines and datelines."""
        if self._upper is None:
            self._upper = {}
            for name, entity in self.gazetteer.items():
                self._upper.setdefault(name.upper(), entity)
        return self._upper

    def gazetteer_index(self) -> dict[str, int]:
        """First word of each gazetteer name (also in capitals) -> most words after it."""
        if self._index is None:
            self._index = {}
            for name in self.gazetteer:
                parts = name.split()
                for first in {bare_word(parts[0]), bare_word(parts[0]).upper()}:
                    self._index[first] = max(self._index.get(first, 0), len(parts))
        return self._index

    def get(self, name: str) -> KnownEntity | None:
        return self.entries.get(match_key(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and match_key(name) in self.entries

    def __len__(self) -> int:
        return len(self.entries)


def bare_word(word: str) -> str:
    """A word without a trailing full stop or possessive: `Italy's` -> `Italy`."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    return word.rstrip(".'’") or word


def _strip_parenthetical(name: str) -> str:
    return name.split(" (", 1)[0].strip()


def _country_entries(curated: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(canonical, names) for each ISO country, from pycountry and the curated overrides."""
    import pycountry  # a few ms, once per process

    display: dict[str, str] = curated.get("country_names", {})
    ambiguous = set(curated.get("ambiguous_codes", {}).get("codes", []))
    extra: dict[str, list[str]] = curated.get("country_aliases", {})
    result: list[tuple[str, list[str]]] = []
    for country in pycountry.countries:
        code = country.alpha_3
        name = country.name
        common = getattr(country, "common_name", None)
        official = getattr(country, "official_name", None)
        canonical = display.get(code) or common or _strip_parenthetical(name)
        if "," in canonical:  # "Congo, The Democratic Republic of the"
            canonical = official or canonical
        names = [canonical, name, _strip_parenthetical(name)]
        names += [n for n in (common, official) if n]
        if code not in ambiguous:
            names.append(code)
        names += extra.get(code, [])
        result.append((canonical, names))
    return result


def _read_curated(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the built-in alias table: {exc}") from exc


def load_alias_table(path: Path = DATA_FILE) -> AliasTable:
    """Build the table from pycountry and the curated file at `path`."""
    curated, raw = _read_curated(path)
    skip = set(curated.get("gazetteer", {}).get("skip", []))
    table = AliasTable()
    for canonical, names in _country_entries(curated):
        entity = KnownEntity(canonical=canonical, label="GPE", country=True)
        for name in names:
            table.add(name, entity)
            if name not in skip:
                table.add_searchable(name, entity)
    for item in curated.get("entity", []):
        entity = KnownEntity(canonical=item["name"], label=item.get("label", "ORG"))
        for name in [item["name"], *item.get("aliases", [])]:
            table.add(name, entity, override=True)
            if name not in skip:
                table.add_searchable(name, entity)
    try:
        pycountry_version = metadata.version("pycountry")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed with the project
        pycountry_version = "?"
    digest = hashlib.sha256(raw + pycountry_version.encode()).hexdigest()[:8]
    table.version = digest
    return table


@lru_cache(maxsize=1)
def builtin_aliases() -> AliasTable:
    """The shipped table, built once per process."""
    return load_alias_table()
