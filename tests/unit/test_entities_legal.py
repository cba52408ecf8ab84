"""One table of legal forms (cleanco's): organisations' canonical names leave them out."""

from __future__ import annotations

import pytest

from tasks.entities import refine
from tasks.entities.aliases import builtin_aliases
from tasks.entities.legal import strip_legal_form
from tests.unit.test_entities_refine import at


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("Apple Inc", "Apple"),
        ("Apple Inc.", "Apple"),
        ("Apple, Inc.", "Apple"),
        ("Lockheed Martin Corp.", "Lockheed Martin"),
        ("Acme Holdings Co, Ltd.", "Acme Holdings"),
        ("Samsung Electronics Co Ltd", "Samsung Electronics"),
        ("Barclays plc", "Barclays"),
        ("Siemens AG", "Siemens"),
        ("Vale S.A.", "Vale"),
        ("Airbus SE", "Airbus"),
        # forms the old hand-written list did not know
        ("Enel SpA", "Enel"),
        ("Krka d.d.", "Krka"),
        ("Tata Sons Private Limited", "Tata Sons"),
        ("Grupo Televisa SAB", "Grupo Televisa"),
    ],
)
def test_an_organisations_canonical_name_has_no_legal_form(name: str, canonical: str) -> None:
    assert strip_legal_form(name, builtin_aliases()) == canonical


@pytest.mark.parametrize(
    "name",
    [
        "AG",  # a legal form alone
        "Inc Ltd",  # nothing but legal forms
        "The Co",  # nothing but a function word would be left
        "Amazon UK",  # a name of its own (the alias table knows it), not a legal form
        "Bank of America",
        "Rosneft PJSC",  # not in cleanco's table
    ],
)
def test_a_name_that_would_lose_its_name_or_has_no_legal_form_is_kept(name: str) -> None:
    assert strip_legal_form(name, builtin_aliases()) == name


def test_the_tagger_rules_link_a_company_with_and_without_its_legal_form() -> None:
    text = "Enel SpA said Enel would sell assets to Krka d.d., and Krka agreed."
    model = [
        at(text, "Enel SpA", "ORG"),
        at(text, "Enel", "ORG", 1),
        at(text, "Krka d.d.", "ORG"),
        at(text, "Krka", "ORG", 1),
    ]
    result = refine(text, model)
    assert [(m.text, m.canonical) for m in result] == [
        ("Enel SpA", "Enel"),
        ("Enel", "Enel"),
        ("Krka d.d.", "Krka"),
        ("Krka", "Krka"),
    ]
    assert len({m.entity_id for m in result}) == 2
