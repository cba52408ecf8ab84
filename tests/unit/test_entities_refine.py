"""The rules on top of the raw model, tested without spaCy on hand-made model output."""

from __future__ import annotations

import random
from itertools import pairwise

from tasks.entities import EntityConfig, refine
from tasks.models import Mention


def at(text: str, surface: str, label: str, nth: int = 0) -> Mention:
    """The model's mention of the nth occurrence of `surface` in `text`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return Mention(text=surface, label=label, start=start, end=start + len(surface))


def pairs(mentions: list[Mention]) -> list[tuple[str, str]]:
    return [(m.text, m.label) for m in mentions]


def exact(text: str, mentions: list[Mention]) -> list[Mention]:
    for mention in mentions:
        assert text[mention.start : mention.end] == mention.text, mention
    return mentions


def test_curly_and_straight_possessives_are_stripped_with_exact_offsets() -> None:
    text = "Türkiye’s stance and Fidan's visit."
    result = exact(
        text, refine(text, [at(text, "Türkiye’s", "GPE"), at(text, "Fidan's", "PERSON")])
    )
    assert pairs(result) == [("Türkiye", "GPE"), ("Fidan", "PERSON")]


def test_trailing_punctuation_goes_but_the_period_of_an_abbreviation_stays() -> None:
    text = "He went to Syria. Then to the U.S. and back."
    result = exact(text, refine(text, [at(text, "Syria.", "GPE"), at(text, "U.S.", "GPE")]))
    assert [m.text for m in result] == ["Syria", "U.S."]


def test_a_leading_the_is_not_part_of_a_place_or_organisation() -> None:
    text = "Talks between the United States and the European Union."
    result = exact(
        text,
        refine(text, [at(text, "the United States", "GPE"), at(text, "the European Union", "ORG")]),
    )
    assert [(m.text, m.canonical) for m in result] == [
        ("United States", "United States"),
        ("European Union", "European Union"),
    ]
    assert result[0].start == text.index("United States")


def test_a_capitalised_the_inside_a_sentence_belongs_to_the_name() -> None:
    text = "The court sits in The Hague."
    result = exact(text, refine(text, [at(text, "The Hague", "GPE")]))
    assert [m.text for m in result] == ["The Hague"]


def test_one_stray_label_gives_way_to_the_documents_majority() -> None:
    text = "Lahd spoke. Lahd left. Lahd returned. Then Lahd slept."
    mentions = [
        at(text, "Lahd", label, i) for i, label in enumerate(["ORG", "ORG", "PERSON", "ORG"])
    ]
    assert {m.label for m in refine(text, mentions)} == {"ORG"}


def test_a_surname_of_a_full_person_name_is_a_person_whatever_the_model_said() -> None:
    text = "Hakan Fidan met Rubio. Fidan said Rubio agreed."
    mentions = [
        at(text, "Hakan Fidan", "PERSON"),
        at(text, "Rubio", "LOC"),
        at(text, "Fidan", "GPE", 1),
        at(text, "Rubio", "PERSON", 1),
    ]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [
        ("Hakan Fidan", "PERSON"),
        ("Rubio", "PERSON"),
        ("Fidan", "PERSON"),
        ("Rubio", "PERSON"),
    ]


def test_surnames_and_accentless_spellings_link_to_the_full_name() -> None:
    text = "President Recep Tayyip Erdoğan spoke. Erdoğan and Erdogan are one man, Tayyip Erdoğan."
    mentions = [
        at(text, "Recep Tayyip Erdoğan", "PERSON"),
        at(text, "Erdoğan", "PERSON", 1),
        at(text, "Erdogan", "PERSON"),
        at(text, "Tayyip Erdoğan", "PERSON", 1),
    ]
    result = refine(text, mentions)
    assert {m.canonical for m in result} == {"Recep Tayyip Erdoğan"}
    assert {m.entity_id for m in result} == {"PERSON:recep-tayyip-erdogan"}


def test_a_surname_shared_by_two_people_is_not_linked_to_either() -> None:
    text = "Marcello Cuttitta and Massimo Cuttitta played. Cuttitta scored."
    mentions = [
        at(text, "Marcello Cuttitta", "PERSON"),
        at(text, "Massimo Cuttitta", "PERSON"),
        at(text, "Cuttitta", "PERSON", 2),
    ]
    assert refine(text, mentions)[-1].canonical == "Cuttitta"


def test_a_hyphenated_pair_of_known_people_becomes_two_people() -> None:
    text = "Hakan Fidan and Marco Rubio met. Fidan-Rubio talks come at a time of change."
    mentions = [
        at(text, "Hakan Fidan", "PERSON"),
        at(text, "Marco Rubio", "PERSON"),
        at(text, "Fidan-Rubio talks", "WORK_OF_ART"),
    ]
    result = exact(text, refine(text, mentions))
    assert [(m.text, m.label, m.canonical) for m in result[2:]] == [
        ("Fidan", "PERSON", "Hakan Fidan"),
        ("Rubio", "PERSON", "Marco Rubio"),
    ]


def test_a_country_pair_is_split_even_when_the_model_saw_only_half_of_it() -> None:
    text = "Türkiye backs US-led efforts to end Ukraine-Russia war"
    mentions = [at(text, "Türkiye", "GPE"), at(text, "US", "GPE"), at(text, "Ukraine", "GPE")]
    result = exact(text, refine(text, mentions))
    assert pairs(result)[-2:] == [("Ukraine", "GPE"), ("Russia", "GPE")]


def test_names_with_hyphens_of_their_own_are_never_split() -> None:
    text = "Jean-Pierre flew the F-35 past an S-400 over Guinea-Bissau. Pierre waved."
    mentions = [
        at(text, "Jean-Pierre", "PERSON"),
        at(text, "F-35", "PRODUCT"),
        at(text, "S-400", "PRODUCT"),
        at(text, "Guinea-Bissau", "GPE"),
    ]
    result = exact(text, refine(text, mentions))
    assert [m.text for m in result] == ["Jean-Pierre", "F-35", "S-400", "Guinea-Bissau"]


def test_the_state_in_secretary_of_state_is_not_an_organisation() -> None:
    text = "Secretary of State Marco Rubio met the Ministry of Finance."
    mentions = [
        at(text, "State", "ORG"),
        at(text, "Marco Rubio", "PERSON"),
        at(text, "Finance", "ORG"),
    ]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [("Marco Rubio", "PERSON"), ("Ministry of Finance", "ORG")]


def test_a_missed_repeat_of_a_confident_name_is_added() -> None:
    text = "Damascus said no. Officials in Damascus later agreed."
    result = exact(text, refine(text, [at(text, "Damascus", "GPE")]))
    assert pairs(result) == [("Damascus", "GPE"), ("Damascus", "GPE")]
    assert result[1].start == text.index("Damascus", 1)


def test_a_repeat_is_not_added_inside_a_longer_name_or_another_mention() -> None:
    text = "Washington said so. The Washington Post said Washington Irving did not."
    mentions = [at(text, "Washington", "GPE"), at(text, "Washington Irving", "PERSON")]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [("Washington", "GPE"), ("Washington Irving", "PERSON")]


def test_a_surname_alone_is_found_even_where_the_model_missed_it() -> None:
    text = "Marco Rubio arrived. Later Rubio spoke."
    result = exact(text, refine(text, [at(text, "Marco Rubio", "PERSON")]))
    assert [(m.text, m.canonical) for m in result] == [
        ("Marco Rubio", "Marco Rubio"),
        ("Rubio", "Marco Rubio"),
    ]


def test_country_names_the_model_missed_are_found_but_not_ambiguous_ones() -> None:
    text = "Exports to Italy rose, Jordan said, while Chad Smith flew to Mali."
    result = exact(text, refine(text, []))
    assert pairs(result) == [("Italy", "GPE"), ("Mali", "GPE")]


def test_a_country_the_model_called_a_person_is_a_country() -> None:
    text = "Niger and Mauritania sent envoys."
    result = refine(text, [at(text, "Niger", "PERSON"), at(text, "Mauritania", "GPE")])
    assert pairs(result) == [("Niger", "GPE"), ("Mauritania", "GPE")]


def test_an_acronym_defined_in_brackets_takes_the_label_and_name_of_its_organisation() -> None:
    text = "Farid Hakme of the Brazilian Plastic Surgery Society (SBCP) spoke. The SBCP grew."
    mentions = [
        at(text, "Farid Hakme", "PERSON"),
        at(text, "Brazilian Plastic Surgery Society", "ORG"),
        at(text, "SBCP", "PERSON", 1),
    ]
    result = exact(text, refine(text, mentions))
    assert [(m.text, m.label, m.canonical) for m in result[2:]] == [
        ("SBCP", "ORG", "Brazilian Plastic Surgery Society"),
        ("SBCP", "ORG", "Brazilian Plastic Surgery Society"),
    ]


def test_a_dateline_place_is_a_place() -> None:
    text = "Headline here\nLONDON 1996-12-06\nMUNICH, Germany 1996-12-06\nBody text."
    result = exact(text, refine(text, [at(text, "LONDON", "ORG"), at(text, "MUNICH", "ORG")]))
    assert pairs(result) == [("LONDON", "GPE"), ("MUNICH", "GPE"), ("Germany", "GPE")]


def test_a_dateline_run_into_the_text_is_found_too() -> None:
    text = (
        "SOCCER - LATE GOALS GIVE JAPAN WIN OVER SYRIA. "
        "AL-AIN, United Arab Emirates 1996-12-06 Japan won the opening match of the tournament "
        "with two late goals on Friday."
    )
    mentions = [at(text, "SOCCER", "ORG"), at(text, "AL-AIN", "ORG"), at(text, "Japan", "GPE")]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [
        ("JAPAN", "GPE"),
        ("SYRIA", "GPE"),
        ("AL-AIN", "GPE"),
        ("United Arab Emirates", "GPE"),
        ("Japan", "GPE"),
    ]


def test_names_in_capitalised_headlines_need_confirmation_from_the_body() -> None:
    text = "SOCCER - CUTTITTA BACK FOR ITALY\nThe coach recalled Marcello Cuttitta on Friday."
    mentions = [
        at(text, "SOCCER", "ORG"),
        at(text, "CUTTITTA", "PERSON"),
        at(text, "ITALY", "GPE"),
        at(text, "Marcello Cuttitta", "PERSON"),
    ]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [
        ("CUTTITTA", "PERSON"),
        ("ITALY", "GPE"),
        ("Marcello Cuttitta", "PERSON"),
    ]
    assert result[1].canonical == "Italy"


def test_a_span_that_runs_over_scores_splits_into_the_teams() -> None:
    text = "Bochum 2 Bayer Leverkusen 2\nSchalke 04 won."
    mentions = [at(text, "Bochum 2 Bayer Leverkusen 2", "ORG"), at(text, "Schalke 04", "ORG")]
    result = exact(text, refine(text, mentions))
    assert [m.text for m in result] == ["Bochum", "Bayer Leverkusen", "Schalke 04"]


def test_a_name_never_crosses_a_line_break_or_a_bracket() -> None:
    text = "Simona de Logu\nRIO DE JANEIRO 1996-12-06\nHe (Gorst) said no."
    mentions = [at(text, "Simona de Logu\nRIO DE", "PERSON"), at(text, "He (Gorst", "PERSON")]
    result = exact(text, refine(text, mentions))
    assert ("Simona de Logu", "PERSON") in pairs(result)
    assert ("Gorst", "PERSON") in pairs(result)
    assert all("\n" not in m.text and "(" not in m.text for m in result)


def test_titles_in_front_of_a_name_are_not_part_of_it() -> None:
    text = "Defender Hassan Abbas scored. General Antoine Lahd resigned."
    mentions = [
        at(text, "Defender Hassan Abbas", "PERSON"),
        at(text, "General Antoine Lahd", "ORG"),
    ]
    result = exact(text, refine(text, mentions))
    assert pairs(result) == [("Hassan Abbas", "PERSON"), ("Antoine Lahd", "PERSON")]


def test_trailing_common_nouns_are_not_part_of_a_name() -> None:
    text = "The Conservative party met in Lanarkshire county."
    mentions = [at(text, "Conservative party", "ORG"), at(text, "Lanarkshire county", "GPE")]
    assert [m.text for m in refine(text, mentions)] == ["Conservative", "Lanarkshire"]


def test_countries_and_aliases_get_one_canonical_entity() -> None:
    text = "The U.S. and the US and the United States and USA."
    mentions = [
        at(text, "U.S.", "GPE"),
        at(text, "US", "ORG"),
        at(text, "the United States", "GPE"),
        at(text, "USA", "GPE"),
    ]
    result = refine(text, mentions)
    assert {(m.canonical, m.label, m.entity_id) for m in result} == {
        ("United States", "GPE", "GPE:united-states")
    }


def test_organisations_are_stored_without_their_legal_form() -> None:
    text = "Apple Inc said Apple would pay."
    result = refine(text, [at(text, "Apple Inc", "ORG"), at(text, "Apple", "ORG", 1)])
    assert {m.canonical for m in result} == {"Apple"}


def test_values_keep_the_models_label_and_text() -> None:
    text = "Trade could reach $100 billion by 2030."
    result = refine(text, [at(text, "$100 billion", "MONEY"), at(text, "2030", "DATE")])
    assert [(m.text, m.label, m.canonical) for m in result] == [
        ("$100 billion", "MONEY", "$100 billion"),
        ("2030", "DATE", "2030"),
    ]


def test_user_aliases_merges_and_blocks_apply_at_tag_time() -> None:
    text = "Reuters reported that POTUS met Daesh envoys."
    config = EntityConfig(
        aliases={"potus": "Donald Trump"},
        merges={"isil": "Islamic State Group"},
        blocked=frozenset({"reuters"}),
    )
    mentions = [at(text, "Reuters", "ORG"), at(text, "POTUS", "ORG"), at(text, "Daesh", "ORG")]
    result = refine(text, mentions, config)
    assert [(m.text, m.canonical) for m in result] == [
        ("POTUS", "Donald Trump"),
        ("Daesh", "Islamic State Group"),
    ]


def test_a_surname_follows_its_full_name_to_the_users_alias() -> None:
    text = "Tayyip Erdogan spoke in Ankara. Later Erdogan met envoys, and Erdoğan left."
    config = EntityConfig(aliases={"tayyip erdogan": "Recep Tayyip Erdoğan"})
    mentions = [
        at(text, "Tayyip Erdogan", "PERSON"),
        at(text, "Erdogan", "PERSON", nth=1),
        at(text, "Erdoğan", "PERSON"),
    ]
    result = refine(text, mentions, config)
    assert {m.entity_id for m in result} == {"PERSON:recep-tayyip-erdogan"}
    assert [m.canonical for m in result] == ["Recep Tayyip Erdoğan"] * 3


def test_mentions_outside_the_text_are_ignored_and_no_mentions_is_fine() -> None:
    text = "Nothing to see."
    assert refine(text, [Mention(text="x", label="ORG", start=40, end=45)]) == []
    assert refine("", []) == []


def test_arbitrary_model_output_never_breaks_offsets_or_overlaps() -> None:
    rng = random.Random(20250324)
    base = (
        "Turkish Foreign Minister Hakan Fidan met Marco Rubio.\n\nFidan-Rubio talks: the U.S. "
        "and Türkiye’s envoys (PKK) met in Washington, D.C. on March 25.\r\nSOCCER - ITALY WIN"
    )
    labels = ["PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "WORK_OF_ART", "DATE", "MONEY"]
    for _ in range(300):
        start = rng.randrange(len(base))
        text = base[start:] if rng.random() < 0.3 else base
        mentions = []
        for _ in range(rng.randrange(12)):
            a = rng.randrange(len(text))
            b = min(len(text), a + rng.randrange(1, 30))
            mentions.append(Mention(text=text[a:b], label=rng.choice(labels), start=a, end=b))
        result = exact(text, refine(text, mentions))
        assert all(m.text and m.canonical and m.entity_id for m in result)
        assert all(a.end <= b.start for a, b in pairwise(result))
