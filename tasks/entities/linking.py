"""Canonical names: surnames to full names, aliases to one entity, user merges, stable ids."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tasks.entities.aliases import AliasTable
from tasks.entities.config import EntityConfig
from tasks.entities.legal import strip_legal_form
from tasks.entities.normalize import entity_id, fold
from tasks.entities.spans import NAME_LABELS, form, is_all_caps, words


@dataclass(frozen=True, slots=True)
class Resolved:
    canonical: str
    label: str
    entity_id: str


@lru_cache(maxsize=8192)
def _tokens(name: str) -> tuple[str, ...]:
    return tuple(fold(word).rstrip(".") for word in words(name))


class Linker:
    """Resolves every name of one document to its canonical form."""

    def __init__(
        self,
        names: list[tuple[str, str]],
        aliases: AliasTable,
        config: EntityConfig,
        acronyms: dict[str, str] | None = None,
    ) -> None:
        self.aliases = aliases
        self.config = config
        self._acronyms = acronyms or {}
        self._people: dict[tuple[str, ...], str] = {}
        self._mixed_case: dict[str, str] = {}
        for name, label in names:
            if label == "PERSON" and len(tokens := _tokens(name)) >= 2:
                self._people.setdefault(tokens, name)
            if not is_all_caps(name):
                self._mixed_case.setdefault(name.casefold(), name)
        self._cache: dict[tuple[str, str], Resolved] = {}

    def _full_name(self, name: str) -> str:
        """The one longer PERSON name in the document that ends with `name` (else `name`)."""
        tokens = _tokens(name)
        if not tokens:
            return name
        candidates = {
            full: original
            for full, original in self._people.items()
            if len(full) > len(tokens) and full[-len(tokens) :] == tokens
        }
        # `Tayyip Erdoğan` and `Recep Tayyip Erdoğan` are one person: keep the longest form
        candidates = {
            full: original
            for full, original in candidates.items()
            if not any(
                len(other) > len(full) and other[-len(full) :] == full for other in candidates
            )
        }
        if len(candidates) == 1:
            return next(iter(candidates.values()))
        exact = self._people.get(tokens)
        return exact if exact is not None else name

    def _table(self, name: str, label: str) -> tuple[str, str] | None:
        known = self.aliases.get(name)
        if known is None or (label == "PERSON" and known.label != "PERSON"):
            return None
        return known.canonical, known.label

    def resolve(self, surface: str, label: str) -> Resolved:
        key = (surface, label)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        name = form(surface)
        canonical = self.config.alias_for(name)
        if canonical is None and label == "PERSON":
            # `Erdogan` -> `Tayyip Erdogan` (the document's full name) -> the user's alias
            full = self._full_name(name)
            canonical = self.config.alias_for(full) or full
        if (
            canonical is None
            and label != "PERSON"
            and name in self._acronyms
            and name not in self.aliases
        ):
            canonical = self._acronyms[name]
        if canonical is None and label in NAME_LABELS and is_all_caps(name):
            canonical = self._mixed_case.get(name.casefold())
        canonical = canonical or name
        if label == "ORG" and canonical == name:
            canonical = strip_legal_form(name, self.aliases)
        table = self._table(canonical, label) if label in NAME_LABELS else None
        if table:
            canonical, label = table
        merged = self.config.merged(canonical)
        if merged != canonical:
            canonical = merged
            table = self._table(canonical, label)
            if table:
                canonical, label = table
        result = Resolved(canonical, label, entity_id(label, canonical))
        self._cache[key] = result
        return result
