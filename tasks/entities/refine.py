"""The rules on top of the raw model: pure functions of the text and the model's mentions."""

from __future__ import annotations

from collections.abc import Iterable

from tasks.entities.aliases import AliasTable, builtin_aliases
from tasks.entities.clean import clean_span, fix_title_fragment
from tasks.entities.compounds import split_compounds
from tasks.entities.config import EntityConfig
from tasks.entities.consistency import Names, decide_labels, drop_unconfirmed_caps
from tasks.entities.datelines import apply_datelines
from tasks.entities.facilities import mark_facilities
from tasks.entities.linking import Linker
from tasks.entities.normalize import entity_id
from tasks.entities.orgs import mark_organisations
from tasks.entities.repeats import add_repeats
from tasks.entities.segment import segment
from tasks.entities.spans import NAME_LABELS, CapsLines, Span, form
from tasks.entities.teams import mark_teams
from tasks.models import Mention

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


def _cleaned(text: str, spans: Iterable[Span], aliases: AliasTable) -> list[Span]:
    result: list[Span] = []
    for span in spans:
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
        decided = names.label_of(form(span.text(text)))
        if decided is not None and not span.fixed:
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
    spans = [
        Span(start, end, label) for start, end, label in offsets if 0 <= start < end <= len(text)
    ]
    spans, names = refine_spans(text, spans, aliases)
    linker = Linker([(form(s.text(text)), s.label) for s in spans], aliases, config, names.acronyms)
    result: list[Mention] = []
    for span in spans:
        surface = span.text(text)
        resolved = linker.resolve(surface, span.label)
        if config.is_blocked(surface, resolved.canonical):
            continue
        label = config.label_for(resolved.canonical, surface) or resolved.label
        result.append(
            Mention(
                text=surface,
                label=label,
                start=span.start,
                end=span.end,
                canonical=resolved.canonical,
                entity_id=(
                    resolved.entity_id
                    if label == resolved.label
                    else entity_id(label, resolved.canonical)
                ),
            )
        )
    return result


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
