"""A city named as a sports team is an organisation, in sports stories only.

The rules on hand-made model output (`refine_offsets`, as the tagger calls them), then
the real tagger end to end.
"""

from __future__ import annotations

import pytest

from tasks.entities.refine import refine_offsets
from tasks.entities.teams import is_sports_story
from tasks.tag import Tagger


def spans(text: str, *marks: tuple[str, str] | tuple[str, str, int]) -> list[tuple[int, int, str]]:
    """The model's (start, end, label) for (surface, label[, nth occurrence]) marks."""
    found = []
    for surface, label, *nth in marks:
        start = -1
        for _ in range(nth[0] + 1 if nth else 1):
            start = text.index(surface, start + 1)
        found.append((start, start + len(surface), label))
    return found


def labels(text: str, model: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    return [(m.text, m.label) for m in refine_offsets(text, model)]


MATCH_REPORT = (
    "Marseille beat Lyon 2-1 on Sunday to go top of the league.\n\n"
    "The coach said his striker had scored the best goal of the season."
)


def test_two_cities_that_play_a_match_are_two_teams() -> None:
    model = spans(MATCH_REPORT, ("Marseille", "GPE"), ("Lyon", "GPE"))
    assert labels(MATCH_REPORT, model) == [("Marseille", "ORG"), ("Lyon", "ORG")]


def test_a_city_with_its_striker_is_a_team_but_the_final_in_the_city_is_a_place() -> None:
    text = (
        "Barcelona's striker scored twice as the league leaders won 3-0 on Saturday.\n\n"
        "The coach said Barcelona would not rest players before the cup final in Barcelona."
    )
    model = spans(text, ("Barcelona", "GPE"), ("Barcelona", "GPE", 1), ("Barcelona", "GPE", 2))
    assert labels(text, model) == [("Barcelona", "ORG"), ("Barcelona", "ORG"), ("Barcelona", "GPE")]


def test_national_teams_are_written_as_their_country_and_stay_places() -> None:
    text = (
        "Brazil beat Argentina 1-0 in a World Cup qualifier.\n\n"
        "The coach said the striker's goal decided the match."
    )
    model = spans(text, ("Brazil", "GPE"), ("Argentina", "GPE"))
    assert labels(text, model) == [("Brazil", "GPE"), ("Argentina", "GPE")]


def test_outside_sports_stories_a_city_that_says_something_is_unchanged() -> None:
    text = (
        "Washington said on Monday it would impose sanctions on three banks.\n\n"
        "Brussels said it would follow. Officials in Washington said the measures would "
        "take effect next week, in the middle of the holiday season."
    )
    model = spans(text, ("Washington", "GPE"), ("Brussels", "GPE"), ("Washington", "GPE", 1))
    assert labels(text, model) == [
        ("Washington", "GPE"),
        ("Brussels", "GPE"),
        ("Washington", "GPE"),
    ]


def test_one_sports_word_does_not_make_a_sports_story() -> None:
    text = "Lyon said on Monday it would compete for the title of European Capital of Culture."
    assert not is_sports_story(text)
    assert labels(text, spans(text, ("Lyon", "GPE"))) == [("Lyon", "GPE")]


def test_a_sports_story_is_told_by_distinct_sports_words_a_plural_counting_once() -> None:
    assert not is_sports_story("Goals, goals and more goals: the title is near.")
    assert is_sports_story("Goals, a title, and the striker who scored them.")
    assert is_sports_story("SOCCER - LEAGUE RESULTS\n\nResults of league matches:")


def test_both_cities_of_a_result_line_are_teams() -> None:
    text = "SOCCER - FRENCH LEAGUE RESULTS\n\nResults of league matches:\nLyon 3 Nantes 0\n"
    model = spans(text, ("Lyon", "GPE"), ("Nantes", "GPE"))
    assert labels(text, model)[-2:] == [("Lyon", "ORG"), ("Nantes", "ORG")]


def test_a_city_a_team_lost_to_is_a_team_and_a_score_the_model_took_in_is_left_out() -> None:
    text = "Nantes lost to Lyon on Friday. The coach said the goal came late in the season."
    model = spans(text, ("Nantes", "GPE"), ("Lyon", "GPE"))
    assert labels(text, model) == [("Nantes", "ORG"), ("Lyon", "ORG")]
    glued = spans(MATCH_REPORT, ("Marseille", "PERSON"), ("Lyon 2-1", "PRODUCT"))
    assert labels(MATCH_REPORT, glued) == [("Marseille", "ORG"), ("Lyon", "ORG")]


def test_a_host_city_and_a_city_of_which_someone_speaks_stay_places() -> None:
    text = (
        "Paris won the right to host the football tournament, and the mayor of Lyon said "
        "the city would bid for the next one. The coach of the champions said little."
    )
    model = spans(text, ("Paris", "GPE"), ("Lyon", "GPE"))
    assert labels(text, model) == [("Paris", "GPE"), ("Lyon", "GPE")]


def test_a_city_name_the_document_uses_for_a_person_stays_a_person() -> None:
    text = "Austin Reaves scored 30 in the playoff game. Austin said the coach had a plan."
    model = spans(text, ("Austin Reaves", "PERSON"), ("Austin", "PERSON", 1))
    assert labels(text, model) == [("Austin Reaves", "PERSON"), ("Austin", "PERSON")]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger()


def test_the_tagger_reads_a_match_report_end_to_end(tagger: Tagger) -> None:
    text = "Marseille beat Lyon 2-1 in Ligue 1\n\n" + MATCH_REPORT
    found = {(m.text, m.label) for m in tagger.tag(text) if m.text in ("Marseille", "Lyon")}
    assert found == {("Marseille", "ORG"), ("Lyon", "ORG")}


def test_the_tagger_keeps_the_final_in_barcelona_a_place_end_to_end(tagger: Tagger) -> None:
    text = (
        "Barcelona ease past Sevilla\n\n"
        "Barcelona's striker scored twice as the Catalans won 3-0 in the league on Saturday. "
        "Barcelona's coach said the title race was open. The Champions League final in "
        "Barcelona will be played in June, and the midfielder said he hoped to be there."
    )
    found = [(m.text, m.label) for m in tagger.tag(text) if m.text == "Barcelona"]
    assert found == [("Barcelona", "ORG")] * 3 + [("Barcelona", "GPE")]


def test_the_tagger_leaves_a_politics_story_alone_end_to_end(tagger: Tagger) -> None:
    text = (
        "US imposes sanctions\n\n"
        "Washington said on Monday it would impose sanctions on three companies. "
        "The decision was the title story of the season in Washington."
    )
    assert {m.label for m in tagger.tag(text) if m.text == "Washington"} == {"GPE"}
