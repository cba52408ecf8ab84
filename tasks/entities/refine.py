"""The rules on top of the raw model: pure functions of the text and the model's mentions."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from tasks.entities.aliases import AliasTable, builtin_aliases
from tasks.entities.clean import clean_span, fix_title_fragment, is_clean, may_be_title_fragment
from tasks.entities.compounds import split_compounds
from tasks.entities.config import EntityConfig
from tasks.entities.consistency import Names, decide_labels, drop_unconfirmed_caps
from tasks.entities.datelines import apply_datelines
from tasks.entities.facilities import mark_facilities
from tasks.entities.linking import Linker
from tasks.entities.normalize import entity_id
from tasks.entities.orgs import mark_organisations
from tasks.entities.repeats import add_repeats
from tasks.entities.segment import is_one_name, segment
from tasks.entities.spans import NAME_LABELS, CapsLines, Span, form
from tasks.entities.teams import mark_teams
from tasks.models import MENTIONS, Mention

#: bump when the rules change what they produce, so documents get re-tagged
RULES_VERSION = "3"


def _without_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Keep the earliest, then longest, of overlapping spans."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start), s.fixed)):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


@lru_cache(maxsize=16384)
def _kept_as_is(surface: str, label: str) -> bool:
    """Does `_cleaned` keep a span with this surface and label as it is, wherever it stands?

    The common case, told from the surface and label alone (names recur across texts):
    `clean_span`, `segment` and `fix_title_fragment` read the text around a span only
    when it is not so.
    """
    if not is_clean(surface):
        return False
    if label not in NAME_LABELS:
        return True
    return is_one_name(surface, label) and not may_be_title_fragment(surface, label)


def _cleaned(text: str, spans: Iterable[Span], aliases: AliasTable) -> list[Span]:
    result: list[Span] = []
    for span in spans:
        if _kept_as_is(text[span.start : span.end], span.label):
            result.append(span)
            continue
        first = clean_span(text, span, aliases)
        if first is None or first.label not in NAME_LABELS:  # values (dates, money): trimmed only
            if first is not None:
                result.append(first)
            continue
        pieces = segment(text, first)
        if len(pieces) != 1 or (pieces[0].start, pieces[0].end) != (first.start, first.end):
            pieces = [c for c in (clean_span(text, p, aliases) for p in pieces) if c is not None]
        for piece in pieces:
            fixed = fix_title_fragment(text, piece)
            if fixed is not None:
                result.append(fixed)
    return result


def refine_spans(text: str, spans: list[Span], aliases: AliasTable) -> tuple[list[Span], Names]:
    """Clean, relabel, split and complete the model's spans (no canonical names yet)."""
    caps = CapsLines(text)
    spans = mark_organisations(text, _cleaned(text, spans, aliases), aliases, caps)
    spans = _without_overlaps(mark_facilities(text, spans))
    names = decide_labels(text, spans, aliases)
    spans = drop_unconfirmed_caps(text, spans, names, aliases, caps)
    spans = apply_datelines(text, spans, aliases)
    spans = split_compounds(text, spans, names, aliases)
    spans = add_repeats(text, spans, names, aliases, caps)
    spans = mark_teams(text, spans, names, aliases)  # every mention there: repeats too
    for span in spans:
        if span.fixed:
            continue
        decided = names.label_of(form(text[span.start : span.end]))
        if decided is not None:
            span.label = decided
    return _without_overlaps(spans), names


def refine_offsets(
    text: str,
    offsets: Iterable[tuple[int, int, str]],
    config: EntityConfig | None = None,
    aliases: AliasTable | None = None,
) -> list[Mention]:
    """`refine` on (start, end, label) triples, as the tagger gets them from spaCy."""
    config = config or EntityConfig()
    aliases = aliases if aliases is not None else builtin_aliases()
    size = len(text)
    spans = [Span(start, end, label) for start, end, label in offsets if 0 <= start < end <= size]
    spans, names = refine_spans(text, spans, aliases)
    surfaces = [text[s.start : s.end] for s in spans]
    named = dict.fromkeys((form(x), s.label) for x, s in zip(surfaces, spans, strict=True))
    linker = Linker(list(named), aliases, config, names.acronyms)
    decided: dict[tuple[str, str], tuple[str, str, str] | None] = {}  # one per surface, label
    rows: list[dict[str, str | int]] = []
    for span, surface in zip(spans, surfaces, strict=True):
        key = (surface, span.label)
        if key in decided:
            found = decided[key]
        else:
            found = decided[key] = _decide(linker, config, surface, span.label)
        if found is None:
            continue
        label, canonical, eid = found
        rows.append(
            {
                "text": surface,
                "label": label,
                "start": span.start,
                "end": span.end,
                "canonical": canonical,
                "entity_id": eid,
            }
        )
    return MENTIONS.validate_python(rows)  # the same `Mention`s, validated in one call


def _decide(
    linker: Linker, config: EntityConfig, surface: str, label: str
) -> tuple[str, str, str] | None:
    """(label, canonical name, entity id) of a mention; None when the user blocks it."""
    resolved = linker.resolve(surface, label)
    if config.is_blocked(surface, resolved.canonical):
        return None
    label = config.label_for(resolved.canonical, surface) or resolved.label
    if label == resolved.label:
        return label, resolved.canonical, resolved.entity_id
    return label, resolved.canonical, entity_id(label, resolved.canonical)


def refine(
    text: str,
    mentions: Iterable[Mention],
    config: EntityConfig | None = None,
    aliases: AliasTable | None = None,
) -> list[Mention]:
    """Raw model mentions -> cleaned, consistent, completed and canonicalised mentions.

    Offsets stay exact: for every result `text[m.start:m.end] == m.text`.
    `config` is the user's entities.toml (none by default); `aliases` the
    built-in alias table (loaded once per process by default).
    """
    return refine_offsets(text, ((m.start, m.end, m.label) for m in mentions), config, aliases)
