"""Mentions the model missed, added where a confident name of the same document recurs.

A recurrence counts when it is the exact surface form (or a known PERSON
surname), stands on word boundaries, overlaps no other mention, and is not
glued to a neighbouring capitalised word that would make it part of a longer
name (`Washington Post`). In all-caps lines (headlines, datelines) the
upper-cased form is matched too. Country names and the curated entity names
of the alias table (its gazetteer) are found the same way even when the model
tagged none of their mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TypeVar

from tasks.entities.aliases import AliasTable, bare_word
from tasks.entities.consistency import Names
from tasks.entities.spans import FUNCTION_WORDS, STOP_FORMS, TITLES, CapsLines, Span, is_all_caps

#: (both start only where a run starts, so a search never rescans a run from each character)
_NEXT_WORD = re.compile(r"(?<![ \t])[ \t]++([^\W\d_][\w'’.\-]*)")
_PREV_WORD = re.compile(r"(?<![\w'’.\-])[\d_'’.\-]*+([^\W\d_][\w'’.\-]*+)[ \t]+$")
_CLOSERS = ",;:!?)]\"”’'"
#: a word starting with a letter that is not a-z (`[^\W\d_a-z]`), not glued to the word
#: before it; its first letter is matched as `[A-Z\x80-\U0010ffff]` and then checked, so a
#: search skips small letters, digits and blanks without a Unicode lookup for each
_CAPITALISED = re.compile(r"[A-Z\x80-\U0010ffff](?<=[^\W\d_a-z])(?<![\w.&\-].)[\w'’.&\-]*")
T = TypeVar("T")
#: upper-case words that are also English words: never taken as names in all-caps lines
_CAPS_WORDS = frozenset(
    {"US", "WHO", "IT", "AS", "IS", "IN", "AT", "ON", "OR", "AN", "NO", "ME", "SO", "TO", "BE"}
)


def _repeatable(name: str) -> bool:
    return (
        len(name) >= 2
        and name[0].isupper()
        and name.casefold() not in STOP_FORMS
        and not name.isdigit()
    )


def _glued(text: str, start: int, end: int, known: dict[str, str]) -> bool:
    """True when a capitalised neighbour makes the match part of a longer name."""
    following = _NEXT_WORD.match(text, end)
    if following:
        word = following.group(1)
        if word[0].isupper() and word not in known and word.casefold() not in FUNCTION_WORDS:
            return True
    preceding = _PREV_WORD.search(text, max(0, start - 40), start)
    if preceding:
        word = preceding.group(1)
        if (
            word[0].isupper()
            and word not in known
            and word.rstrip(".").casefold() not in TITLES
            and word.casefold() not in FUNCTION_WORDS
        ):
            return True
    return False


def _mark(taken: bytearray, start: int, end: int) -> None:
    taken[start:end] = b"\x01" * (end - start)


def _lookup(text: str, start: int, end: int, table: Mapping[str, T]) -> tuple[int, T] | None:
    """(end, value) for the text at start..end, less trailing punctuation or a possessive."""
    surface = text[start:end]
    for candidate in _variants(surface):
        value = table.get(candidate)
        if value is not None:
            return start + len(candidate), value
    return None


def _variants(surface: str) -> list[str]:
    """`U.S.,` -> `U.S.,`, `U.S.`, `U.S`; `Fidan’s` -> `Fidan`."""
    found = [surface]
    bare = surface.rstrip(_CLOSERS)
    if bare.endswith(("'s", "’s")):
        bare = bare[:-2]
    if bare != surface:
        found.append(bare)
    if bare.endswith("."):
        found.append(bare.rstrip("."))
    return found


@lru_cache(maxsize=8192)
def _first_word(name: str) -> tuple[str, int]:
    """A name's first word (bare) and how many words it has (names recur across texts)."""
    parts = name.split()
    return bare_word(parts[0]), len(parts)


def _index(names: Iterable[str]) -> dict[str, int]:
    """First word (bare) of each name -> the most words a name starting with it has."""
    index: dict[str, int] = {}
    for name in names:
        first, size = _first_word(name)
        if size > index.get(first, 0):
            index[first] = size
    return index


def _longest(text: str, start: int, reach: int, table: Mapping[str, T]) -> tuple[int, T] | None:
    """The longest name of `table` (up to `reach` words) starting at `start`, on one line."""
    line_end = text.find("\n", start)
    following = text[start : line_end if line_end != -1 else len(text)].split(" ", reach)[:reach]
    for size in range(len(following), 0, -1):
        hit = _lookup(text, start, start + len(" ".join(following[:size])), table)
        if hit is not None:
            return hit
    return None


def add_repeats(
    text: str,
    spans: list[Span],
    names: Names,
    aliases: AliasTable | None = None,
    caps: CapsLines | None = None,
) -> list[Span]:
    """Spans plus the recurrences of the document's confident names that the model missed."""
    known = {name: label for name, label in names.labels.items() if _repeatable(name)}
    for surname in names.surnames:
        if _repeatable(surname) and surname not in known:
            known[surname] = "PERSON"
    in_capitals: dict[str, str] = {}
    upper_cased: list[tuple[str, str]] = []  # after every name written in capitals
    for name, label in known.items():
        if is_all_caps(name):
            in_capitals[name] = label
        elif len(name) > 2:
            upper_cased.append((name.upper(), label))
    for name, label in upper_cased:
        in_capitals.setdefault(name, label)
    known_index = _index(known) | _index(in_capitals)
    gazetteer_index = aliases.gazetteer_index() if aliases is not None else {}
    caps = caps if caps is not None else CapsLines(text)
    taken = bytearray(len(text))
    for span in spans:
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
    added: list[Span] = []
    for token in _CAPITALISED.finditer(text):
        start = token.start()
        if taken[start]:  # most capitalised words are in a mention already
            continue
        first = bare_word(token.group())
        reach, gazetteer_reach = known_index.get(first), gazetteer_index.get(first)
        if reach is None and gazetteer_reach is None:
            continue
        caps_line = start in caps
        hit: tuple[int, str] | None = None
        if reach is not None:
            hit = _longest(text, start, reach, in_capitals if caps_line else known)
        if hit is None and gazetteer_reach is not None and aliases is not None:
            table = aliases.upper_gazetteer() if caps_line else aliases.gazetteer
            entity = _longest(text, start, gazetteer_reach, table)
            hit = (entity[0], entity[1].label) if entity is not None else None
        if hit is None:
            continue
        end, label = hit
        if any(taken[start:end]):
            continue
        if caps_line and text[start:end] in _CAPS_WORDS:
            continue
        if not caps_line and _glued(text, start, end, known):
            continue
        _mark(taken, start, end)
        added.append(Span(start, end, label, fixed=True))
    return spans + added if added else spans
