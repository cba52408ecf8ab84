"""Rank the stored entities most likely wrong, for a person to review one at a time.

Pure logic over `EntityRow` lists (no store, no runtime). Each signal adds its weight to
an entity's score and a short reason a user reads; the strongest signal with a
suggestion gives the suggested action:

- the same folded name under two or more labels: the minority label is flagged (the
  rules file can't relabel a name, so the suggestion is `relabel` to the majority's label);
- a near-duplicate spelling under the same label (`rapidfuzz` over the most frequent
  entities): the rarer spelling is flagged, merged into the more frequent one;
- a one-word PERSON that is (or is spelled like) the surname of exactly one full name
  (`Zelensky` beside `Volodymyr Zelenskiy`): merged into the full name;
- a lower-case or pronoun-like name (`he`, `the company`): block;
- a gazetteer place tagged PERSON: relabel to GPE;
- a single mention: a weak signal that only adds to another one.

Only names are reviewed: dates, numbers and amounts (`two`, `$100 billion`) are values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz, process

from tasks.entities.normalize import fold
from tasks.entities.spans import NAME_LABELS
from tasks.models import EntityRow

Action = Literal["merge", "block", "relabel"]

#: how much each signal adds to an entity's score
WEIGHTS: dict[str, float] = {
    "pronoun": 4.0,
    "place_person": 3.0,
    "near_duplicate": 3.0,
    "surname": 3.0,
    "label_flip": 2.5,
    "single_mention": 0.5,
}
#: near-duplicate spellings are looked for among this many most frequent entities
MAX_FUZZY = 5000
#: `fuzz.ratio` of the folded names, 0-100, from which two spellings are near-duplicates
FUZZY_CUTOFF = 92
#: shorter folded names are never near-duplicates (`Iran` / `Iraq`)
FUZZY_MIN_CHARS = 6
#: `fuzz.ratio` from which a one-word name is spelled like a full name's surname
SURNAME_CUTOFF = 87
PRONOUNS = frozenset(
    {"i", "me", "my", "we", "us", "our", "you", "your", "he", "him", "his", "she", "her"}
    | {"it", "its", "they", "them", "their", "this", "that", "these", "those", "who", "whom"}
    | {"someone", "somebody", "everyone", "everybody", "anyone", "nobody"}
)


@dataclass(frozen=True, slots=True)
class Suspect:
    """An entity that may be wrong: why, how sure (score), and what to do about it."""

    entity: EntityRow
    reasons: tuple[str, ...]
    score: float
    action: Action
    target: str | None = None

    @property
    def suggestion(self) -> tuple[Action, str | None]:
        """The suggested action and its target, e.g. `("merge", "Volodymyr Zelensky")`."""
        return self.action, self.target

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the entity's fields, reasons, score and suggestion."""
        return {
            "entity": self.entity.model_dump(),
            "reasons": list(self.reasons),
            "score": self.score,
            "action": self.action,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class _Finding:
    signal: str
    reason: str
    action: Action | None = None
    target: str | None = None


def _frequency(row: EntityRow) -> tuple[int, int, str]:
    """Sort key: most documents first, then most mentions, then id."""
    return (-row.documents, -row.mentions, row.id)


def label_flips(rows: Sequence[EntityRow]) -> Iterable[tuple[str, _Finding]]:
    """The minority-label entities of every folded name seen under two or more labels."""
    groups: dict[str, list[EntityRow]] = defaultdict(list)
    for row in rows:
        groups[fold(row.name)].append(row)
    for group in groups.values():
        if len({row.label for row in group}) < 2:
            continue
        weight: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for row in group:
            docs, mentions = weight[row.label]
            weight[row.label] = (docs + row.documents, mentions + row.mentions)
        major = min(weight, key=lambda label: (-weight[label][0], -weight[label][1], label))
        for row in group:
            if row.label != major:
                reason = f"also tagged {major} in {weight[major][0]} documents"
                yield row.id, _Finding("label_flip", reason, "relabel", major)


def near_duplicates(
    rows: Sequence[EntityRow], *, limit: int = MAX_FUZZY, cutoff: int = FUZZY_CUTOFF
) -> Iterable[tuple[str, _Finding]]:
    """Rarer spellings of a more frequent entity with the same label (one finding each)."""
    by_label: dict[str, list[EntityRow]] = defaultdict(list)
    for row in sorted(rows, key=_frequency)[:limit]:
        if len(fold(row.name)) >= FUZZY_MIN_CHARS:
            by_label[row.label].append(row)
    for group in by_label.values():
        if len(group) < 2:
            continue
        names = [fold(row.name) for row in group]
        scores = process.cdist(
            names, names, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=-1
        )
        for rare in range(1, len(group)):
            best = int(np.argmax(scores[rare, :rare]))  # the first of the best: most frequent
            score = int(scores[rare, best])
            if score >= cutoff and names[rare] != names[best]:
                target = group[best]
                reason = f"spelled like {target.name!r} ({target.documents} documents)"
                yield group[rare].id, _Finding("near_duplicate", reason, "merge", target.name)


def surname_variants(
    rows: Sequence[EntityRow], *, limit: int = MAX_FUZZY, cutoff: int = SURNAME_CUTOFF
) -> Iterable[tuple[str, _Finding]]:
    """One-word PERSON entities that are (or are spelled like) the surname of exactly one
    multi-word PERSON entity: documents that never named the person in full."""
    people = [r for r in sorted(rows, key=_frequency)[:limit] if r.label == "PERSON"]
    full = [r for r in people if len(fold(r.name).split()) > 1]
    bare = [r for r in people if len(fold(r.name).split()) == 1]
    bare = [r for r in bare if len(fold(r.name)) >= FUZZY_MIN_CHARS]
    if not full or not bare:
        return
    surnames = [fold(r.name).split()[-1] for r in full]
    names = [fold(r.name) for r in bare]
    scores = process.cdist(
        names, surnames, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=-1
    )
    for index, row in enumerate(bare):
        matched = {full[j].name for j in np.flatnonzero(scores[index])}
        if len(matched) == 1:  # `Kim` of many Kims is left alone
            (target,) = matched
            reason = f"the surname (or its spelling) of {target!r}"
            yield row.id, _Finding("surname", reason, "merge", target)


def is_pronoun_like(name: str) -> bool:
    """A pronoun (`He`, `they`; not an acronym: `US`, `IT`) or a name with cased letters,
    none of them capital (`the company`)."""
    return (fold(name) in PRONOUNS and not name.isupper()) or name.strip().islower()


def _own_findings(row: EntityRow, is_place: Callable[[str], bool]) -> Iterable[_Finding]:
    """The signals read off one entity alone."""
    if is_pronoun_like(row.name):
        yield _Finding("pronoun", "a pronoun or a lower-case name", "block")
    if row.label == "PERSON" and is_place(row.name):
        # not a block: that would drop the place's own GPE mentions too
        yield _Finding("place_person", "a place tagged as a person", "relabel", "GPE")


def _suspect(row: EntityRow, findings: list[_Finding]) -> Suspect | None:
    """Combine an entity's findings; None when only weak signals fired."""
    if not findings:
        return None
    if row.mentions == 1:
        findings = [*findings, _Finding("single_mention", "mentioned only once")]
    suggesting = [f for f in findings if f.action is not None]
    if not suggesting:
        return None
    best = max(suggesting, key=lambda f: WEIGHTS[f.signal])  # the first of the strongest
    assert best.action is not None
    return Suspect(
        entity=row,
        reasons=tuple(f.reason for f in findings),
        score=round(sum(WEIGHTS[f.signal] for f in findings), 3),
        action=best.action,
        target=best.target,
    )


def _default_is_place(name: str) -> bool:
    from tasks.entities.gazetteer import is_place

    return is_place(name)


def rank(
    rows: Sequence[EntityRow],
    *,
    limit: int | None = None,
    is_place: Callable[[str], bool] = _default_is_place,
) -> list[Suspect]:
    """The suspects among `rows`, most likely wrong first.

    Order: score, then documents (descending), then id; the same rows always give the same
    list. `is_place` answers "is this name a gazetteer place?" (the GeoNames table by default).
    """
    rows = [row for row in rows if row.label in NAME_LABELS]
    findings: dict[str, list[_Finding]] = defaultdict(list)
    for row in rows:
        findings[row.id].extend(_own_findings(row, is_place))
    others = (*near_duplicates(rows), *surname_variants(rows), *label_flips(rows))
    for entity_id, finding in others:
        findings[entity_id].append(finding)
    suspects = [s for row in rows if (s := _suspect(row, findings.get(row.id, [])))]
    suspects.sort(key=lambda s: (-s.score, -s.entity.documents, s.entity.id))
    return suspects if limit is None else suspects[:limit]
