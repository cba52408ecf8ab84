"""The working unit of the rules: a labelled character span, plus shared word lists."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass


def word_set(words: str) -> frozenset[str]:
    """A set of lower-case words written as one whitespace-separated string."""
    return frozenset(words.split())


#: OntoNotes labels that name things; the rest (DATE, MONEY, ...) are values, only trimmed
NAME_LABELS = frozenset(
    {
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
    }
)

#: preference when a name's labels are tied
LABEL_PRIORITY = (
    "PERSON",
    "GPE",
    "ORG",
    "LOC",
    "NORP",
    "FAC",
    "EVENT",
    "PRODUCT",
    "LAW",
    "WORK_OF_ART",
    "LANGUAGE",
)

#: words that head a person's name without being part of it, and other capitalised words
#: that do not end a sentence-initial run (used to decide whether a neighbour is part of a name)
TITLES = word_set(
    """
    mr mrs ms dr prof sir dame lord lady president vice prime minister secretary chancellor premier
    king queen prince princess pope sheikh emir general gen col colonel lt sgt captain capt admiral
    senator sen rep representative governor gov mayor judge justice ambassador envoy spokesman
    spokeswoman spokesperson chairman chairwoman chair chief director deputy foreign defence defense
    interior finance economy trade coach striker defender midfielder goalkeeper keeper
    manager leader opposition former then-president then president-elect crown ayatollah
    commander officer official minister-president chief-executive ceo cfo
    """
)

#: capitalised function words that start sentences and headlines
FUNCTION_WORDS = word_set(
    """
    a an the and but or nor for so yet in on at by to of from with without into onto over under
    after before during since until while when where whether if as than though although because
    about above across against along among around behind below beside between beyond despite down
    inside near off out outside through throughout toward towards up upon via within according
    also meanwhile however still then there here this that these those it its he she they we i you
    his her their our my your some many most more all both each every other another such no not
    asked speaking earlier later today yesterday tomorrow last next new
    """
)

#: surface forms never worth repeating or splitting on, even if the model tagged them once
STOP_FORMS = word_set(
    """
    the a an i he she it we they you this that these those mr mrs ms dr sir president minister
    secretary state government parliament court army police party congress senate house ministry
    north south east west northern southern eastern western central january february march april
    may june july august september october november december monday tuesday wednesday thursday
    friday saturday sunday today yesterday tomorrow
    """
)

#: words that mark an organisation name rather than a person
ORG_WORDS = word_set(
    """
    corp corporation inc co company ltd llc plc group bank holdings capital partners fund trust
    association society council committee party union league federation club university institute
    agency authority board ministry department office motors electric airlines airways systems
    international industries services news times post press partnership
    """
)

_WORD = re.compile(r"[^\W_][\w'’.\-]*")
_LINE = re.compile(r"[^\n]+")
_UP = "A-ZÀ-ÖØ-Þ"
#: the lookbehind comes after the first letter (same matches) so a search skips to capitals
_CAPS_WORD = rf"[{_UP}](?<![\w'’][{_UP}])[{_UP}0-9'’.&\-]*(?!\w)"
_CAPS_WORDS = re.compile(_CAPS_WORD)
#: what may stand between the words of a capitals run: digits, punctuation, blanks
_CAPS_GAP = re.compile(r"[^A-Za-zÀ-ÿ\n]+")
_UPPER = re.compile(r"[A-Z]")
_LOWER = re.compile(r"[a-z]")


@dataclass(slots=True)
class Span:
    """A mention under construction: offsets into the article text and a label."""

    start: int
    end: int
    label: str
    fixed: bool = False  # label set by a rule: not relabelled by the majority

    def text(self, text: str) -> str:
        return text[self.start : self.end]

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def form(surface: str) -> str:
    """A mention's surface with whitespace collapsed (line breaks inside names become spaces)."""
    return " ".join(surface.split())


def words(surface: str) -> list[str]:
    return _WORD.findall(surface)


def is_all_caps(surface: str) -> bool:
    """Written in capitals: `NATO`, `U.S.`, `LONDON 1996-12-06` (at least two characters)."""
    return len(surface) > 1 and surface.isupper()


def _headline_like(run: str) -> bool:
    """Capitals that read as a headline (`JAPAN WIN IN AL-AIN`), not a list (`NATO, EU, UN`)."""
    found = _CAPS_WORDS.findall(run)
    return len(found) >= 5 or any(word.casefold() in FUNCTION_WORDS for word in found)


def caps_runs(text: str) -> list[tuple[int, int]]:
    """Runs of three or more all-caps words with only digits or punctuation between them.

    One pass over the words (a single regex for the whole run backtracks exponentially
    when the words' own dots and dashes could also be read as the gaps between them).
    """
    runs: list[tuple[int, int]] = []
    start = end = count = 0
    for word in _CAPS_WORDS.finditer(text):
        if count and _CAPS_GAP.fullmatch(text[end : word.start()]):
            end, count = word.end(), count + 1
            continue
        if count >= 3:
            runs.append((start, end))
        start, end, count = word.start(), word.end(), 1
    if count >= 3:
        runs.append((start, end))
    return runs


class CapsLines:
    """Where one text is written in capitals: all-caps lines and runs of 3+ all-caps words.

    Headlines and datelines, whether on lines of their own or run into the body.
    Built once per text; `position in caps` is a binary search.
    """

    def __init__(self, text: str) -> None:
        found = [(m.start(), m.end()) for m in _LINE.finditer(text) if is_all_caps(m.group())]
        found += [(a, b) for a, b in caps_runs(text) if _headline_like(text[a:b])]
        found.sort()
        self._starts = [start for start, _ in found]
        self._ends = [end for _, end in found]

    def __contains__(self, position: object) -> bool:
        if not self._starts or not isinstance(position, int):
            return False
        index = bisect_right(self._starts, position) - 1
        while index >= 0:
            if position < self._ends[index]:
                return True
            if self._starts[index] < position - 200:
                return False
            index -= 1
        return False


def mostly_caps(text: str) -> bool:
    """More capital than small letters overall (then capitals say nothing about headlines)."""
    return len(_UPPER.findall(text)) > len(_LOWER.findall(text))
