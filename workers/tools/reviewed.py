"""Score the tagger's current output against the user's review decisions, kept as gold.

`docflow entities review` appends each decision to `<data dir>/entities-reviewed.jsonl`,
one JSON object a line: `{"id", "name", "label", "decision", "target", "at"}`, where
`name` and `label` are the reviewed entity's canonical name and label at review time.
What each decision says, as gold, about that name (NAME):

- accept: (NAME, label) is a right entity. Agreed while some current mention has the
  canonical name NAME under that label.
- relabel (target: a label L): NAME's right label is L. Agreed while every current mention
  named NAME (by its text or its canonical name) is L.
- block: NAME is not an entity. Agreed while no current mention is named NAME.
- merge / alias (target: a canonical name B): NAME is the entity B. Agreed while every
  current mention named NAME has the canonical name B, or the one B resolves to now (the
  canonical names of B's own mentions, or where later decisions merge B).
- skip / quit: no gold (the review does not log them; such lines are ignored).

Names match as the rules match them (`match_key`: case, accents, dots and a leading
"the" aside), and a later decision about a name replaces an earlier one.

Which output is scored: the rules as they are now (the user's entities.toml included),
re-applied to the model's spans each indexed document kept, exactly as `docflow
reprocess --stage tag` would (`tasks.relink.plan_relinks`), not the mentions the store
holds. The stored mentions say what the rules said when each document was tagged; the
re-applied rules say whether the rules file agrees with the decisions now, before a
reprocess (a decision whose rule was never written, or was edited away, shows up at
once), and without running the model (one rules pass per indexed document, milliseconds
each). Documents tagged by another model or before spans were kept cannot be redone that
way: they are counted as not scored.

A name is seen in a document when a model span or a current mention there is named NAME.
A decision whose name is seen in no scored document is "unseen": neither agreed nor
disagreed. Pure apart from `evaluate_reviewed`, which reads the store through the
`Store` API; no Celery, no Redis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING, Any, Literal

from tasks.entities.normalize import match_key
from tasks.models import DocumentRecord, Mention, Status
from workers.tools.reviewed_gold import KINDS, Decision, ReviewedGold

if TYPE_CHECKING:
    from tasks.store.base import Store
    from tasks.tag import Tagger

#: documents planned together (one `plan_relinks` call): bounds what is held in memory
CHUNK = 200

Outcome = Literal["agree", "disagree", "unseen"]


# --- comparing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentOutput:
    """One scored document: the match keys of the model's span texts, and the mentions the
    rules give it now."""

    spans: frozenset[str]
    mentions: Sequence[Mention]


def _documents(n: int, kind: str = "indexed ") -> str:
    return f"{n} {kind}document{'' if n == 1 else 's'}"


@dataclass(slots=True)
class Reading:
    """What the current output says about one name: in how many documents it is seen, and
    its mentions as (canonical name, label) counts."""

    documents: int = 0
    mentions: Counter[tuple[str, str]] = field(default_factory=Counter)

    def describe(self) -> str:
        """In words: `'Kyiv' GPE x3, 'Kyiv' ORG x1 (2 documents)`."""
        docs = _documents(self.documents, "")
        if not self.documents:
            return "not seen in any scored document"
        if not self.mentions:
            return f"not an entity ({docs})"
        said = ", ".join(f"{name!r} {label} x{n}" for (name, label), n in self._ranked())
        return f"{said} ({docs})"

    def _ranked(self) -> list[tuple[tuple[str, str], int]]:
        return sorted(self.mentions.items(), key=lambda item: (-item[1], item[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "mentions": [
                {"canonical": name, "label": label, "count": n}
                for (name, label), n in self._ranked()
            ],
        }


def read_output(outputs: Iterable[DocumentOutput], keys: Collection[str]) -> dict[str, Reading]:
    """The `Reading` of each name key (`match_key`) over the documents."""
    watched = frozenset(keys)
    readings = {key: Reading() for key in watched}
    for output in outputs:
        seen = set(output.spans & watched)
        for mention in output.mentions:
            canonical = mention.canonical or mention.text
            for key in {match_key(mention.text), match_key(canonical)} & watched:
                readings[key].mentions[(canonical, mention.label)] += 1
                seen.add(key)
        for key in seen:
            readings[key].documents += 1
    return readings


def _merged_into(gold: ReviewedGold) -> dict[str, str]:
    """Name key -> the target of its merge or alias decision."""
    return {d.key: d.target for d in gold.decisions if d.kind in ("merge", "alias") and d.target}


def _chain(target: str, merges: dict[str, str]) -> list[str]:
    """The keys of `target` and of every name later decisions merge it on into (no loops)."""
    keys: list[str] = []
    key: str | None = match_key(target)
    while key is not None and key not in keys:
        keys.append(key)
        following = merges.get(key)
        key = match_key(following) if following else None
    return keys


def _same_entity(target: str, merges: dict[str, str], readings: dict[str, Reading]) -> set[str]:
    """The keys of the canonical names that count as `target`: itself, where later decisions
    merge it, and the canonical names its own mentions have now."""
    keys = set(_chain(target, merges))
    keys.update(match_key(name) for name, _ in readings[match_key(target)].mentions)
    return keys


def _targets(gold: ReviewedGold) -> set[str]:
    """The keys of the merge and alias targets, and of where they are merged on into."""
    merges = _merged_into(gold)
    return {key for target in merges.values() for key in _chain(target, merges)}


def judge(decision: Decision, readings: dict[str, Reading], merges: dict[str, str]) -> Outcome:
    """Does the current output (`readings` of every decided name and target) agree?"""
    reading = readings[decision.key]
    if not reading.documents:
        return "unseen"
    said = reading.mentions
    if decision.kind == "block":
        agree = not said
    elif decision.kind == "accept":
        agree = any(match_key(n) == decision.key and label == decision.label for n, label in said)
    elif decision.kind == "relabel":
        agree = bool(said) and all(label == decision.target for _, label in said)
    else:
        same = _same_entity(decision.target or "", merges, readings)
        agree = bool(said) and all(match_key(name) in same for name, _ in said)
    return "agree" if agree else "disagree"


@dataclass(frozen=True, slots=True)
class Result:
    """One decision, whether the current output agrees, and what that output says."""

    decision: Decision
    outcome: Outcome
    reading: Reading

    def to_dict(self) -> dict[str, Any]:
        return {**self.decision.to_dict(), "outcome": self.outcome, "now": self.reading.to_dict()}


@dataclass(frozen=True, slots=True)
class Tally:
    """Decisions of one kind (or all): how many the current output agrees with."""

    decisions: int = 0
    agree: int = 0
    disagree: int = 0
    unseen: int = 0

    @property
    def agreement(self) -> float | None:
        """Agreed / (agreed + disagreed); None when nothing was scored."""
        scored = self.agree + self.disagree
        return self.agree / scored if scored else None

    def add(self, outcome: Outcome) -> Tally:
        return Tally(
            self.decisions + 1,
            self.agree + (outcome == "agree"),
            self.disagree + (outcome == "disagree"),
            self.unseen + (outcome == "unseen"),
        )

    def to_dict(self) -> dict[str, Any]:
        agreement = self.agreement
        return {
            "decisions": self.decisions,
            "agree": self.agree,
            "disagree": self.disagree,
            "unseen": self.unseen,
            "agreement": None if agreement is None else round(agreement, 4),
        }


@dataclass(frozen=True, slots=True)
class ReviewedReport:
    """The current output against every decision of a decisions file."""

    gold: ReviewedGold
    documents: int
    results: tuple[Result, ...]
    not_scored: int = 0

    def tally(self, kind: str | None = None) -> Tally:
        """The decisions of `kind` (None: all of them)."""
        total = Tally()
        for result in self.results:
            if kind is None or result.decision.kind == kind:
                total = total.add(result.outcome)
        return total

    def of(self, outcome: Outcome) -> list[Result]:
        return [r for r in self.results if r.outcome == outcome]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.gold.source,
            "decisions": len(self.gold.decisions),
            "superseded": self.gold.superseded,
            "ignored": self.gold.ignored,
            "documents": self.documents,
            "not_scored": self.not_scored,
            "kinds": {kind: self.tally(kind).to_dict() for kind in KINDS},
            "overall": self.tally().to_dict(),
            "disagreements": [r.to_dict() for r in self.of("disagree")],
            "results": [r.to_dict() for r in self.results],
        }

    def format_table(self) -> str:
        gold = self.gold
        lines = [
            f"{gold.source}: {len(gold.decisions)} decisions ({gold.superseded} replaced by a "
            f"later decision about the same name, {gold.ignored} skip/quit ignored)"
        ]
        if not gold.decisions:
            lines.append("nothing to score: `docflow entities review` logs decisions there")
            return "\n".join(lines)
        lines.append(
            f"scored on {_documents(self.documents)}: the rules as they are now, over the "
            "model's kept spans"
        )
        if self.not_scored:
            lines.append(
                f"{_documents(self.not_scored)} not scored (tagged by another model or before "
                "spans were kept; `docflow reprocess --stage tag` re-tags outdated ones, --all "
                "every one)"
            )
        header = f"{'decision':<9} {'total':>5} {'agree':>6} {'disagree':>8} {'unseen':>6}"
        header += "  agreement"
        lines += ["", header, "-" * len(header)]
        rows = [(kind, self.tally(kind)) for kind in KINDS]
        for name, tally in [*rows, ("all", self.tally())]:
            share = "-" if tally.agreement is None else f"{tally.agreement:.3f}"
            lines.append(
                f"{name:<9} {tally.decisions:>5} {tally.agree:>6} {tally.disagree:>8} "
                f"{tally.unseen:>6}  {share}"
            )
        overall = self.tally()
        scored = overall.agree + overall.disagree
        lines.append(f"\nthe current output agrees with {overall.agree}/{scored} decisions")
        sections: tuple[tuple[Outcome, str], ...] = (
            ("disagree", "disagreements (name, decision, what the tagger says now)"),
            ("unseen", "not seen in any scored document (not counted)"),
        )
        for outcome, title in sections:
            found = self.of(outcome)
            if found:
                lines.append(f"\n{title}:")
                width = max(len(r.decision.name) for r in found)
                said = max(len(r.decision.describe()) for r in found)
                for r in found:
                    now = "" if outcome == "unseen" else f"  now: {r.reading.describe()}"
                    decision = f"{r.decision.describe():<{said}}" if now else r.decision.describe()
                    lines.append(f"  {r.decision.name:<{width}}  {decision}{now}")
        return "\n".join(lines)


def score_reviewed(gold: ReviewedGold, outputs: Iterable[DocumentOutput]) -> ReviewedReport:
    """Compare the documents' current output with every decision of `gold`."""
    counted = 0

    def counting() -> Iterator[DocumentOutput]:
        nonlocal counted
        for output in outputs:
            counted += 1
            yield output

    keys = {d.key for d in gold.decisions} | _targets(gold)
    readings = read_output(counting(), keys) if gold.decisions else {}
    merges = _merged_into(gold)
    results = tuple(Result(d, judge(d, readings, merges), readings[d.key]) for d in gold.decisions)
    return ReviewedReport(gold=gold, documents=counted, results=results)


# --- the store --------------------------------------------------------------------------


def _chunks(docs: Iterable[DocumentRecord], size: int) -> Iterator[list[DocumentRecord]]:
    it = iter(docs)
    while chunk := list(islice(it, size)):
        yield chunk


def evaluate_reviewed(gold: ReviewedGold, store: Store, tagger: Tagger) -> ReviewedReport:
    """Score `gold` on every indexed document of `store` the current rules can redo from
    its kept spans (`plan_relinks`, nothing written); the others are `not_scored`."""
    from tasks.relink import plan_relinks

    not_scored = 0

    def outputs() -> Iterator[DocumentOutput]:
        nonlocal not_scored
        for chunk in _chunks(store.iter_documents(Status.indexed), CHUNK):
            quick, slow = plan_relinks(store, tagger, chunk)
            not_scored += len(slow)
            for relink in quick:
                text = relink.doc.article.text if relink.doc.article else ""
                found = frozenset(match_key(text[a:b]) for a, b, _ in relink.spans)
                yield DocumentOutput(found, relink.mentions)

    if not gold.decisions:
        return score_reviewed(gold, ())
    report = score_reviewed(gold, outputs())
    return replace(report, not_scored=not_scored)
