"""The Store interface every backend implements, and the pure helpers they share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from tasks.models import (
    Article,
    DocumentRecord,
    EntityRow,
    Mention,
    RawArticle,
    RejectedFileRecord,
    Stage,
    StageRun,
    Status,
)
from tasks.search.request import SearchPage, SearchRequest
from tasks.store.batch import WriteBatch

#: the status a document must be in for a stage to run on it (and to record its outcome)
INPUT_STATUS: dict[Stage, Status] = {
    Stage.ingest: Status.received,
    Stage.parse: Status.received,
    Stage.tag: Status.parsed,
    Stage.index: Status.tagged,
}


@dataclass(frozen=True)
class StageResult:
    """How one stage run went: who ran it, when, and for how long."""

    stage: Stage
    worker: str | None
    task_id: str | None
    started: float
    duration_ms: float
    attempts: int = 1
    error: str | None = None
    #: the batch task the run was part of, and its number of documents (None: alone)
    batch_id: str | None = None
    batch_size: int | None = None


class Written(NamedTuple):
    """A document's article and mentions as its caller just wrote them (see
    `Store.index_document`)."""

    article: Article
    mentions: list[Mention]


class EntityDocuments(NamedTuple):
    """`Store.entity_documents`: how many documents count each entity, and which of those
    entities each of some documents counts in (its own indexed mentions)."""

    documents: dict[str, int]
    own: dict[str, frozenset[str]]


class Store(Protocol):
    """Where documents, their stage outputs, entities and the full-text index live.

    Every write that records a stage's outcome (save_parsed, save_tags, index_document,
    mark_failed, record_attempt) is a compare-and-set on the run that owns the stage: it
    takes effect only while the document is in the stage's input status (`INPUT_STATUS`)
    and the stage's current run (the lease `start_stage` recorded) has the caller's task
    id, or no run of the stage was recorded at all. Otherwise nothing is written and
    `StaleRun` says who owns the stage now. The check and the write are one transaction.
    """

    url: str

    def migrate(self) -> int:
        """Bring the schema up to date; returns the schema version."""

    def close(self) -> None: ...

    # ---- writes -------------------------------------------------------------
    def add_document(
        self, raw: RawArticle, content_hash: str, trace_id: str, run: StageResult
    ) -> tuple[str, bool]:
        """Record a received article; returns (doc id, created). Same content = same id."""

    def start_stage(self, doc_id: str, run: StageResult) -> int:
        """Record that a stage starts on a document (a lease); returns how often it has started."""

    def save_parsed(self, doc_id: str, article: Article, run: StageResult) -> None:
        """received -> parsed, if `run` owns the parse stage (else StaleRun)."""

    def save_tags(
        self,
        doc_id: str,
        mentions: list[Mention],
        tag_version: str,
        run: StageResult,
        raw_spans: list[tuple[int, int, str]] | None = None,
    ) -> None:
        """parsed -> tagged, if `run` owns the tag stage (else StaleRun); `raw_spans`, the
        model's own (start, end, label) spans, are kept for `relink`."""

    def raw_spans(self, doc_id: str) -> list[tuple[int, int, str]] | None:
        """The model's spans `save_tags` kept (None: tagged without them)."""

    def relink(self, doc_id: str, mentions: list[Mention], tag_version: str) -> bool:
        """Replace an indexed document's mentions (its entities, counts and facet rows
        with them) in one transaction, without a stage run: the user's rules changed, the
        model's spans did not. False, and nothing written, if the document is not indexed
        or a stage is running on it."""

    def index_document(self, doc_id: str, run: StageResult, written: Written | None = None) -> None:
        """tagged -> indexed: full-text index, mentions and entity counts in one transaction.

        If `run` does not own the index stage (or the document is indexed already), StaleRun
        and nothing changes: indexing twice never counts anything twice. `written`: the
        article and mentions the caller saved in this same (batch) transaction, so they
        are not read back and decoded again; by default they are read from the store.
        """

    def mark_failed(self, doc_id: str, run: StageResult) -> None:
        """The document failed at `run.stage`, if `run` owns that stage (else StaleRun)."""

    def record_attempt(self, doc_id: str, run: StageResult) -> None:
        """A retryable failure: count the attempt and keep the error, status unchanged.

        Only if `run` owns `run.stage` (else StaleRun).
        """

    def batch(self, doc_ids: Iterable[str]) -> AbstractContextManager[WriteBatch]:
        """One transaction for the writes on these documents inside the block.

        Each write call is a savepoint: StaleRun (or a PermanentError) undoes that call
        alone and is raised to the caller; any other error aborts the whole batch; the
        rest commits once when the block ends. See `tasks.store.batch`.
        """

    def reset_to(self, doc_id: str, status: Status) -> None:
        """Put a document back to a status so the stages after it run again."""

    def record_rejected(self, source: str, error: str, stage: str = "ingest") -> None: ...

    # ---- reads --------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentRecord: ...

    def find_ids(self, prefix: str) -> list[str]: ...

    def counts(self) -> dict[str, int]: ...

    def status_counts(self, ids: list[str]) -> dict[str, int]:
        """Documents per status among these ids."""

    def search_page(self, request: SearchRequest) -> SearchPage:
        """One page of a search: hits, total and facets (see `tasks.store.search`).

        Raises QuerySyntaxError for a query that cannot be read."""

    def entity(self, key: str) -> EntityRow | None:
        """An entity by id, canonical name or alias (any case, accents optional)."""

    def entities(self, *, label: str | None = None, limit: int = 50) -> list[EntityRow]: ...

    def entity_documents(
        self, entity_ids: Collection[str], doc_ids: Collection[str] = ()
    ) -> EntityDocuments:
        """The `documents` count of each of these entities the store has (primary-key
        lookups, chunked), and for each of `doc_ids` the ones among them its indexed
        mentions count in (the collection's label evidence, `tasks.entities.collection`)."""

    def iter_documents(self, status: Status | None = None) -> Iterator[DocumentRecord]: ...

    def stage_runs(self, doc_id: str) -> list[StageRun]: ...

    def failed_documents(self) -> list[DocumentRecord]: ...

    def rejected_files(self) -> list[RejectedFileRecord]: ...

    def stuck_documents(self, older_than_s: float) -> list[tuple[str, Status]]: ...

    def indexed_since(self, since: float) -> int: ...


# ---- helpers shared by the backends ---------------------------------------------


class MentionRow(NamedTuple):
    """One row of `mentions`: a name as a document writes it, and how often it does."""

    entity_id: str
    canonical: str
    label: str
    text: str
    start: int  #: of its first occurrence
    end: int
    occurrences: int


def entity_deltas(
    old: Iterable[MentionRow], new: Iterable[MentionRow]
) -> dict[str, tuple[str, str, int, int, set[str]]]:
    """Per entity id: (name, label, mention delta, document delta, surface forms of new),
    from a document's rows of `mentions` before and after."""
    old_counts: Counter[str] = Counter()
    for row in old:
        old_counts[row.entity_id] += row.occurrences
    new_rows = list(new)
    new_counts: Counter[str] = Counter()
    for row in new_rows:
        new_counts[row.entity_id] += row.occurrences
    out: dict[str, tuple[str, str, int, int, set[str]]] = {}
    meta: dict[str, tuple[str, str]] = {}
    forms: dict[str, set[str]] = {}
    for eid, canonical, label, surface, *_ in new_rows:
        meta.setdefault(eid, (canonical, label))
        forms.setdefault(eid, set()).add(surface)
    for eid in set(old_counts) | set(new_counts):
        name, label = meta.get(eid, ("", ""))
        doc_delta = int(eid in new_counts) - int(eid in old_counts)
        out[eid] = (
            name,
            label,
            new_counts[eid] - old_counts[eid],
            doc_delta,
            forms.get(eid, set()),
        )
    return out


def mention_rows(mentions: list[Mention]) -> list[MentionRow]:
    """The rows of `mentions` for a document's mentions: one per (entity id, label,
    surface), in order of first occurrence, with how often each occurs (a name is
    mentioned ~2.5 times in a news story: 100 mentions are ~40 rows)."""
    rows: dict[tuple[str, str, str], MentionRow] = {}
    for m in mentions:
        eid = m.entity_id or f"{m.label}:{m.canonical or m.text}"
        key = (eid, m.label, m.text)
        row = rows.get(key)
        if row is None:
            rows[key] = MentionRow(eid, m.canonical or m.text, m.label, m.text, m.start, m.end, 1)
        else:
            rows[key] = row._replace(occurrences=row.occurrences + 1)
    return list(rows.values())
