"""Organisations told by their legal form (cleanco's table) and names the model cut in two.
No spaCy: hand-made model output, as in test_entities_refine; real cleanco data."""

from __future__ import annotations

from tasks.entities import refine
from tasks.entities.legal import ends_in_legal_form, legal_forms, legal_forms_version
from tests.unit.test_entities_refine import at, exact, pairs


def test_the_legal_forms_are_cleancos_table() -> None:
    terms = legal_forms().terms
    assert {("ltd",), ("gmbh",), ("ag",), ("inc",), ("pty", "ltd"), ("sa", "de", "cv")} <= terms
    assert legal_forms_version().startswith("cleanco-")


def test_a_name_ending_in_a_legal_form_is_an_organisation() -> None:
    text = "Siemens AG and Acme Holdings Ltd bid, and Vale S.A. and Enel SpA did not."
    model = [
        at(text, "Siemens AG", "PERSON"),
        at(text, "Acme Holdings Ltd", "GPE"),
        at(text, "Vale S.A.", "NORP"),
        at(text, "Enel SpA", "ORG"),
    ]
    assert pairs(exact(text, refine(text, model))) == [
        ("Siemens AG", "ORG"),
        ("Acme Holdings Ltd", "ORG"),
        ("Vale S.A.", "ORG"),
        ("Enel SpA", "ORG"),
    ]


def test_a_legal_form_right_after_the_models_span_is_taken_into_the_name() -> None:
    text = "Apple Inc has agreed to pay, Lockheed Martin Corp. said, and so did Bayer AG."
    model = [
        at(text, "Apple", "ORG"),
        at(text, "Lockheed Martin", "PERSON"),
        at(text, "Bayer", "PERSON"),
    ]
    assert pairs(exact(text, refine(text, model))) == [
        ("Apple Inc", "ORG"),
        ("Lockheed Martin Corp.", "ORG"),
        ("Bayer AG", "ORG"),  # the sentence's full stop is not the legal form's
    ]


def test_the_same_name_without_its_legal_form_is_that_organisation_too() -> None:
    text = "Lockheed Martin Corp. won the contract. Lockheed Martin said it was pleased."
    model = [at(text, "Lockheed Martin", "PERSON"), at(text, "Lockheed Martin", "PERSON", 1)]
    result = exact(text, refine(text, model))
    assert pairs(result) == [("Lockheed Martin Corp.", "ORG"), ("Lockheed Martin", "ORG")]
    assert {m.canonical for m in result} == {"Lockheed Martin"}


def test_an_organisation_with_its_legal_form_is_found_where_the_model_read_nothing() -> None:
    text = "Apple Inc has agreed to settle. Apple denied wrongdoing."
    result = exact(text, refine(text, [at(text, "Apple", "ORG", 1)]))
    assert pairs(result) == [("Apple Inc", "ORG"), ("Apple", "ORG")]


def test_two_neighbouring_names_with_a_legal_form_after_them_are_one_organisation() -> None:
    text = "Shares of Lockheed Martin Corp. rose on Monday."
    model = [at(text, "Lockheed", "ORG"), at(text, "Martin", "PERSON")]
    assert pairs(exact(text, refine(text, model))) == [("Lockheed Martin Corp.", "ORG")]


def test_a_company_split_into_an_organisation_and_a_surname_is_one_organisation() -> None:
    text = "Shares of Lockheed Martin rose after the Pentagon award."
    model = [at(text, "Lockheed", "ORG"), at(text, "Martin", "PERSON")]
    assert pairs(exact(text, refine(text, model)))[:1] == [("Lockheed Martin", "ORG")]


def test_neighbours_the_model_read_as_one_name_elsewhere_are_joined_with_its_label() -> None:
    text = "Manchester United won. Fans of Manchester United cheered."
    model = [
        at(text, "Manchester United", "ORG"),
        at(text, "Manchester", "GPE", 1),
        at(text, "United", "ORG", 1),
    ]
    assert pairs(exact(text, refine(text, model))) == [
        ("Manchester United", "ORG"),
        ("Manchester United", "ORG"),
    ]


def test_neighbouring_names_without_evidence_stay_two_names() -> None:
    cases = [
        ("In London Johnson said the vote was close.", [("London", "GPE"), ("Johnson", "PERSON")]),
        ("The Trump Putin summit ended early.", [("Trump", "PERSON"), ("Putin", "PERSON")]),
        ("The Hamas Gaza chief was killed.", [("Hamas", "ORG"), ("Gaza", "GPE")]),
        ("The Russia Ukraine war goes on.", [("Russia", "GPE"), ("Ukraine", "GPE")]),
        ("Google Microsoft and others bid.", [("Google", "ORG"), ("Microsoft", "ORG")]),
    ]
    for text, model in cases:
        result = pairs(exact(text, refine(text, [at(text, *m) for m in model])))
        assert result == model, text


def test_an_organisation_next_to_a_person_of_the_document_is_not_joined() -> None:
    text = "Jose Mourinho was sacked. Fans said Chelsea Mourinho era was over."
    model = [
        at(text, "Jose Mourinho", "PERSON"),
        at(text, "Chelsea", "ORG"),
        at(text, "Mourinho", "PERSON", 1),
    ]
    assert [m.text for m in refine(text, model)] == ["Jose Mourinho", "Chelsea", "Mourinho"]


def test_an_organisation_next_to_a_surname_in_a_title_case_headline_is_not_joined() -> None:
    text = "Apple Cook Deal Collapses After Talks\n\nThe deal collapsed."
    model = [at(text, "Apple", "ORG"), at(text, "Cook", "PERSON")]
    assert pairs(exact(text, refine(text, model))) == [("Apple", "ORG"), ("Cook", "PERSON")]


def test_words_that_are_also_legal_forms_do_not_make_an_organisation() -> None:
    text = (
        "Singapore minister Josephine Teo met Tesla. Tesla EV sales rose as the EV market "
        "grew. The Louisville KY plant and Vodafone UK staff were told after the Monaco GP."
    )
    model = [
        at(text, "Josephine Teo", "PERSON"),
        at(text, "Tesla", "ORG", 1),
        at(text, "Louisville", "GPE"),
        at(text, "Vodafone", "ORG"),
        at(text, "Monaco", "GPE"),
    ]
    result = pairs(exact(text, refine(text, model)))
    assert ("Josephine Teo", "PERSON") in result
    assert [name for name, _ in result if name.split()[-1] in {"EV", "KY", "UK", "GP"}] == []


def test_legal_forms_in_capitalised_headlines_are_left_alone() -> None:
    text = "SIEMENS AG PROFIT JUMPS ON ORDERS\n\nSiemens reported a jump in orders."
    model = [at(text, "SIEMENS AG", "PERSON"), at(text, "Siemens", "ORG")]
    assert ("SIEMENS AG", "ORG") not in pairs(refine(text, model))


def test_a_name_is_told_by_how_its_legal_form_is_written() -> None:
    assert ends_in_legal_form("Siemens AG") and ends_in_legal_form("Acme Pty Ltd")
    assert ends_in_legal_form("Ford Motor Co") and ends_in_legal_form("Nokia Oyj")
    assert not ends_in_legal_form("Siemens ag") and not ends_in_legal_form("Ltd")
    assert not ends_in_legal_form("Siemens Energy")


def test_legal_forms_written_in_small_letters_with_dots_count_and_possessives_stay_out() -> None:
    text = "Krka d.d. and Skoda Auto a.s. agreed, and Apple Inc's shares rose."
    model = [at(text, "Krka", "PERSON"), at(text, "Skoda Auto", "ORG"), at(text, "Apple", "ORG")]
    assert pairs(exact(text, refine(text, model))) == [
        ("Krka d.d.", "ORG"),
        ("Skoda Auto a.s.", "ORG"),
        ("Apple Inc", "ORG"),
    ]


def test_a_company_whose_surname_half_the_model_read_as_a_product_is_one_organisation() -> None:
    text = "Shares of Lockheed Martin rose after the Pentagon award."
    model = [at(text, "Lockheed", "ORG"), at(text, "Martin", "PRODUCT")]
    assert pairs(exact(text, refine(text, model)))[:1] == [("Lockheed Martin", "ORG")]


def test_an_organisation_next_to_a_product_is_not_joined() -> None:
    text = "Microsoft Windows sales rose. Google Chrome users updated, and Chrome crashed."
    model = [
        at(text, "Microsoft", "ORG"),
        at(text, "Windows", "PRODUCT"),  # no given name
        at(text, "Google", "ORG"),
        at(text, "Chrome", "PRODUCT"),
        at(text, "Chrome", "PRODUCT", 1),
    ]
    assert [m.text for m in refine(text, model)] == [
        "Microsoft",
        "Windows",
        "Google",
        "Chrome",
        "Chrome",
    ]


def test_an_organisation_next_to_a_surname_the_text_uses_on_its_own_is_not_joined() -> None:
    text = "Fans of Arsenal Martin cheered. Martin said the win was deserved."
    model = [
        at(text, "Arsenal", "ORG"),
        at(text, "Martin", "PERSON"),
        at(text, "Martin", "PERSON", 1),
    ]
    assert [m.text for m in refine(text, model)] == ["Arsenal", "Martin", "Martin"]


def test_a_given_name_read_as_an_organisation_next_to_a_surname_is_not_joined() -> None:
    text = "Fans of Chelsea Martin cheered on Sunday."
    model = [at(text, "Chelsea", "ORG"), at(text, "Martin", "PERSON")]
    assert [m.text for m in refine(text, model)] == ["Chelsea", "Martin"]
