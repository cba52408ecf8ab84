"""Organisation names told by their legal form (cleanco's table), and names the model cut in two.

A name ending in a legal form (`Lockheed Martin Corp.`, `Siemens AG`, `Acme Holdings Ltd`,
`Enel SpA`) is an organisation's, whatever the model said: the span becomes one ORG
mention (fixed: the document's majority does not relabel it), extended over the legal
form when the model stopped just before it (`Apple` + ` Inc`). The same name without its
legal form elsewhere in the document (`Lockheed Martin said`) is that organisation too.

The terms are cleanco's (`legal.legal_forms`: ~250 forms of ~70 countries, compared as
cleanco compares them: accents, case, dots and hyphens ignored). Many are also words,
names or acronyms (`AS`, `Teo`, `EU`, `GP`, `Co`), so how a term is written decides:

- a dotted (`Inc.`, `S.A.`), inner-capital (`GmbH`, `SpA`) or multi-word (`Pty Ltd`)
  form, or a capitalised word of four letters or more (`Corp`, `Limited`), counts;
- a capitalised three-letter word (`Inc`, `Ltd`, `Plc`), or two-letter one that cleanco
  writes with a full stop (`Co`), counts, but not against a PERSON the model read whose
  name starts with a given name (`Josephine Teo`, `Ivan Ong`);
- capitals (`AG`, `SA`, `NV`, `PLC`) count, except a term that the alias table knows as
  a name of its own (`UK`, `EU`, `VAT`), and a short one (two or three letters) after a
  place (`Louisville KY`, `Monaco GP`) or that the text also uses on its own (`the EV
  market` makes `Tesla EV` no legal form);
- nothing in an all-caps headline or dateline counts (`SIEMENS AG PROFIT UP`).

cleanco has no `PJSC` or `JSC`; none are added by hand (`Rosneft PJSC` stays as the
model read it).

Two name spans with only one blank between them (`Lockheed` ORG + `Martin` PERSON) are
one name when the document says so: the joined name ends in (or is followed by) a legal
form, is the name of a legal-form organisation elsewhere in the text, is a mention the
model read whole elsewhere, or is known to the alias table; or, in a sentence, a one-word
organisation that is no given name is followed by a one-word "person" (or a "product"
that is a given name) that is no place, no mention of its own elsewhere and none of the
document's people (`Lockheed Martin`, `Goldman Sachs`: an ORG; `Amazon Alexa` is joined
too, a known cost). Without such evidence they stay two names: `In London Johnson said`,
`Trump Putin summit`, `Hamas Gaza chief`, `Russia Ukraine war` and lists are not joined,
nor is anything in all-caps lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter

from tasks.entities.aliases import AliasTable
from tasks.entities.gazetteer import is_place
from tasks.entities.given_names import is_given_name
from tasks.entities.legal import (
    LegalForms,
    is_name_of_its_own,
    keeps_dot,
    legal_forms,
    normal,
    strength,
    term_at_end,
)
from tasks.entities.spans import NAME_LABELS, CapsLines, Span, form, is_all_caps

#: labels of names that a legal form at their end makes an organisation's
_RELABEL_FROM = frozenset({"PERSON", "NORP", "GPE", "LOC", "FAC", "ORG"})
#: labels of names a legal form right after them extends (not NORP: `Brazilian GP`)
_EXTEND_FROM = frozenset({"PERSON", "GPE", "LOC", "FAC", "ORG"})
#: labels the model gives the surname half of a company's name it cut in two
_NAMED_AFTER_PEOPLE = frozenset({"PRODUCT", "WORK_OF_ART"})
#: words after a name on its line: a legal form, maybe after a comma (`Apple, Inc.`)
_NEXT_WORD = re.compile(r",?[ \t]([&\w][\w.&/:'’\-]*+)")


@dataclass(slots=True)
class _Document:
    """What the legal-form tests need from one text."""

    text: str
    aliases: AliasTable
    caps: CapsLines
    alone: dict[str, bool]
    #: words of the document's multi-word PERSON names
    people: set[str]

    def stands_alone(self, word: str) -> bool:
        """Does the text use `word` other than right after a capitalised word?"""
        found = self.alone.get(word)
        if found is None:
            pattern = re.compile(rf"(?<![\w.&\-]){re.escape(word)}(?![\w&])")
            found = False
            for match in pattern.finditer(self.text):
                before = self.text[max(0, match.start() - 40) : match.start()]
                previous = before.rsplit(None, 1)[-1] if before.strip() else ""
                if not before.endswith(" ") or not previous[:1].isupper():
                    found = True
                    break
            self.alone[word] = found
        return found


def _counts(doc: _Document, written: list[str], name: str, label: str, forms: LegalForms) -> bool:
    """Is `written` (the legal-form words after `name`) evidence of an organisation here?"""
    how = strength(written, forms)
    if how is None:
        return False
    if len(written) == 1 and is_name_of_its_own(written[0], doc.aliases):
        return False  # UK, EU, VAT: names of their own
    if how == "weak":
        first = name.split(" ", 1)[0]
        return not (label == "PERSON" and is_given_name(first))
    if how == "short-caps":
        return not is_place(name) and not doc.stands_alone(written[0])
    return True


def _with_legal_form(doc: _Document, span: Span, forms: LegalForms) -> tuple[Span, str] | None:
    """(the span ending in its legal form, the name before it), or None."""
    if span.label not in _RELABEL_FROM or span.start in doc.caps:
        return None
    surface = span.text(doc.text)
    if normal(surface.rsplit(None, 1)[-1]) in forms.lasts:
        written = surface.split()
        size = term_at_end(written, forms)
        if size:
            name = " ".join(written[:-size]).rstrip(",")
            if name[:1].isupper() and _counts(doc, written[-size:], name, span.label, forms):
                return Span(span.start, span.end, "ORG", fixed=True), name
    if span.label not in _EXTEND_FROM or not surface[:1].isupper():
        return None
    if not _capital_after(doc.text, span.end):
        return None
    following: list[tuple[str, int]] = []
    position = span.end
    while len(following) < forms.longest:
        match = _NEXT_WORD.match(doc.text, position)
        if match is None or (following and match.group().startswith(",")):
            break
        first = match.group(1).removesuffix("'s").removesuffix("’s").rstrip(".")
        if not following and normal(first) not in forms.firsts:
            return None
        following.append((match.group(1), match.end()))
        position = match.end()
    for size in range(len(following), 0, -1):
        words = [w for w, _ in following[:size]]
        end = following[size - 1][1]
        if words[-1].endswith(("'s", "’s")):  # Apple Inc's shares
            words[-1], end = words[-1][:-2], end - 2
        if words[-1].endswith(".") and not keeps_dot(words[-1], forms):
            words[-1], end = words[-1][:-1], end - 1  # the sentence's full stop
        if tuple(normal(w) for w in words) not in forms.terms:
            continue
        name = form(surface)
        if _counts(doc, words, name, span.label, forms):
            return Span(span.start, end, "ORG", fixed=True), name
        return None
    return None


def _capital_after(text: str, end: int) -> bool:
    """Does a capitalised word, `&` or a dotted abbreviation (`d.o.o.`) follow `end` after
    one blank or `, `?"""
    after = text[end : end + 4]
    if after[:1] == ",":
        after = after[1:]
    if after[:1] not in (" ", "\t"):
        return False
    return after[1:2].isupper() or after[1:2] == "&" or after[2:3] == "."


def _joined_label(
    doc: _Document, first: Span, second: Span, whole: dict[str, list[str]], bases: set[str]
) -> str | None:
    """The label two neighbouring names get as one name, or None to keep them apart."""
    name = form(doc.text[first.start : second.end])
    if not all(w[:1].isupper() for w in name.split()) or is_all_caps(name):
        return None
    if name in bases:
        return "ORG"
    if name in whole:
        return Counter(whole[name]).most_common(1)[0][0]
    known = doc.aliases.get(name)
    if known is not None:
        return known.label
    return "ORG" if _company_and_surname(doc, first, second, whole) else None


def _company_and_surname(
    doc: _Document, first: Span, second: Span, whole: dict[str, list[str]]
) -> bool:
    """`Lockheed` ORG + `Martin` PERSON (or PRODUCT) in a sentence: one company named after
    people (the conditions are in the module's doc). In a title-case headline, neighbours
    are more often two names: the line must be written in sentence case."""
    if first.label != "ORG" or first.fixed or second.fixed:
        return False
    one, two = first.text(doc.text), second.text(doc.text)
    if " " in one or " " in two or two in doc.people or len(whole.get(two, ())) > 1:
        return False
    if is_given_name(one):  # `Chelsea` ORG + `Martin` PERSON may be a woman's name
        return False
    if second.label != "PERSON" and not (
        second.label in _NAMED_AFTER_PEOPLE and is_given_name(two)
    ):
        return False
    if any(is_place(w) or doc.aliases.get(w) is not None for w in (one, two)):
        return False
    line_start = doc.text.rfind("\n", 0, first.start) + 1
    line_end = doc.text.find("\n", second.end)
    before = doc.text[line_start : first.start].split()[1:]  # a line's first word: capital
    after = doc.text[second.end : line_end if line_end != -1 else len(doc.text)].split()
    others = [w for w in before + after if w[:1].isalpha()]
    lower = sum(1 for w in others if w[:1].islower())
    return lower > len(others) - lower


def mark_organisations(
    text: str, spans: list[Span], aliases: AliasTable, caps: CapsLines
) -> list[Span]:
    """Legal-form names as fixed ORG spans (extended over their legal form), neighbours
    the document shows to be one name joined, and the legal-form names' short form as
    ORG elsewhere. Other spans are returned unchanged."""
    forms = legal_forms()
    doc = _Document(text, aliases, caps, {}, _person_words(text, spans))
    result: list[Span] = []
    bases: dict[int, str] = {}  # span start -> its name without the legal form
    for span in sorted(spans, key=attrgetter("start", "end")):
        found = None if span.fixed else _with_legal_form(doc, span, forms)
        if found is not None:
            span, bases[span.start] = found
        result.append(span)
    result = _join_neighbours(doc, result, bases, forms)
    result += _missed_with_legal_form(doc, result, forms, bases)
    names = set(bases.values())
    for span in result if names else ():
        if span.fixed or span.label not in _RELABEL_FROM or span.label == "ORG":
            continue
        name = form(text[span.start : span.end])
        if name in names and name not in doc.people and not is_given_name(name):
            span.label, span.fixed = "ORG", True
    return result


def _missed_with_legal_form(
    doc: _Document, spans: list[Span], forms: LegalForms, bases: dict[int, str]
) -> list[Span]:
    """`Apple Inc has agreed` where the model read no name but `Apple` is an ORG elsewhere:
    an organisation's name followed by a legal form, outside every span, is one too."""
    organisations = {
        form(s.text(doc.text)) for s in spans if s.label == "ORG" and s.start not in bases
    }
    added: list[Span] = []
    for name in sorted(n for n in organisations if n[:1].isupper()):
        start = doc.text.find(name)
        while start != -1:
            end = start + len(name)
            glued = start > 0 and (doc.text[start - 1].isalnum() or doc.text[start - 1] in "-&'’")
            if not glued and _capital_after(doc.text, end):
                found = _with_legal_form(doc, Span(start, end, "ORG"), forms)
                if found is not None and not any(
                    s.overlaps(start, found[0].end) for s in spans + added
                ):
                    added.append(found[0])
                    bases[start] = found[1]
            start = doc.text.find(name, end)
    return added


def _join_neighbours(
    doc: _Document, spans: list[Span], bases: dict[int, str], forms: LegalForms
) -> list[Span]:
    """Neighbouring name spans with one blank between them joined where evidence says so.

    A span fixed by a legal form joins the name before it only into a longer legal-form
    name (`Lockheed` + `Martin Corp.`); `bases` is kept up to date.
    """
    whole: dict[str, list[str]] | None = None  # name -> its labels, read when first needed
    result: list[Span] = []
    for span in spans:
        previous = result[-1] if result else None
        if (
            previous is None
            or previous.fixed
            or doc.text[previous.end : span.start] != " "
            or previous.label not in NAME_LABELS
            or span.label not in NAME_LABELS
            or previous.start in doc.caps
        ):
            result.append(span)
            continue
        with_form = _with_legal_form(doc, Span(previous.start, span.end, "ORG"), forms)
        label = None
        if with_form is None and not span.fixed:
            whole = whole if whole is not None else _labels_by_name(doc.text, spans)
            label = _joined_label(doc, previous, span, whole, set(bases.values()))
        if with_form is not None:
            bases.pop(span.start, None)
            joined, bases[previous.start] = with_form
        elif label is not None:
            joined = Span(previous.start, span.end, label, fixed=True)
        else:
            result.append(span)
            continue
        result[-1] = joined
    return result


def _labels_by_name(text: str, spans: list[Span]) -> dict[str, list[str]]:
    """The labels of each name's spans (the spans themselves are never changed here)."""
    whole: dict[str, list[str]] = {}
    for span in spans:
        if span.label in NAME_LABELS:
            whole.setdefault(form(text[span.start : span.end]), []).append(span.label)
    return whole


def _person_words(text: str, spans: list[Span]) -> set[str]:
    """Words of the document's multi-word PERSON names (a surname is no company's name)."""
    people = (s.text(text).split() for s in spans if s.label == "PERSON" and not s.fixed)
    return {word for parts in people if len(parts) > 1 for word in parts}
