"""The search page's links: a facet value narrows the search, a chip drops its filter."""

from __future__ import annotations

from datetime import date

from tasks.search.request import FacetCount, SearchRequest
from workers.web.links import by_label, chips, facet_href, facet_params, page_href, page_numbers


def test_a_month_facet_narrows_the_dates_to_that_whole_month() -> None:
    assert facet_params("months", "2024-02") == {"date_from": "2024-02-01", "date_to": "2024-02-29"}
    assert facet_params("days", "2025-03-24") == {
        "date_from": "2025-03-24",
        "date_to": "2025-03-24",
    }
    assert facet_params("months", "2025-13") is None
    assert facet_params("labels", "PERSON") == {"label": "PERSON"}


def test_a_facet_link_keeps_the_query_and_filters_and_goes_back_to_the_first_page() -> None:
    request = SearchRequest(q="talks", lang="en", page=3)
    link = facet_href(request, "entities", FacetCount(value="PERSON:hakan-fidan", count=2))
    assert link == "/?q=talks&lang=en&entity=PERSON%3Ahakan-fidan"


def test_each_active_filter_is_a_chip_whose_link_drops_only_it() -> None:
    request = SearchRequest(q="talks", dateline="ankara", date_from=date(2025, 3, 1))
    found = {chip.name: chip.remove for chip in chips(request)}
    assert found == {
        "date_from": "/?q=talks&dateline=ankara",
        "dateline": "/?q=talks&date_from=2025-03-01",
    }


def test_pages_show_the_first_the_last_and_those_around_the_current_one() -> None:
    assert page_numbers(1, 1) == [1]
    assert page_numbers(6, 20) == [1, 0, 4, 5, 6, 7, 8, 0, 20]
    assert page_href(SearchRequest(q="a b"), 2) == "/?q=a+b&page=2"
    assert page_href(SearchRequest(q="a b"), 1) == "/?q=a+b"


def test_the_entity_facet_groups_names_before_values_each_label_at_most_five() -> None:
    counts = [FacetCount(value=f"DATE:{i}", count=9, label="DATE") for i in range(3)] + [
        FacetCount(value=f"PERSON:{i}", count=2, label="PERSON") for i in range(7)
    ]
    groups = by_label(counts)
    assert [label for label, _ in groups] == ["PERSON", "DATE"]
    assert [len(group) for _, group in groups] == [5, 3]
