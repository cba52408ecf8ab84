"""Names told by their last word: facilities (`Jomo Kenyatta International Airport`) and
sports clubs named after their city (`Manchester United`).

The model often reads the person a facility is named after and stops there (`Jomo
Kenyatta` PERSON, then `International Airport` outside any name), or labels the whole
name PERSON. A name whose last word is a facility's head noun, or that runs on through
capitalised words to one on the same line, becomes one FAC mention (fixed: the
document's majority does not relabel it). A place's name followed by a club word
(`Manchester United`, `Leeds Rovers`) that is not itself a place (`Mexico City` is)
is an ORG, whatever the model said.
"""

from __future__ import annotations

import re

from tasks.entities.gazetteer import is_place
from tasks.entities.spans import Span, word_set

#: head nouns of facility names (OntoNotes FAC: buildings, airports, roads, bridges)
FACILITY_HEADS = word_set(
    """
    airport airfield aerodrome stadium arena station terminal bridge tunnel dam highway
    motorway expressway freeway canal harbour harbor square street avenue boulevard palace
    castle cathedral basilica church chapel mosque temple synagogue shrine museum prison
    jail tower memorial mausoleum
    """
)
#: last words of club names made of a place's name
CLUB_WORDS = word_set("united rovers wanderers athletic albion hotspur rangers fc")
#: ... and those that also end places' names (`Kuwait City`): only against PERSON
CLUB_OR_PLACE_WORDS = word_set("city county town")
#: labels the model gives such names that this rule may change
_FROM = frozenset({"PERSON", "GPE", "NORP"})
_NAME_WORD = r"[A-Z][\w'’.\-]*"
_HEAD = "|".join(sorted(h.capitalize() for h in FACILITY_HEADS))
#: up to three more capitalised words, then a head noun, on the same line
_RUN_ON = re.compile(rf"(?:[ \t]{_NAME_WORD}){{0,3}}?[ \t](?:{_HEAD})\b")


def mark_facilities(text: str, spans: list[Span]) -> list[Span]:
    """Relabel (and extend) name spans that are facility or club names; others unchanged."""
    for span in spans:
        if span.label not in _FROM or span.fixed:
            continue
        name = span.text(text)
        first, _, last = name.rpartition(" ")
        last = last.casefold()
        club_word = last in CLUB_WORDS or (span.label == "PERSON" and last in CLUB_OR_PLACE_WORDS)
        if club_word and is_place(first) and not is_place(name):
            span.label, span.fixed = "ORG", True
            continue
        if last in FACILITY_HEADS:
            span.label, span.fixed = "FAC", True
            continue
        run_on = _RUN_ON.match(text, span.end)
        if run_on:
            span.end, span.label, span.fixed = run_on.end(), "FAC", True
    return spans
