"""One label per name within a document.

Every mention of the same surface form gets one label: a known country or
alias keeps the table's label, a name seen as the surname of a multi-word
PERSON is PERSON, and otherwise the document's majority wins (ties broken
by `LABEL_PRIORITY`). All-caps forms (headlines, datelines) follow their
mixed-case sibling when the document has one.

A 2-3 word name the model did not call a person is one when the document uses its
surname or first name for a person, or when it starts with a common given name
(`given_names`) and nothing says otherwise (see `_named_like_a_person`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tasks.entities.aliases import AliasTable
from tasks.entities.facilities import CLUB_OR_PLACE_WORDS, CLUB_WORDS, FACILITY_HEADS
from tasks.entities.gazetteer import is_place
from tasks.entities.given_names import is_given_name
from tasks.entities.legal import ends_in_legal_form
from tasks.entities.spans import (
    LABEL_PRIORITY,
    NAME_LABELS,
    ORG_WORDS,
    STOP_FORMS,
    TITLES,
    CapsLines,
    Span,
    form,
    is_all_caps,
    mostly_caps,
    words,
)

#: used with `match(text, span.end)`; `(?<![ \t])` keeps a search from rescanning blank runs
_ACRONYM_AFTER = re.compile(r"(?<![ \t])[ \t]*+\([ \t]*+([A-Z][A-Za-z&.\-]{1,9})[ \t]*+\)")
_ACRONYM_LABELS = frozenset({"ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "LAW", "PRODUCT"})
#: labels a city's, state's or country's name cannot have (ORG can: a team, a government)
_NEVER_A_PLACE = frozenset({"PERSON", "NORP", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"})
#: a word that makes a name an organisation's or a facility's, never a person's
_NOT_PERSON_WORDS = ORG_WORDS | FACILITY_HEADS | CLUB_WORDS | CLUB_OR_PLACE_WORDS
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
#: prefixes glued to a surname that the surname is also used without (`al-Ansari` -> `Ansari`)
_PARTICLES = frozenset(
    {"al", "el", "ad", "ar", "as", "ash", "at", "az", "bin", "ibn", "abu", "abd", "ben"}
)
#: model labels a given name at the head of a name overrules (ORG only on a split vote)
_GIVEN_NAME_OVERRULES = frozenset({"GPE", "LOC", "NORP"})
_LOWER_WORD = re.compile(r"\b[a-z][a-z'’\-]+\b")


@dataclass(slots=True)
class Names:
    """What the document says about its names: decided labels and person surnames."""

    labels: dict[str, str] = field(default_factory=dict)
    surnames: set[str] = field(default_factory=set)
    by_casefold: dict[str, str] = field(default_factory=dict)
    #: acronym defined in the text as `Full Name (ACRONYM)` -> full name
    acronyms: dict[str, str] = field(default_factory=dict)

    def label_of(self, name: str) -> str | None:
        found = self.labels.get(name)
        if found is None and name in self.surnames:
            return "PERSON"
        if found is None and is_all_caps(name):
            return self.by_casefold.get(name.casefold())
        return found


def surnames_of(name: str) -> list[str]:
    """Last word of a multi-word person name, able to stand alone (`al-Ansari`: also `Ansari`)."""
    parts = [w for w in words(name) if w.casefold() not in _NAME_SUFFIXES]
    if len(parts) < 2:
        return []
    last = parts[-1].rstrip(".")
    found = [last]
    particle, _, rest = last.partition("-")
    if rest and particle.casefold() in _PARTICLES:
        found.append(rest)
    return [s for s in found if len(s) >= 2 and s[0].isupper() and s.casefold() not in STOP_FORMS]


def _acronyms(text: str, spans: list[Span]) -> dict[str, tuple[str, str]]:
    """`Kurdistan Workers' Party (PKK)`: acronym -> (full name, label)."""
    found: dict[str, tuple[str, str]] = {}
    for span in spans:
        if span.label not in _ACRONYM_LABELS:
            continue
        match = _ACRONYM_AFTER.match(text, span.end)
        if match is None:
            continue
        acronym, full = match.group(1), form(span.text(text))
        if sum(ch.isupper() for ch in acronym) >= 2 and acronym != full and len(words(full)) > 1:
            found.setdefault(acronym, (full, span.label))
    return found


def _pick(counts: Mapping[str, int]) -> str:
    if len(counts) == 1:  # the common case: one label
        return next(iter(counts))
    best = max(counts.values())
    tied = [label for label, count in counts.items() if count == best]
    return min(
        tied, key=lambda label: LABEL_PRIORITY.index(label) if label in LABEL_PRIORITY else 99
    )


def _titled(text: str, spans: list[Span]) -> set[str]:
    """Names the text puts a person's title before (`Mr Houston`, `President Austin`):
    whatever a gazetteer says, these are people."""
    found: set[str] = set()
    for span in spans:
        before = text[max(0, span.start - 24) : span.start].rsplit(None, 1)
        if before and before[-1].rstrip(".").casefold() in TITLES:
            found.add(form(text[span.start : span.end]))
    return found


def _looks_like_person(name: str, names: Names, first_names: set[str]) -> bool:
    """A 2-3 word name whose surname or first name the document already uses for a person."""
    parts = words(name)
    if not 2 <= len(parts) <= 3 or not all(p[:1].isupper() for p in parts):
        return False
    if any(p.rstrip(".").casefold() in _NOT_PERSON_WORDS for p in parts):
        return False
    if ends_in_legal_form(name):
        return False
    last = parts[-1]
    return last in names.surnames or names.labels.get(last) == "PERSON" or parts[0] in first_names


class _LowerWords:
    """The text's lower-case words, read once and only when asked."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._words: set[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._words is None:
            self._words = set(_LOWER_WORD.findall(self._text))
        return word in self._words


def _named_like_a_person(name: str, labels: Mapping[str, int], lower: _LowerWords) -> bool:
    """`Sean Dyche` read as an organisation, `Marcus Rashford` as a place: a 2-3 word name
    that starts with a common given name is a person's when

    - the model called it a place or a people (GPE, LOC, NORP), or an organisation while
      also calling it a person at least once (a split vote);
    - no word of it is a place (`Jordan Valley`, `Paris Saint-Germain`, `Georgia Tech`:
      a place named like a person is left to the other rules), an organisation's or a
      facility's word, a legal form (`Morgan Stanley Inc`), in capitals or, for its last
      word, a word the text also writes in lower case (`Maria Island ... the island`);
    - a people's name does not end in a plural (`Christian Democrats`).
    """
    parts = words(name)
    if not labels or not 2 <= len(parts) <= 3 or not is_given_name(parts[0]):
        return False
    label = _pick(labels)
    if label not in _GIVEN_NAME_OVERRULES and not (label == "ORG" and labels.get("PERSON")):
        return False
    if any(not p[:1].isupper() or p.isupper() or is_place(p) for p in parts) or is_place(name):
        return False
    if any(p.rstrip(".").casefold() in _NOT_PERSON_WORDS for p in parts):
        return False
    last = parts[-1]
    if label == "NORP" and last.endswith("s"):
        return False
    return last.casefold() not in lower and not ends_in_legal_form(name)


def decide_labels(text: str, spans: list[Span], aliases: AliasTable) -> Names:
    """Choose one label per surface form and relabel `spans` in place."""
    counts: dict[str, dict[str, int]] = {}  # name -> mentions per label
    names = Names()
    first_names: set[str] = set()
    named: list[tuple[Span, str]] = []  # the name spans, with their names
    for span in spans:
        if span.label not in NAME_LABELS:
            continue
        name = form(text[span.start : span.end])
        named.append((span, name))
        labels = counts.get(name)
        if labels is None:
            labels = counts[name] = {}
        labels[span.label] = labels.get(span.label, 0) + 1
        if (
            span.label == "PERSON"
            and labels["PERSON"] == 1  # (what follows adds the same for every mention)
            and not is_place(name)
            and (surnames := surnames_of(name))
        ):
            names.surnames.update(surnames)
            first = words(name)[0]
            if (
                len(first) > 2
                and first.casefold() not in TITLES
                and first.casefold() not in STOP_FORMS
            ):
                first_names.add(first)
    tabled: set[str] = set()
    titled: set[str] | None = None  # read only for a place name with a person's label
    for name, labels in counts.items():
        known = aliases.get(name)
        if known and known.country and name not in names.surnames:
            names.labels[name] = known.label
            tabled.add(name)
        elif name in names.surnames and not (known and known.country):
            names.labels[name] = "PERSON"
        elif known and (known.label == "PERSON" or any(label != "PERSON" for label in labels)):
            names.labels[name] = known.label
            tabled.add(name)
        else:
            names.labels[name] = _pick(labels)
            if names.labels[name] in _NEVER_A_PLACE and is_place(name):
                titled = titled if titled is not None else _titled(text, spans)
                if name not in titled and name not in first_names:  # `Paris` of `Paris Hilton`
                    names.labels[name] = "GPE"  # `Kyiv` read as a person, `Aleppo` as a people
                    tabled.add(name)
    for acronym, (full, label) in _acronyms(text, spans).items():
        known = aliases.get(acronym)
        names.labels[acronym] = known.label if known else names.labels.get(full, label)
        names.acronyms[acronym] = full
        tabled.add(acronym)
    lower = _LowerWords(text)
    for name, label in list(names.labels.items()):
        if (
            label != "PERSON"
            and name not in tabled
            and (
                _looks_like_person(name, names, first_names)
                or _named_like_a_person(name, counts.get(name, {}), lower)
            )
        ):
            names.labels[name] = "PERSON"
    capitals: list[str] = []
    for name, label in names.labels.items():
        if is_all_caps(name):
            capitals.append(name)
        else:
            names.by_casefold.setdefault(name.casefold(), label)
    for name in capitals:
        if name.casefold() in names.by_casefold and aliases.get(name) is None:
            names.labels[name] = names.by_casefold[name.casefold()]
    for span, name in named:
        if not span.fixed:  # fixed: a rule knows better
            span.label = names.labels.get(name, span.label)
    return names


def drop_unconfirmed_caps(
    text: str, spans: list[Span], names: Names, aliases: AliasTable, caps: CapsLines
) -> list[Span]:
    """Names in all-caps lines stay only when the body or the alias table confirms them.

    The model reads capitals badly (`SOCCER - LEADING` as an ORG); a headline
    name worth keeping nearly always recurs in the body in normal case.
    """
    doubtful = []
    for index, span in enumerate(spans):
        if span.label in NAME_LABELS and span.start in caps:
            name = form(span.text(text))
            if (
                is_all_caps(name)
                and name.casefold() not in names.by_casefold
                and name not in names.acronyms
                and aliases.get(name) is None
            ):
                doubtful.append((index, name))
    if not doubtful or mostly_caps(text):
        return spans
    for _, name in doubtful:
        names.labels.pop(name, None)
    dropped = {index for index, _ in doubtful}
    return [span for index, span in enumerate(spans) if index not in dropped]
