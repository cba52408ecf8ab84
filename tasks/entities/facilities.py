"""Names of places built by people: `Jomo Kenyatta International Airport` is a facility.

The model often reads the person a facility is named after and stops there (`Jomo
Kenyatta` PERSON, then `International Airport` outside any name), or labels the whole
name PERSON. A name whose last word is a facility's head noun, or that runs on through
capitalised words to one on the same line, becomes one FAC mention (fixed: the
document's majority does not relabel it).
"""

from __future__ import annotations

import re

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
#: labels the model gives such names that this rule may change
_FROM = frozenset({"PERSON", "GPE", "NORP"})
_NAME_WORD = r"[A-Z][\w'’.\-]*"
_HEAD = "|".join(sorted(h.capitalize() for h in FACILITY_HEADS))
#: up to three more capitalised words, then a head noun, on the same line
_RUN_ON = re.compile(rf"(?:[ \t]{_NAME_WORD}){{0,3}}?[ \t](?:{_HEAD})\b")


def mark_facilities(text: str, spans: list[Span]) -> list[Span]:
    """Relabel (and extend) name spans that are facility names; other spans unchanged."""
    for span in spans:
        if span.label not in _FROM or span.fixed:
            continue
        last = span.text(text).rsplit(None, 1)[-1]
        if last.casefold() in FACILITY_HEADS:
            span.label, span.fixed = "FAC", True
            continue
        run_on = _RUN_ON.match(text, span.end)
        if run_on:
            span.end, span.label, span.fixed = run_on.end(), "FAC", True
    return spans
