"""Tagging a batch: one `nlp.pipe` over all texts, the same mentions as one text at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import TaggingError
from tasks.models import Mention, RawArticle
from tasks.parse import parse_article
from tasks.tag import Tagger, split_batches
from tests.conftest import REPO, SEED
from tests.unit.test_tag import seed_text
from tests.unit.tripwire import Interrupted, tripwired_tagger
from workers.tools.evaluate import read_conll

DATA = REPO / "tests" / "data"


def _parsed(path: Path, fmt: str) -> str:
    raw = RawArticle(source=path.name, format=fmt, content=path.read_text(encoding="utf-8"))
    return parse_article(raw).text


def real_texts() -> list[str]:
    """Every real text in the repo: the seed, the parse samples, the CoNLL documents."""
    texts = [seed_text(), _parsed(SEED, "text")]
    for name, fmt in [
        ("front_matter.md", "markdown"),
        ("news_page.html", "html"),
        ("wire_no_date.txt", "text"),
    ]:
        texts.append(_parsed(DATA / "parse" / name, fmt))
    for conll in sorted((DATA / "conll").glob("*.conll")):
        texts += [doc.text for doc in read_conll(conll)]
    return texts


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


@pytest.fixture(scope="module")
def tripwired() -> Tagger:
    return tripwired_tagger()


def _count_pipe_calls(tagger: Tagger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many texts each nlp.pipe call gets (the real pipe still runs)."""
    sizes: list[int] = []
    real_pipe = tagger._nlp.pipe

    def pipe(texts, batch_size=None, **kwargs):  # type: ignore[no-untyped-def]
        texts = list(texts)
        sizes.append(len(texts))  # texts in this one model call
        return real_pipe(texts, batch_size=batch_size, **kwargs)

    monkeypatch.setattr(tagger._nlp, "pipe", pipe)
    return sizes


def test_the_repos_real_texts_in_one_batch_get_exactly_the_mentions_of_one_by_one(
    tagger: Tagger,
) -> None:
    texts = real_texts()
    assert len(texts) >= 6 and all(t.strip() for t in texts)
    alone = [tagger.tag(t) for t in texts]
    together = tagger.tag_batch(texts)
    assert together == alone
    assert sum(len(m) for m in alone) > 50


def test_a_batch_is_one_model_call_over_all_its_texts(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _count_pipe_calls(tagger, monkeypatch)
    tagger.tag_batch(real_texts()[:5])
    assert sizes == [5]


def test_empty_texts_in_a_batch_have_no_mentions_and_cost_no_model_work(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _count_pipe_calls(tagger, monkeypatch)
    out = tagger.tag_batch(["", "Hakan Fidan met Marco Rubio in Washington.", "  \n"])
    assert out[0] == [] and out[2] == []
    assert out[1] == tagger.tag("Hakan Fidan met Marco Rubio in Washington.")
    assert sizes[0] == 1


def test_an_empty_batch_is_an_empty_list(tagger: Tagger) -> None:
    assert tagger.tag_batch([]) == []


def test_a_batch_of_one_is_what_tag_returns(tagger: Tagger) -> None:
    assert tagger.tag_batch([seed_text()]) == [tagger.tag(seed_text())]


def test_texts_over_the_models_length_limit_are_cut_into_pieces_inside_the_batch(
    tagger: Tagger,
) -> None:
    paragraph = "Hakan Fidan met Marco Rubio in Washington on Tuesday."
    long_text = "\n\n".join([paragraph] * 6)
    limit = tagger._nlp.max_length
    tagger._nlp.max_length = 130
    try:
        alone = [tagger.tag(long_text), tagger.tag(paragraph)]
        together = tagger.tag_batch([long_text, paragraph])
    finally:
        tagger._nlp.max_length = limit
    assert together == alone
    first = together[0]
    assert not isinstance(first, TaggingError)
    assert sum(m.text == "Washington" for m in first) == 6


def test_a_model_error_on_one_text_fails_that_text_alone(tripwired: Tagger) -> None:
    texts = [f"Maria Santos spoke in Lisbon on day {i}." for i in range(8)]
    texts[5] = "Maria Santos spoke in Lisbon. BREAK-ME"
    out = tripwired.tag_batch(texts)
    bad = out[5]
    assert isinstance(bad, TaggingError)
    assert "the NER model failed on this text: ValueError" in bad.describe()
    for i, result in enumerate(out):
        if i != 5:
            assert result == tripwired.tag(texts[i])
            assert isinstance(result, list) and any(m.text == "Lisbon" for m in result)


def test_tag_still_raises_the_tagging_error_of_its_one_text(tripwired: Tagger) -> None:
    with pytest.raises(TaggingError, match="ValueError"):
        tripwired.tag("BREAK-ME in Lisbon")


def test_an_exception_that_is_not_a_model_error_fails_the_whole_batch_unchanged(
    tripwired: Tagger,
) -> None:
    texts = ["Maria Santos spoke in Lisbon.", "INTERRUPT-ME in Porto", "BREAK-ME"]
    with pytest.raises(Interrupted) as caught:
        tripwired.tag_batch(texts)
    assert type(caught.value) is Interrupted and str(caught.value) == "soft time limit exceeded"


def test_batches_are_bounded_by_documents_and_by_words() -> None:
    assert split_batches([100] * 5, max_docs=2, max_words=10_000) == [[0, 1], [2, 3], [4]]
    assert split_batches([400, 400, 400, 50], max_docs=32, max_words=1000) == [
        [0, 1],
        [2, 3],
    ]
    assert split_batches([5000, 10], max_docs=32, max_words=1000) == [[0], [1]]
    assert split_batches([], max_docs=4, max_words=10) == []
    with pytest.raises(ValueError):
        split_batches([1], max_docs=0, max_words=10)


def test_mentions_from_a_batch_point_exactly_at_their_own_text(tagger: Tagger) -> None:
    texts = real_texts()
    for text, mentions in zip(texts, tagger.tag_batch(texts), strict=True):
        assert isinstance(mentions, list)
        assert all(isinstance(m, Mention) and text[m.start : m.end] == m.text for m in mentions)
