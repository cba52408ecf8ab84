"""A collection that learns: a name's label across the store's documents, as evidence.

Each canonical entity keeps its label evidence in the store: the `entities` row
`GPE:marseille` counts the documents that call Marseille a place, `ORG:marseille` those
that call it an organisation. A document's name is weak when it has one or two mentions
whose label is the model's own (its raw spans say it; no rule of the document set it),
with no personal title before a PERSON, no user rule (relabel, alias, merge) and no
built-in table or gazetteer entry behind it. A weak name takes the label the other
documents agree on (at least `MIN_DOCUMENTS` of them, and at least `MIN_SHARE_PERCENT` %
of those naming it at all); its entity id follows. Value labels (DATE, MONEY, ...) are
never touched, and the user always wins over the collection. The evidence is mostly the
same model's labels, which is why only the model's own, unsupported labels give way: a
systematic model error must not overrule what a rule decided.

Pure and deterministic: the same document and the same evidence give the same mentions.
The evidence never counts the document itself (on a re-tag its own indexed mentions are
in the counts: `Evidence.for_document` takes them out). `COLLECTION_VERSION` is part of
the tagger version, so a change of the thresholds or of this logic re-tags on
`docflow reprocess --stage tag`.

Feedback: a relabel made here is indexed like any other mention, so it adds to the very
consensus that caused it. That is safe because it only ever moves a weak document *to* a
label that already holds a clear majority of other documents: it never creates a
consensus (at least `MIN_DOCUMENTS` documents must agree before it acts) and never
overturns a document that says otherwise with strength. Against a fixed store state, every
weak document of a name sees the same share (its own vote taken out), so one pass
(`docflow reprocess --stage tag --collection`) moves all of them or none; a second pass
finds nothing more to change.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from tasks.entities.aliases import AliasTable
from tasks.entities.config import EntityConfig
from tasks.entities.gazetteer import is_place
from tasks.entities.normalize import entity_id, match_key, slug
from tasks.entities.spans import LABEL_PRIORITY, NAME_LABELS, TITLES
from tasks.models import Mention
from tasks.store.base import EntityDocuments

#: bump when the thresholds or the logic below change what they produce
COLLECTION_VERSION = "1"
#: at least this many other documents must give a name the consensus label ...
MIN_DOCUMENTS = 3
#: ... and at least this share (in %) of the other documents that name it at all
MIN_SHARE_PERCENT = 80
#: a document's own label of a name is weak with at most this many mentions of it
MAX_WEAK_MENTIONS = 2
#: labels the collection may learn (and override): the names, never the values
LEARNED_LABELS = NAME_LABELS
#: labels a place name of the gazetteer keeps against the collection
_PLACE_LABELS = frozenset({"GPE", "LOC"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the store holds about some names: documents per entity id, and the entity
    ids each of some documents counts in (to take a document's own vote out)."""

    documents: Mapping[str, int] = field(default_factory=dict)
    own: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def for_document(self, doc_id: str | None) -> dict[str, dict[str, int]]:
        """Per name slug, documents per label, without `doc_id`'s own mentions."""
        mine = self.own.get(doc_id, frozenset()) if doc_id else frozenset()
        out: dict[str, dict[str, int]] = {}
        for eid, count in self.documents.items():
            label, _, name = eid.partition(":")
            count -= int(eid in mine)
            if count > 0 and label in LEARNED_LABELS:
                out.setdefault(name, {})[label] = count
        return out


def name_of(mention: Mention) -> str:
    """The slug part of the mention's entity id (what the evidence is keyed by)."""
    if mention.entity_id and ":" in mention.entity_id:
        return mention.entity_id.split(":", 1)[1]
    return slug(mention.canonical or mention.text)


def consensus(counts: Mapping[str, int], own_label: str) -> str | None:
    """The label the other documents agree on, if it is not `own_label` and strong enough."""
    votes = {label: n for label, n in counts.items() if label in LEARNED_LABELS and n > 0}
    total = sum(votes.values())
    if not total:
        return None
    best = min(votes, key=lambda label: (-votes[label], LABEL_PRIORITY.index(label)))
    strong = votes[best] >= MIN_DOCUMENTS and votes[best] * 100 >= MIN_SHARE_PERCENT * total
    return best if strong and best != own_label else None


def _titled(text: str, mention: Mention) -> bool:
    """`Mr. Marseille`, `President Marseille`: a personal title right before the mention."""
    before = text[max(0, mention.start - 40) : mention.start]
    if not before.endswith((" ", "\t")):
        return False
    last = before.rstrip(" \t").removesuffix(".").split()
    return bool(last) and last[-1].casefold() in TITLES


def _ruled_keys(config: EntityConfig) -> frozenset[str]:
    """The match keys every user rule that fixes a name names: relabels, both sides of
    aliases and merges (made once per document, not once per mention)."""
    targets = (*config.aliases.values(), *config.merges.values())
    return frozenset(
        (*config.relabels, *config.aliases, *config.merges, *(match_key(t) for t in targets))
    )


def _user_says(ruled: frozenset[str], mention: Mention) -> bool:
    """Does a user rule (relabel, alias, merge) name this mention or its entity?"""
    return any(match_key(n) in ruled for n in (mention.canonical, mention.text) if n)


def _known(aliases: AliasTable | None, mention: Mention) -> bool:
    """Built-in knowledge gives the mention its label: the alias table or, for a place
    label, the gazetteer."""
    if aliases is not None:
        entry = aliases.get(mention.canonical or mention.text)
        if entry is not None and entry.label == mention.label:
            return True
    return mention.label in _PLACE_LABELS and is_place(mention.canonical or mention.text)


class _RawSpans:
    """The model's raw spans of one document, sorted by start: the labels of those that
    overlap a mention are found by binary search, not by reading them all."""

    def __init__(self, spans: Sequence[tuple[int, int, str]]) -> None:
        self._spans = sorted(spans, key=itemgetter(0))
        self._starts = [start for start, _, _ in self._spans]
        #: no span is longer, so one starting at or before `start - reach` ends by `start`
        self._reach = max((end - start for start, end, _ in self._spans), default=0)

    def models_own(self, mention: Mention) -> bool:
        """Is the mention's label the model's alone? Its raw spans all say that label (a
        label a rule set, or a mention a rule added where the model found nothing, is not)."""
        low = bisect_right(self._starts, mention.start - self._reach)
        high = bisect_left(self._starts, mention.end)
        labels = {label for _, end, label in self._spans[low:high] if mention.start < end}
        return labels == {mention.label}


def candidates(
    text: str,
    mentions: Sequence[Mention],
    config: EntityConfig,
    aliases: AliasTable | None = None,
    spans: Sequence[tuple[int, int, str]] | None = None,
) -> dict[tuple[str, str], list[int]]:
    """(name slug, label) -> indexes of the mentions the collection may relabel: the
    document's weak names only. With the model's raw `spans`, only names whose label is
    the model's own (no rule of the document decided it) are weak."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, mention in enumerate(mentions):
        if mention.label in LEARNED_LABELS:
            groups.setdefault((name_of(mention), mention.label), []).append(i)
    weak: dict[tuple[str, str], list[int]] = {}
    ruled = _ruled_keys(config)
    raw: _RawSpans | None = None  # sorted when first needed
    for key, indexes in groups.items():
        group = [mentions[i] for i in indexes]
        if len(group) > MAX_WEAK_MENTIONS:
            continue
        if key[1] == "PERSON" and any(_titled(text, m) for m in group):
            continue
        if any(_user_says(ruled, m) or _known(aliases, m) for m in group):
            continue
        if spans is not None:
            raw = raw if raw is not None else _RawSpans(spans)
            if not all(raw.models_own(m) for m in group):
                continue
        weak[key] = indexes
    return weak


def evidence_ids(keys: Iterable[tuple[str, str]]) -> list[str]:
    """The `entities` ids to read for these (name, label) candidates: every name label of
    each name (primary-key lookups), sorted."""
    names = {name for name, _ in keys}
    return sorted(f"{label}:{name}" for name in names for label in LEARNED_LABELS)


def relabel(
    mentions: Sequence[Mention],
    weak: Mapping[tuple[str, str], Sequence[int]],
    counts: Mapping[str, Mapping[str, int]],
) -> list[Mention]:
    """`mentions` with each weak (name, label) group (`candidates`) that the collection
    outvotes (`consensus` over `counts`) moved to the collection's label and entity id."""
    out = list(mentions)
    for (name, label), indexes in sorted(weak.items()):
        learned = consensus(counts.get(name, {}), label)
        if learned is None:
            continue
        for i in indexes:
            m = out[i]
            eid = entity_id(learned, m.canonical or m.text)
            out[i] = m.model_copy(update={"label": learned, "entity_id": eid})
    return out


def learn(
    text: str,
    mentions: Sequence[Mention],
    counts: Mapping[str, Mapping[str, int]],
    config: EntityConfig,
    aliases: AliasTable | None = None,
    spans: Sequence[tuple[int, int, str]] | None = None,
) -> list[Mention]:
    """The document's mentions, its weak names relabelled where the collection agrees.

    `counts` is `Evidence.for_document(...)`: per name slug, the other documents per label;
    `spans` the model's raw spans the mentions were refined from (see `candidates`).
    """
    return relabel(mentions, candidates(text, mentions, config, aliases, spans), counts)


class MemoryCollection:
    """The label evidence of documents held in memory, read like a store's
    (`Store.entity_documents`): `docflow eval` tags a CoNLL file's documents as one
    collection, as if each were indexed first and then re-checked."""

    def __init__(self, mentions: Mapping[str, Sequence[Mention]]) -> None:
        self._own = {
            doc_id: frozenset(m.entity_id for m in found if m.entity_id)
            for doc_id, found in mentions.items()
        }
        counts: dict[str, int] = {}
        for ids in self._own.values():
            for eid in ids:
                counts[eid] = counts.get(eid, 0) + 1
        self._documents = counts

    def entity_documents(
        self, entity_ids: Collection[str], doc_ids: Collection[str] = ()
    ) -> EntityDocuments:
        documents = {eid: self._documents[eid] for eid in entity_ids if eid in self._documents}
        own = {doc: self._own[doc] & documents.keys() for doc in doc_ids if doc in self._own}
        return EntityDocuments(documents, own)
