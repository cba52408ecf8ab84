"""`Store.entity_documents`: the collection's label evidence, read by primary key from
`entities`, with each asking document's own indexed vote. Both stores."""

from __future__ import annotations

from tasks.entities.collection import Evidence, evidence_ids
from tasks.entities.normalize import entity_id
from tasks.models import Mention, Stage, Status
from tasks.store import Store
from tests.unit.test_search_store import put
from tests.unit.test_store import run, store  # noqa: F401  # `store`: both backends


def marseille(label: str, start: int = 0) -> Mention:
    return Mention(
        text="Marseille",
        label=label,
        start=start,
        end=start + 9,
        canonical="Marseille",
        entity_id=entity_id(label, "Marseille"),
    )


def test_the_documents_per_label_of_a_name_are_read_with_each_documents_own_vote(
    store: Store,  # noqa: F811
) -> None:
    places = [put(store, "Port", "Marseille port.", mentions=[marseille("GPE")]) for _ in range(3)]
    club = put(
        store,
        "Club",
        "Marseille won. Marseille lost.",
        mentions=[marseille("ORG"), marseille("ORG", 15)],
    )
    pending = put(store, "Not yet", "Marseille.", status=Status.parsed)
    store.save_tags(pending, [marseille("PERSON")], "v1", run(Stage.tag))
    ids = evidence_ids([("marseille", "ORG")])
    found = store.entity_documents(ids, [places[0], club, "no-such-doc"])
    # documents, not mentions; a document not indexed yet counts nowhere
    assert found.documents == {"GPE:marseille": 3, "ORG:marseille": 1}
    assert found.own == {
        places[0]: frozenset({"GPE:marseille"}),
        club: frozenset({"ORG:marseille"}),
    }
    evidence = Evidence(found.documents, found.own)
    assert evidence.for_document(places[0]) == {"marseille": {"GPE": 2, "ORG": 1}}
    assert evidence.for_document(club) == {"marseille": {"GPE": 3}}


def test_nothing_asked_nothing_read_and_unknown_names_are_absent(store: Store) -> None:  # noqa: F811
    put(store, "Port", "Marseille port.", mentions=[marseille("GPE")])
    assert store.entity_documents([], ["x"]) == ({}, {})
    assert store.entity_documents(["GPE:nowhere"]) == ({}, {})


def test_many_names_are_read_in_chunks(store: Store) -> None:  # noqa: F811
    doc = put(store, "Port", "Marseille port.", mentions=[marseille("GPE")])
    names = [(f"name-{i}", "ORG") for i in range(400)] + [("marseille", "ORG")]
    ids = evidence_ids(names)
    assert len(ids) > 4000  # many chunks of primary-key lookups
    found = store.entity_documents(ids, [doc])
    assert found.documents == {"GPE:marseille": 1}
    assert found.own == {doc: frozenset({"GPE:marseille"})}
