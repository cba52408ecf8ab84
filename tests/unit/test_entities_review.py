"""The review queue ranks the entities most likely wrong, with a reason and a suggestion each."""

from __future__ import annotations

from tasks.entities.review import Suspect, rank
from tasks.models import EntityRow


def row(name: str, label: str = "PERSON", documents: int = 10, mentions: int = 20) -> EntityRow:
    return EntityRow(
        id=f"{label}:{name.lower().replace(' ', '-')}",
        name=name,
        label=label,
        documents=documents,
        mentions=mentions,
    )


def by_name(suspects: list[Suspect]) -> dict[tuple[str, str], Suspect]:
    return {(s.entity.name, s.entity.label): s for s in suspects}


def places(*names: str):
    return lambda name: name in names


def test_a_near_duplicate_spelling_is_flagged_with_a_merge_into_the_frequent_spelling() -> None:
    rows = [row("Volodymyr Zelensky", documents=40), row("Volodymyr Zelenskiy", documents=3)]
    suspects = rank(rows, is_place=places())
    assert [s.entity.name for s in suspects] == ["Volodymyr Zelenskiy"]
    assert suspects[0].suggestion == ("merge", "Volodymyr Zelensky")
    assert "Volodymyr Zelensky" in suspects[0].reasons[0]


def test_near_duplicates_of_different_labels_or_short_names_are_not_flagged() -> None:
    rows = [
        row("Iran", "GPE"),
        row("Iraq", "GPE", documents=2),
        row("Volodymyr Zelensky", documents=40),
        row("Volodymyr Zelenskiy", "ORG", documents=3),
    ]
    assert rank(rows, is_place=places()) == []


def test_a_name_under_two_labels_flags_the_minority_label() -> None:
    rows = [row("Jordan", "GPE", documents=30), row("Jordan", "PERSON", documents=2)]
    suspects = by_name(rank(rows, is_place=places()))
    assert list(suspects) == [("Jordan", "PERSON")]
    assert suspects["Jordan", "PERSON"].suggestion == ("relabel", "GPE")
    assert "GPE" in suspects["Jordan", "PERSON"].reasons[0]


def test_a_pronoun_like_lowercase_name_suggests_block() -> None:
    rows = [row("he", documents=5), row("the company", "ORG"), row("They"), row("US", "GPE")]
    suspects = by_name(rank(rows, is_place=places()))
    assert set(suspects) == {("he", "PERSON"), ("the company", "ORG"), ("They", "PERSON")}
    assert all(s.suggestion == ("block", None) for s in suspects.values())


def test_a_place_tagged_person_is_flagged_by_the_gazetteer() -> None:
    suspects = rank([row("Kyiv", documents=2), row("Hakan Fidan")])  # the real GeoNames table
    assert [s.entity.name for s in suspects] == ["Kyiv"]
    assert suspects[0].reasons == ("a place tagged as a person",)
    assert suspects[0].suggestion == ("relabel", "GPE")


def test_a_clean_frequent_entity_is_not_flagged() -> None:
    rows = [row("Hakan Fidan", documents=50, mentions=120), row("Marco Rubio", documents=40)]
    assert rank(rows, is_place=places()) == []


def test_a_single_mention_alone_is_never_a_suspect_but_adds_to_another_signal() -> None:
    once = row("she", documents=1, mentions=1)
    suspects = rank([row("Ankara Summit", "EVENT", 1, 1), once], is_place=places())
    assert [s.entity.name for s in suspects] == ["she"]
    assert "mentioned only once" in suspects[0].reasons
    assert suspects[0].score > rank([row("she", mentions=2)], is_place=places())[0].score


def test_the_order_is_deterministic_score_then_documents_then_id() -> None:
    rows = [
        row("it", "ORG", documents=3),
        row("he", documents=9),
        row("they", documents=3),
        row("Paris", documents=20),
        row("Volodymyr Zelensky", documents=40),
        row("Volodymyr Zelenskiy", documents=3),
    ]
    suspects = rank(rows, is_place=places("Paris"))
    names = [s.entity.name for s in suspects]
    assert names == ["he", "it", "they", "Paris", "Volodymyr Zelenskiy"]
    assert [s.entity.name for s in rank(rows[::-1], is_place=places("Paris"))] == names
    assert [s.entity.name for s in rank(rows, limit=2, is_place=places("Paris"))] == names[:2]
    assert suspects[0].to_dict()["action"] == "block"


def test_a_bare_surname_spelled_like_one_full_name_is_merged_into_it_but_not_of_two() -> None:
    rows = [
        row("Volodymyr Zelenskiy", documents=30),
        row("Zelensky", documents=2),
        row("Boris Johnson", documents=9),
        row("Dustin Johnson", documents=5),
        row("Johnson", documents=2),
    ]
    suspects = rank(rows, is_place=places())
    assert [(s.entity.name, s.suggestion) for s in suspects] == [
        ("Zelensky", ("merge", "Volodymyr Zelenskiy"))
    ]


def test_dates_numbers_and_amounts_are_values_not_names_to_review() -> None:
    rows = [row("two", "CARDINAL"), row("last week", "DATE"), row("$100 billion", "MONEY")]
    assert rank(rows, is_place=places()) == []
