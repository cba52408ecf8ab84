"""Measure the tagger on CoNLL-2003 style data: the raw model and the full rules, side by side.

Input: documents separated by `-DOCSTART-` lines, one token per line with its
NER tag in the last column (IOB1, BIO/IOB2 or IOBES), sentences separated by
blank lines. Each document is detokenised into plain text (sentences on their
own lines), tagged once by the raw model and once by the full Tagger, and
scored as multisets of (surface text, label): OntoNotes labels map to
CoNLL's (PERSON -> PER; GPE, LOC, FAC -> LOC; ORG -> ORG; NORP, EVENT,
PRODUCT, WORK_OF_ART, LAW, LANGUAGE -> MISC; the rest are dropped).

With `collection=True` the file's documents are tagged as one collection, as the store
would hold them after they were indexed and re-checked (`docflow reprocess --stage tag
--collection`): each document's weak names follow what the file's other documents say
(`tasks.entities.collection`). Without it each document is tagged alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from pydantic import BaseModel

from tasks.entities.collection import MemoryCollection
from tasks.errors import DocflowError
from tasks.models import Mention
from tasks.tag import Tagged, Tagger

LABEL_MAP = {
    "PERSON": "PER",
    "GPE": "LOC",
    "LOC": "LOC",
    "FAC": "LOC",
    "ORG": "ORG",
    "NORP": "MISC",
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
}
CONLL_LABELS = ("PER", "LOC", "ORG", "MISC")

_NO_SPACE_BEFORE = frozenset(
    {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'", "’", "''", "...", "n't", "N'T"}
)
_CLITICS = tuple(
    apostrophe + ending
    for apostrophe in "'’"
    for ending in ("s", "S", "re", "ve", "ll", "d", "m", "RE", "VE", "LL", "D", "M")
)
_NO_SPACE_AFTER = frozenset({"(", "[", "{", "$", "``", "#"})


class ConllFormatError(DocflowError):
    """A CoNLL file has a line docflow cannot read."""


class MentionSource(Protocol):
    """What evaluation needs from a tagger (`tasks.tag.Tagger` is one)."""

    def raw(self, text: str) -> list[Mention]: ...

    def tag(self, text: str) -> list[Mention]: ...


@dataclass(slots=True)
class GoldDocument:
    """A detokenised document and its gold entities as (start, end, label) character spans."""

    text: str
    entities: list[tuple[int, int, str]] = field(default_factory=list)

    def surfaces(self) -> Counter[tuple[str, str]]:
        return Counter((" ".join(self.text[a:b].split()), label) for a, b, label in self.entities)


# --- reading ----------------------------------------------------------------------------


def _split_tag(tag: str) -> tuple[str, str]:
    """('B' | 'I' | 'E' | 'S' | 'O', type) for a tag in any IOB flavour."""
    if tag in {"O", "_", "-"}:
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in "BIESLU":
        prefix = {"L": "E", "U": "S"}.get(tag[0], tag[0])
        return prefix, tag[2:]
    return "I", tag


def _entities(tags: list[str]) -> list[tuple[int, int, str]]:
    """Token-index spans (first, last, type) of the entities in one sentence's tags."""
    spans: list[tuple[int, int, str]] = []
    inside = False
    for index, tag in enumerate(tags):
        prefix, kind = _split_tag(tag)
        if prefix == "O":
            inside = False
            continue
        if inside and prefix not in {"B", "S"} and kind == spans[-1][2]:
            spans[-1] = (spans[-1][0], index, kind)
        else:
            spans.append((index, index, kind))
        inside = prefix not in {"E", "S"}
    return spans


def _join(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """A sentence's text and each token's character span in it."""
    out: list[str] = []
    offsets: list[tuple[int, int]] = []
    length = 0
    quote_open = False
    glue_next = True
    for token in tokens:
        glue = glue_next or token in _NO_SPACE_BEFORE or token.startswith(_CLITICS)
        if token == '"':
            glue = glue_next or quote_open
        if not glue:
            out.append(" ")
            length += 1
        offsets.append((length, length + len(token)))
        out.append(token)
        length += len(token)
        glue_next = token in _NO_SPACE_AFTER or (token == '"' and not quote_open)
        if token == '"':
            quote_open = not quote_open
    return "".join(out), offsets


def _document(sentences: list[list[tuple[str, str]]]) -> GoldDocument:
    lines: list[str] = []
    entities: list[tuple[int, int, str]] = []
    base = 0
    for sentence in sentences:
        tokens = [token for token, _ in sentence]
        line, offsets = _join(tokens)
        for first, last, kind in _entities([tag for _, tag in sentence]):
            entities.append((base + offsets[first][0], base + offsets[last][1], kind))
        lines.append(line)
        base += len(line) + 1
    return GoldDocument(text="\n".join(lines), entities=entities)


def parse_conll(content: str, source: str = "<conll>") -> list[GoldDocument]:
    """Documents from CoNLL text; a file without -DOCSTART- lines is one document."""
    documents: list[GoldDocument] = []
    sentences: list[list[tuple[str, str]]] = []
    sentence: list[tuple[str, str]] = []

    def close_sentence() -> None:
        nonlocal sentence
        if sentence:
            sentences.append(sentence)
            sentence = []

    def close_document() -> None:
        nonlocal sentences
        close_sentence()
        if sentences:
            documents.append(_document(sentences))
            sentences = []

    for number, line in enumerate(content.splitlines(), start=1):
        columns = line.split()
        if not columns:
            close_sentence()
        elif columns[0] == "-DOCSTART-":
            close_document()
        elif len(columns) < 2:
            raise ConllFormatError(
                f"{source}:{number}: expected a token and a tag, got {line.strip()!r}"
            )
        else:
            sentence.append((columns[0], columns[-1]))
    close_document()
    return documents


def read_conll(path: Path) -> list[GoldDocument]:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConllFormatError(f"{path}: cannot read CoNLL file: {exc}") from exc
    return parse_conll(content, str(path))


# --- scoring ----------------------------------------------------------------------------


class Score(BaseModel):
    """Counts and precision / recall / F1 for one label (or all of them)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


class SystemScore(BaseModel):
    """Per-label and micro-averaged scores of one system over all documents."""

    labels: dict[str, Score]
    micro: Score

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": {k: v.to_dict() for k, v in self.labels.items()},
            "micro": self.micro.to_dict(),
        }


class EvalReport(BaseModel):
    """Raw model vs full tagger on one CoNLL file."""

    source: str
    documents: int
    raw: SystemScore
    full: SystemScore
    #: the documents were tagged as one collection (see the module's docstring)
    collection: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "documents": self.documents,
            "collection": self.collection,
            "raw": self.raw.to_dict(),
            "full": self.full.to_dict(),
        }

    def format_table(self) -> str:
        header = (
            f"{'label':<6} {'gold':>5} | {'raw P':>6} {'R':>6} {'F1':>6} | "
            f"{'full P':>6} {'R':>6} {'F1':>6} | {'dF1':>6}"
        )
        how = ", tagged as one collection" if self.collection else ""
        lines = [f"{self.source}: {self.documents} documents{how}", header, "-" * len(header)]
        rows = [
            (label, self.raw.labels[label], self.full.labels[label]) for label in self.raw.labels
        ]
        rows.append(("micro", self.raw.micro, self.full.micro))
        for name, raw, full in rows:
            lines.append(
                f"{name:<6} {raw.tp + raw.fn:>5} | "
                f"{raw.precision:>6.3f} {raw.recall:>6.3f} {raw.f1:>6.3f} | "
                f"{full.precision:>6.3f} {full.recall:>6.3f} {full.f1:>6.3f} | "
                f"{full.f1 - raw.f1:>+6.3f}"
            )
        return "\n".join(lines)


def predicted_surfaces(mentions: Iterable[Mention]) -> Counter[tuple[str, str]]:
    """(surface, CoNLL label) multiset of a tagger's mentions; unmapped labels dropped."""
    return Counter(
        (" ".join(m.text.split()), LABEL_MAP[m.label]) for m in mentions if m.label in LABEL_MAP
    )


def score_documents(
    pairs: Iterable[tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]],
) -> SystemScore:
    """Score (gold, predicted) multisets document by document, summed per label."""
    totals: dict[str, Score] = {label: Score() for label in CONLL_LABELS}
    for gold, predicted in pairs:
        for key in gold.keys() | predicted.keys():
            label = key[1]
            score = totals.setdefault(label, Score())
            hit = min(gold[key], predicted[key])
            score.tp += hit
            score.fp += predicted[key] - hit
            score.fn += gold[key] - hit
    micro = Score(
        tp=sum(s.tp for s in totals.values()),
        fp=sum(s.fp for s in totals.values()),
        fn=sum(s.fn for s in totals.values()),
    )
    return SystemScore(labels=totals, micro=micro)


def evaluate_documents(
    documents: list[GoldDocument],
    tagger: MentionSource,
    source: str = "",
    collection: bool = False,
) -> EvalReport:
    """Score the raw model and the full tagger on every document; with `collection` (the
    real `Tagger`), the full tagger sees the documents as one collection."""
    texts = [document.text for document in documents]
    if collection:
        full = tag_as_collection(cast(Tagger, tagger), texts)
    else:
        full = [tagger.tag(text) for text in texts]
    raw_pairs = []
    full_pairs = []
    for document, mentions in zip(documents, full, strict=True):
        gold = document.surfaces()
        raw_pairs.append((gold, predicted_surfaces(tagger.raw(document.text))))
        full_pairs.append((gold, predicted_surfaces(mentions)))
    return EvalReport(
        source=source,
        documents=len(documents),
        raw=score_documents(raw_pairs),
        full=score_documents(full_pairs),
        collection=collection,
    )


def tag_as_collection(tagger: Tagger, texts: Sequence[str]) -> list[list[Mention]]:
    """Each text tagged by the model and rules, then its weak names re-checked against
    what the other texts say (each text's own vote left out), as a store re-checks them."""
    ids = [f"doc{i}" for i in range(len(texts))]
    tagged = tagger.tag_batch_with_spans(texts)
    evidence = MemoryCollection(
        {i: t.mentions for i, t in zip(ids, tagged, strict=True) if isinstance(t, Tagged)}
    )
    learned = tagger.with_collection(texts, tagged, evidence, list(ids))
    return [found.mentions if isinstance(found, Tagged) else [] for found in learned]


def evaluate_conll(path: Path, tagger: MentionSource, collection: bool = False) -> EvalReport:
    """Read a CoNLL file and score the raw model and the full tagger on every document."""
    return evaluate_documents(read_conll(path), tagger, source=path.name, collection=collection)
