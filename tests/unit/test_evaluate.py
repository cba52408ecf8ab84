"""Evaluation on CoNLL-2003 style files: reading, detokenising, scoring raw vs full."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tasks.models import Mention
from workers.tools.evaluate import (
    ConllFormatError,
    EvalReport,
    GoldDocument,
    evaluate_conll,
    evaluate_documents,
    parse_conll,
    predicted_surfaces,
    read_conll,
    score_documents,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "conll"


class GoldTagger:
    """A fake tagger: `raw` answers with fixed mentions, `tag` finds the gold entities."""

    def __init__(self, documents: list[GoldDocument], raw_label: str = "ORG") -> None:
        self.gold = {d.text: d for d in documents}
        self.raw_label = raw_label
        self.labels = {"PER": "PERSON", "LOC": "GPE", "ORG": "ORG", "MISC": "NORP"}

    def _mentions(self, text: str, label: str | None) -> list[Mention]:
        return [
            Mention(text=text[a:b], label=label or self.labels[kind], start=a, end=b)
            for a, b, kind in self.gold[text].entities
        ]

    def raw(self, text: str) -> list[Mention]:
        return self._mentions(text, self.raw_label)

    def tag(self, text: str) -> list[Mention]:
        return self._mentions(text, None)


def gold_pairs(document: GoldDocument) -> list[tuple[str, str]]:
    return [(document.text[a:b], kind) for a, b, kind in document.entities]


def test_documents_are_split_on_docstart_lines() -> None:
    documents = read_conll(DATA / "iob1_sample.conll")
    assert len(documents) == 2
    assert documents[1].text == "Dutch German talks in Bonn."


def test_iob1_tags_join_runs_and_b_tags_separate_neighbours() -> None:
    first, second = read_conll(DATA / "iob1_sample.conll")
    assert ("United Arab Emirates", "LOC") in gold_pairs(first)
    assert ("Takuya Takagi", "PER") in gold_pairs(first)
    assert gold_pairs(second) == [("Dutch", "MISC"), ("German", "MISC"), ("Bonn", "LOC")]


def test_bio_and_iobes_tags_are_read_too() -> None:
    bio = parse_conll("Hakan B-PER\nFidan I-PER\nmet O\nMarco B-PER\nRubio I-PER\n")
    assert gold_pairs(bio[0]) == [("Hakan Fidan", "PER"), ("Marco Rubio", "PER")]
    iobes = parse_conll("New B-LOC\nYork E-LOC\nParis S-LOC\nand O\nRome S-LOC\n")
    assert gold_pairs(iobes[0]) == [("New York", "LOC"), ("Paris", "LOC"), ("Rome", "LOC")]


def test_a_file_without_docstart_is_one_document() -> None:
    documents = parse_conll("Rome B-LOC\n\nParis B-LOC\n")
    assert len(documents) == 1 and documents[0].text == "Rome\nParis"


def test_detokenising_glues_clitics_punctuation_and_quotes() -> None:
    first = read_conll(DATA / "iob1_sample.conll")[0]
    assert 'It was Bitar\'s "worst" day (said FIFA).' in first.text
    assert first.text.startswith("SOCCER - JAPAN BEAT SYRIA.\nAL-AIN, United Arab Emirates")


def test_gold_offsets_point_at_the_entity_text() -> None:
    for document in read_conll(DATA / "wire_sample.conll"):
        for start, end, _ in document.entities:
            assert document.text[start:end].strip() == document.text[start:end]
    scholz = read_conll(DATA / "wire_sample.conll")[0]
    assert scholz.text.startswith("Germany’s Scholz urges EU unity")


def test_a_line_without_a_tag_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.conll"
    path.write_text("Rome B-LOC\nParis\n", encoding="utf-8")
    with pytest.raises(ConllFormatError, match=r"bad\.conll:2"):
        read_conll(path)


def test_ontonotes_labels_map_to_conll_and_values_are_dropped() -> None:
    mentions = [
        Mention(text="Ankara", label="GPE", start=0, end=6),
        Mention(text="White House", label="FAC", start=0, end=11),
        Mention(text="Turkish", label="NORP", start=0, end=7),
        Mention(text="Fidan", label="PERSON", start=0, end=5),
        Mention(text="2020", label="DATE", start=0, end=4),
    ]
    assert predicted_surfaces(mentions) == Counter(
        {
            ("Ankara", "LOC"): 1,
            ("White House", "LOC"): 1,
            ("Turkish", "MISC"): 1,
            ("Fidan", "PER"): 1,
        }
    )


def test_scores_count_multisets_of_surface_and_label_per_document() -> None:
    gold = Counter({("Fidan", "PER"): 3, ("Syria", "LOC"): 1})
    predicted = Counter({("Fidan", "PER"): 2, ("Syria", "ORG"): 1})
    score = score_documents([(gold, predicted)])
    assert (score.labels["PER"].tp, score.labels["PER"].fn) == (2, 1)
    assert (score.labels["LOC"].fn, score.labels["ORG"].fp) == (1, 1)
    assert (score.micro.tp, score.micro.fp, score.micro.fn) == (2, 1, 2)
    assert score.micro.precision == pytest.approx(2 / 3)
    assert score.micro.recall == pytest.approx(0.5)
    assert score.micro.f1 == pytest.approx(4 / 7)


def test_a_match_in_another_document_does_not_count() -> None:
    score = score_documents(
        [
            (Counter({("Rome", "LOC"): 1}), Counter()),
            (Counter(), Counter({("Rome", "LOC"): 1})),
        ]
    )
    assert (score.micro.tp, score.micro.fp, score.micro.fn) == (0, 1, 1)


def test_the_report_puts_raw_and_full_side_by_side() -> None:
    documents = read_conll(DATA / "iob1_sample.conll")
    report = evaluate_conll(DATA / "iob1_sample.conll", GoldTagger(documents))
    assert isinstance(report, EvalReport)
    assert report.documents == 2
    assert report.full.micro.f1 == pytest.approx(1.0)
    assert report.raw.labels["ORG"].fp > 0 and report.raw.micro.f1 < 1.0
    data = report.to_dict()
    assert data["full"]["micro"]["f1"] == 1.0 and set(data["raw"]["labels"]) >= {"PER", "LOC"}
    table = report.format_table()
    assert "iob1_sample.conll: 2 documents" in table
    assert table.splitlines()[-1].startswith("micro")


def test_the_full_tagger_beats_the_raw_model_on_wire_stories() -> None:
    from tasks.tag import Tagger

    report = evaluate_conll(DATA / "wire_sample.conll", Tagger())
    assert report.full.micro.f1 > report.raw.micro.f1
    for label, raw in report.raw.labels.items():
        assert report.full.labels[label].f1 >= raw.f1, label


def _conll(documents: list[list[tuple[str, str]]]) -> str:
    """CoNLL text of one-sentence documents given as (token, tag) pairs."""
    return "".join(
        "-DOCSTART- O\n\n" + "".join(f"{token} {tag}\n" for token, tag in tokens) + "\n"
        for tokens in documents
    )


def test_a_file_tagged_as_one_collection_lets_a_weak_name_follow_the_other_documents() -> None:
    from tasks.tag import Tagger

    def place(*before: str) -> list[tuple[str, str]]:
        words = [*before, "Marseille", ",", "France", ",", "closed", "early", "."]
        tags = ["O"] * len(before) + ["B-LOC", "O", "B-LOC", "O", "O", "O", "O"]
        return list(zip(words, tags, strict=True))

    weak = [("He", "O"), ("flew", "O"), ("from", "O"), ("Paris", "B-LOC"), ("to", "O")]
    weak += [("Marseille", "B-LOC"), (".", "O")]
    documents = parse_conll(
        _conll([place("Police", "in"), place("Schools", "in"), place("Shops", "in"), weak])
    )
    tagger = Tagger()
    alone = evaluate_documents(documents, tagger, collection=False)
    together = evaluate_documents(documents, tagger, collection=True)
    # the small model calls Marseille an organisation in the weak sentence alone
    assert alone.full.labels["ORG"].fp == 1
    assert together.full.labels["ORG"].fp == 0
    assert together.full.labels["LOC"].f1 > alone.full.labels["LOC"].f1
    assert together.collection and "tagged as one collection" in together.format_table()
