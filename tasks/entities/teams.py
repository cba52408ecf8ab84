"""Cities named as sports teams: `Marseille beat Lyon 2-1` names two clubs, not two places.

Sports reports call a club by its city (`Barcelona said`, `Lyon 3 Nantes 0`), and the
model, having seen the name mostly as a place, labels it GPE. News annotation (CoNLL-2003,
OntoNotes) labels such a team ORG. The rule is kept narrow:

- only in a sports story: at least `MIN_SPORTS_WORDS` distinct words of `SPORTS_WORDS`
  (one stray `title` or `cup` in a politics story is not enough);
- only a city's name (`gazetteer.city_names`, one or two words, not in capitals), never a
  country's: a national team is written as its country and annotated as the place
  (`Brazil beat Argentina` stays GPE); never a name the alias table knows (countries
  that are also cities, `Monaco`, and curated names, `Washington`, keep the table's
  label) or the document uses for a person;
- the name must act as a team at least once: followed by a reporting or match verb
  (`Barcelona said`, `Marseille beat`, `Lyon have`, `Lyon will face`; not after a
  preposition: `the mayor of Barcelona said`), by a possessive and a team word
  (`Barcelona's striker`) or a team word (`Barcelona coach`), after a match verb
  (`beat Lyon`, `against Lyon`, `lost to Lyon`), or in a result line (`Lyon 3 Nantes 0`);
- then every mention of the name in the document becomes ORG (fixed, like the other
  rule-decided labels), except one right after a locative preposition (`the final in
  Barcelona`), which is left as it was. The rule runs after the others
  (`refine.refine_spans`), so the mentions `repeats` added are relabelled too; datelines
  are written in capitals and never match a city's name as written.

Outside sports stories nothing changes: `Washington said` in a politics story is the
government. No team or league lists: the evidence is the sentence and the city table.
"""

from __future__ import annotations

import re

from tasks.entities.aliases import AliasTable
from tasks.entities.consistency import Names
from tasks.entities.gazetteer import city_names
from tasks.entities.spans import Span, form, is_all_caps, word_set

#: general sports vocabulary, across sports (a plural counts as its singular); a story is
#: a sports story when it uses `MIN_SPORTS_WORDS` distinct ones. Words also common
#: elsewhere (`title`, `cup`, `season`, `match`, `coach`, `league`) count, but one or two
#: never decide; words that are mostly something else in news are left out (`win`, `beat`,
#: `final`, `penalty`, `set`, `rebound`, `promoted`), and so are names (`Derby`, `Homer`).
SPORTS_WORDS = word_set(
    """
    match league cup season coach striker goalkeeper keeper midfielder defender winger
    tournament championship title innings wicket quarterback touchdown playoff seeded
    scored goal halftime half-time equaliser equalizer equalised equalized hat-trick
    semi-final semifinal quarter-final quarterfinal relegation relegated unbeaten fixture
    kickoff kick-off squad tiebreak tie-break batsman bowler pitcher medal olympic podium
    teammate goalless stoppage scorer referee soccer football rugby cricket tennis
    basketball baseball hockey
    """
)
MIN_SPORTS_WORDS = 3
#: words after a city's name (or its possessive) that make it a team's
TEAM_WORDS = word_set(
    """
    coach manager striker forward winger midfielder defender goalkeeper keeper captain
    skipper boss squad players fans supporters
    """
)
#: ... and after its possessive only (`Barcelona's win`, not `Barcelona win`: a verb)
_POSSESSED = TEAM_WORDS | word_set(
    "player goal goals opener equaliser equalizer winner win victory defeat title season lead"
)
#: prepositions of place: a mention right after one stays as it was (`the final in Barcelona`)
LOCATIVES = word_set("in at to from near outside inside into across around via through")
#: words before a name that make it no subject (`the mayor of Barcelona said`)
_NOT_BEFORE_SUBJECT = LOCATIVES | word_set("of for with by on about than like the a an")
#: verbs a team is the subject of, right after its name
_VERBS = (
    "said says beat beats won win wins lost lose loses drew draw draws signed sacked face "
    "faces faced play plays played lead leads led trail trails trailed confirmed announced "
    "scored conceded equalised equalized defeated edged thrashed clinched"
)
#: a singular city with a plural verb is a team (`Lyon have`, `Lyon are`)
_PLURAL = "have are were"
#: auxiliaries count only before a match verb (`Barcelona will face`, not `will host the final`)
_AUXILIARIES = "will would could can has had is was must may might should"
_ADVERBS = "not also now still already then never again"
_BASE_VERBS = f"{_VERBS} beaten drawn sign sack"
#: a city that wins the right to host a final is a place: no subject evidence then
_HOSTING = re.compile(r"\bhost(?:s|ed|ing)?\b")


def _alternatives(words: str) -> str:
    return "|".join(sorted(set(words.split()), key=len, reverse=True))


#: used with `match(text, span.end)`: what follows a mention of a team, by kind:
#: `'s (new) coach`, ` coach`, ` 2 Real Madrid 1` (a result line's first team), ` 1` (its
#: second, after `Barcelona 2 `), ` host Nantes` (not `host the final`), ` said`, ` have`,
#: ` will face` (an auxiliary only before a match verb: not `will host the final`)
_NAME = r"[A-Z][\w.'’\-]*+(?:[ \t][A-Z][\w.'’\-]*+){0,3}"
_SCORE = r"\d{1,2}(?![\w%]|[.,:]\d)"
_AFTER = re.compile(  # `(?<![ \t])`: a search never rescans a blank run from each blank
    rf"(?<![ \t])(?:(?P<possessive>['’]s[ \t]++(?:[\w\-]++[ \t]++)?"
    rf"(?:{_alternatives(' '.join(_POSSESSED))})(?![\w\-]))"
    rf"|[ \t]++(?:(?P<adjunct>(?:{_alternatives(' '.join(TEAM_WORDS))})(?![\w\-]))"
    rf"|(?P<result>\d{{1,2}}[ \t]++{_NAME}[ \t]++{_SCORE})"
    rf"|(?P<score>{_SCORE})"
    rf"|(?P<hosts>hosts?[ \t]++(?!The\b)[A-Z])"
    rf"|(?P<subject>(?:{_alternatives(_VERBS + ' ' + _PLURAL)}"
    rf"|(?:{_alternatives(_AUXILIARIES)})[ \t]++(?:(?:{_alternatives(_ADVERBS)})[ \t]++)?"
    rf"(?:{_alternatives(_BASE_VERBS)}))(?![\w\-]))))"
)
#: last words before a name that make it the other side of a match (`beat Lyon`)
_OBJECT_AFTER = word_set(
    "beat beats beating defeated defeat edged thrashed hammered routed against versus vs "
    "vs. v v. face faces faced facing host hosts hosted hosting play plays played playing"
)
#: ... and pairs of them (`lost to` is no place: `to` alone is locative)
_OBJECT_AFTER_TWO = frozenset(
    [(verb, "to") for verb in word_set("lost lose loses losing fell falls")]
    + [(verb, "with") for verb in word_set("drew draw draws drawing drawn tied")]
)
#: each sports word and its plural -> the word (`goals` and `goal`, `matches` and `match`)
_SPORTS_FORMS = {f"{w}{end}": w for w in SPORTS_WORDS for end in ("es", "s", "")}
_NOT_A_WORD = re.compile(r"[^a-z\-]+")
#: a match score the model took into a name (`Lyon 2-1`)
_SCORE_TOKEN = re.compile(r"\d{1,2}[-–]\d{1,2}")
#: labels the model gives a city's name that this rule may change (`Lyon 2-1` PRODUCT)
_FROM = frozenset({"GPE", "LOC", "ORG", "PERSON", "NORP", "FAC", "PRODUCT"})


def is_sports_story(text: str) -> bool:
    """Does `text` use at least `MIN_SPORTS_WORDS` distinct words of `SPORTS_WORDS`?"""
    found = _SPORTS_FORMS.keys() & set(_NOT_A_WORD.split(text.casefold()))
    return len({_SPORTS_FORMS[word] for word in found}) >= MIN_SPORTS_WORDS


def _words_before(text: str, start: int) -> list[str]:
    """The last two words before `start` on its line, lower-case (`[]` when glued to it)."""
    if start == 0 or text[start - 1] not in " \t":
        return []
    window = text[max(0, start - 30) : start]
    line = window.rfind("\n")
    if line != -1:
        window = window[line + 1 :]
    elif start > 30 and not text[start - 31].isspace():
        window = window.split(None, 1)[-1]  # the first word is cut
    return window.casefold().split()[-2:]


def _is_locative(before: list[str]) -> bool:
    if not before or before[-1] not in LOCATIVES:
        return False
    return len(before) < 2 or (before[-2], before[-1]) not in _OBJECT_AFTER_TWO


def _acts_as_team(text: str, span: Span, end: int) -> bool:
    """Does this mention of a city (its name ends at `end`) read as a team's (see the
    module doc)? A score the model took into the name (`Lyon 2-1`) says so by itself."""
    if end != span.end:
        return True
    after = _AFTER.match(text, end)
    kind = after.lastgroup if after is not None else None
    if kind in ("possessive", "adjunct", "result"):
        return True
    if kind == "score" and _after_a_score(text, span.start):
        return True
    before = _words_before(text, span.start)
    if before and (before[-1] in _OBJECT_AFTER or tuple(before) in _OBJECT_AFTER_TWO):
        return True
    if kind not in ("hosts", "subject") or (before and before[-1] in _NOT_BEFORE_SUBJECT):
        return False
    # `Paris won the right to host the Games`: a host city, no team
    return kind == "hosts" or not _HOSTING.search(text[end : end + 80].split(".", 1)[0])


def _after_a_score(text: str, start: int) -> bool:
    """`Barcelona 2 ` right before `start`: a capitalised name, then a one- or two-digit score."""
    line_start = text.rfind("\n", max(0, start - 60), start) + 1
    before = text[max(line_start, start - 60) : start]
    parts = before.split()
    return (
        before.endswith((" ", "\t"))
        and len(parts) >= 2
        and parts[-1].isdigit()
        and len(parts[-1]) <= 2
        and parts[-2][:1].isupper()
    )


def _city_mentions(text: str, spans: list[Span]) -> dict[str, list[tuple[Span, int]]]:
    """The name spans whose text is a city's name, by name, each with where the name ends
    (before a score the model took in: `Lyon 2-1`). A set lookup per span: most documents
    have no candidate and pay nothing more."""
    cities = city_names()
    found: dict[str, list[tuple[Span, int]]] = {}
    for span in spans:
        if span.label not in _FROM:
            continue
        name, end = text[span.start : span.end], span.end
        if name not in cities:
            if "\n" in name or "  " in name:
                name = form(name)  # a line break inside the name
            elif name[-1:].isdigit():
                name, _, score = name.rpartition(" ")
                end = span.start + len(name) if _SCORE_TOKEN.fullmatch(score) else -1
            if end == -1 or name not in cities:
                continue
        found.setdefault(name, []).append((span, end))
    return found


def _candidate(name: str, names: Names, aliases: AliasTable) -> bool:
    """A city's name of one or two words, not in capitals, that the alias table does not
    know (its countries: `Monaco`, `Singapore`; its entities keep the table's label in
    `linking` anyway: `Washington`) and that is no person's in this document."""
    if len(name.split()) > 2 or is_all_caps(name) or aliases.get(name) is not None:
        return False
    return names.label_of(name) != "PERSON"


def mark_teams(text: str, spans: list[Span], names: Names, aliases: AliasTable) -> list[Span]:
    """In a sports story, relabel the mentions of cities that act as teams ORG (fixed, and
    without a score the model took in); a mention right after a locative preposition, and
    every other span, unchanged."""
    teams = [
        mentions
        for name, mentions in _city_mentions(text, spans).items()
        if any(s.label != "ORG" or end != s.end for s, end in mentions)
        and _candidate(name, names, aliases)
        and any(_acts_as_team(text, s, end) for s, end in mentions)
    ]
    if not teams or not is_sports_story(text):
        return spans
    for mentions in teams:
        for span, end in mentions:
            if not _is_locative(_words_before(text, span.start)):
                span.end, span.label, span.fixed = end, "ORG", True
    return spans
