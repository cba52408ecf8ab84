"""Parse: every input format to a structured article, and clear errors for bad input."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tasks.errors import EmptyDocument, ParseError
from tasks.lang import heuristic_language
from tasks.models import Article, RawArticle
from tasks.parse import parse_article
from tasks.parse.dates import parse_date

REPO = Path(__file__).resolve().parents[2]
GOLD = REPO.parent / "shared" / "gold" / "seed.json"
SEED = REPO / "seeds" / "000_36f7d3e9a4e5bbdc.txt"
DATA = REPO / "tests" / "data" / "parse"


def parse(content: str, fmt: str = "text", source: str = "inbox/story.txt") -> Article:
    return parse_article(RawArticle(source=source, format=fmt, content=content))


def parse_json(record: Any, source: str = "inbox/story.json") -> Article:
    return parse(json.dumps(record), "json", source)


def gold_article() -> dict[str, Any]:
    article: dict[str, Any] = json.loads(GOLD.read_text(encoding="utf-8"))["article"]
    return article


# --------------------------------------------------------------------------- #
# the seed and the plain-text wire format
# --------------------------------------------------------------------------- #


def test_the_seed_parses_to_the_gold_article() -> None:
    gold = gold_article()
    article = parse(SEED.read_text(encoding="utf-8"), source=SEED.name)
    assert article.title == gold["title"]
    assert article.published == gold["published"]
    assert article.dateline == gold["dateline"]
    assert article.headings == gold["headings"]
    assert len(article.paragraphs) == gold["paragraphs"]
    assert article.paragraphs[0].startswith(gold["first_paragraph_starts"])
    assert article.paragraphs[-1].endswith(gold["last_paragraph_ends"])
    assert article.language == "en"
    assert article.text.startswith(gold["title"] + "\n\n" + gold["first_paragraph_starts"])


def test_the_seed_with_crlf_line_endings_parses_the_same() -> None:
    text = SEED.read_text(encoding="utf-8")
    assert parse(text.replace("\n", "\r\n")) == parse(text)


def test_curly_quotes_and_accents_are_kept_as_they_are() -> None:
    article = parse(SEED.read_text(encoding="utf-8"))
    assert article.paragraphs[2].startswith("“It is anticipated")
    assert "Türkiye’s" in article.body and "Erdoğan" in article.body


def test_a_wire_story_without_a_date_line_takes_its_first_line_as_title() -> None:
    article = parse((DATA / "wire_no_date.txt").read_text(encoding="utf-8"))
    assert article.title == "UK economy grows faster than expected at end of 2024"
    assert article.published is None
    assert article.metadata["byline"] == "By Jane Marlow and Tom Smith"


def test_an_agency_dateline_opening_the_first_paragraph_is_split_off() -> None:
    article = parse((DATA / "wire_no_date.txt").read_text(encoding="utf-8"))
    assert article.dateline == "LONDON, March 3 (Reuters)"
    assert article.paragraphs[0].startswith("Britain's economy grew faster")


def test_hard_wrapped_paragraphs_are_joined_into_one_line() -> None:
    article = parse((DATA / "wire_no_date.txt").read_text(encoding="utf-8"))
    assert article.paragraphs[1] == (
        "The Office for National Statistics said gross domestic product rose 0.4% in the "
        "three months to December, beating the 0.1% forecast in a Reuters poll of economists."
    )
    assert all("\n" not in p for p in article.paragraphs)


def test_a_short_sentence_paragraph_is_not_taken_for_a_heading() -> None:
    article = parse((DATA / "wire_no_date.txt").read_text(encoding="utf-8"))
    assert article.headings == ["What comes next for the Bank of England"]
    assert "Sterling rose." in article.paragraphs
    assert article.paragraphs[-1] == "(Reporting by Jane Marlow; Editing by Tom Smith)"


def test_a_heading_glued_to_the_paragraph_below_it_is_still_a_heading() -> None:
    article = parse(
        "Title\n\nFirst paragraph, wrapped at a width of about fifty\ncharacters for this test.\n\n"
        "What comes next\nThe second paragraph is also wrapped at about\nfifty characters here.\n"
    )
    assert article.headings == ["What comes next"]
    assert article.paragraphs[1] == (
        "The second paragraph is also wrapped at about fifty characters here."
    )


def test_a_last_line_without_punctuation_stays_a_paragraph() -> None:
    article = parse("Title\n\nFirst paragraph of the story.\n\nEditing by John Stonestreet\n")
    assert article.headings == []
    assert article.paragraphs[-1] == "Editing by John Stonestreet"


@pytest.mark.parametrize(
    ("header", "published"),
    [
        (" date 2025-03-24", "2025-03-24"),
        ("Date: March 24, 2025", "2025-03-24"),
        ("Published: 2025-03-24T10:00:00Z", "2025-03-24T10:00:00+00:00"),
        ("Updated: Monday, 24 March 2025 at 10:15 GMT", "2025-03-24"),
        ("24.03.2025", "2025-03-24"),
    ],
)
def test_a_date_line_at_the_top_sets_the_published_date(header: str, published: str) -> None:
    article = parse(f"{header}\n\nPort strike ends\n\nDock workers returned to work.\n")
    assert article.published == published
    assert article.title == "Port strike ends"
    assert article.paragraphs == ["Dock workers returned to work."]


def test_an_impossible_date_is_kept_aside_not_guessed() -> None:
    article = parse(" date 2025-13-45 Port strike ends\n\nDock workers returned to work.\n")
    assert article.published is None
    assert article.metadata["date_raw"] == "2025-13-45"
    assert article.title == "Port strike ends"


def test_common_date_spellings_become_iso_dates() -> None:
    assert parse_date("Mar. 4, 2025") == "2025-03-04"
    assert parse_date("4th March 2025") == "2025-03-04"
    assert parse_date("2025/03/04") == "2025-03-04"
    assert parse_date("2025-03-04T10:00:00+0200") == "2025-03-04T10:00:00+02:00"
    assert parse_date("next Tuesday") is None


def test_a_text_with_one_paragraph_per_line_is_split_on_lines() -> None:
    article = parse(
        "Ministers agree new climate target\n"
        "The EU's environment ministers agreed on Tuesday to cut net emissions by 90% by 2040.\n"
        "The deal came after 14 hours of talks in Luxembourg.\n"
    )
    assert article.title == "Ministers agree new climate target"
    assert len(article.paragraphs) == 2


def test_control_characters_ansi_escapes_and_nuls_are_removed() -> None:
    article = parse(
        "\x1b[1;31m date 2025-03-24 Red\x00 alert\x1b[0m\n\n"
        "Some\x07 body   text\there\x0b with\x01 controls.\n"
    )
    assert article.title == "Red alert"
    assert article.paragraphs == ["Some body text here with controls."]


def test_an_empty_or_blank_text_is_an_empty_document() -> None:
    for content in ("", "  \n\r\n\t ", "\x00\x00"):
        with pytest.raises(EmptyDocument, match=re.escape("inbox/blank.txt")):
            parse(content, source="inbox/blank.txt")


def test_a_text_with_only_a_date_line_is_an_empty_document() -> None:
    with pytest.raises(EmptyDocument, match="no article text"):
        parse(" date 2025-03-24\n")


def test_an_unknown_format_is_a_parse_error_naming_the_file() -> None:
    with pytest.raises(
        ParseError, match=re.escape("inbox/a.doc: unknown article format 'docx'")
    ) as caught:
        parse("text", "docx", "inbox/a.doc")
    assert "text, markdown, html, json" in caught.value.hint


def test_the_language_heuristic_knows_common_news_languages() -> None:
    german = "Der Minister sagte, dass die Regierung mit den Ländern eine Einigung hat."
    assert heuristic_language(german) == "de"
    assert heuristic_language("Президент заявил в понедельник о новых мерах") == "ru"
    assert heuristic_language("東京で会議が開かれました。首相は記者団に語った。") == "ja"
    assert heuristic_language("12 34") is None


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #


def test_markdown_front_matter_gives_title_date_url_and_metadata() -> None:
    article = parse((DATA / "front_matter.md").read_text(encoding="utf-8"), "markdown")
    assert article.title == "Rates on hold: what it means"
    assert article.published == "2025-03-19"
    assert article.url == "https://example.com/rates"
    assert article.metadata == {"author": "Jane Doe", "tags": ["economy", "fed"]}


def test_markdown_headings_become_headings_and_the_h1_is_not_repeated() -> None:
    article = parse((DATA / "front_matter.md").read_text(encoding="utf-8"), "markdown")
    assert article.headings == ["Why it matters", "Setext heading"]
    assert not any("Rates on hold" in p for p in article.paragraphs)


def test_markdown_inline_syntax_is_stripped_and_code_blocks_dropped() -> None:
    article = parse((DATA / "front_matter.md").read_text(encoding="utf-8"), "markdown")
    assert article.dateline == "WASHINGTON (Reuters)"
    assert article.paragraphs[0] == (
        "The Federal Reserve kept rates unchanged on Wednesday, according to a statement."
    )
    assert "Borrowing costs stay high for households." in article.paragraphs
    assert '"We are well positioned," Powell said.' in article.paragraphs
    assert not any("print(" in p or "chart" in p or "img.png" in p for p in article.paragraphs)
    assert article.paragraphs[-1] == (
        "Last paragraph with a snake_case_name and 2 * 3 * 4 math and *escaped* stars & entity."
    )


def test_markdown_without_front_matter_takes_the_first_h1_as_title() -> None:
    article = parse("# Big **news**\n\nA [linked](http://x.y) paragraph.\n", "markdown")
    assert article.title == "Big news"
    assert article.paragraphs == ["A linked paragraph."]


def test_markdown_with_an_unclosed_fence_drops_only_the_code() -> None:
    article = parse("# Title\n\nProse before the code.\n\n```\nnever closed\n", "markdown")
    assert article.paragraphs == ["Prose before the code."]


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #


def test_an_html_news_page_gives_title_date_url_and_headings_from_its_metadata() -> None:
    article = parse((DATA / "news_page.html").read_text(encoding="utf-8"), "html")
    assert article.title == "Port strike ends after deal on wages"
    assert article.published == "2025-04-02"
    assert article.url == "https://news.example.com/2025/04/02/port-strike-ends"
    assert article.headings == ["Backlog will take weeks to clear", "Government welcomes the deal"]
    assert article.metadata["author"] == "Jane Marlow"
    assert article.language == "en"


def test_an_html_news_page_keeps_the_story_and_drops_navigation_and_footer() -> None:
    article = parse((DATA / "news_page.html").read_text(encoding="utf-8"), "html")
    assert article.dateline == "ROTTERDAM"
    assert article.paragraphs[0].startswith("Dock workers at Europe’s largest port")
    assert len(article.paragraphs) == 5
    for boilerplate in ("Subscribe", "Copyright", "Related stories", "Shipping rates", "dataLayer"):
        assert boilerplate not in article.text


def test_a_bold_only_html_paragraph_is_read_as_a_heading() -> None:
    story = "<p>" + "The talks went on late into the night in the capital. " * 4 + "</p>"
    page = f"<html><body><article>{story}<p><strong>Next steps</strong></p>{story}</article></body>"
    article = parse(page, "html")
    assert article.headings == ["Next steps"]
    assert len(article.paragraphs) == 2


def test_a_page_too_large_for_trafilatura_still_gives_metadata_and_story() -> None:
    page = (DATA / "news_page.html").read_text(encoding="utf-8")
    filler = '<div class="grid">' + "<span>more</span>" * 120_000 + "</div>"
    article = parse(page.replace("</footer>", "</footer>" + filler), "html")
    assert article.title == "Port strike ends after deal on wages"
    assert article.published == "2025-04-02T08:15:00+00:00"
    assert article.url == "https://news.example.com/2025/04/02/port-strike-ends"
    assert article.dateline == "ROTTERDAM"
    assert article.metadata["byline"] == "By Jane Marlow · 2 April 2025"
    assert article.headings == ["Backlog will take weeks to clear", "Government welcomes the deal"]
    assert "Subscribe" not in article.text and "Copyright" not in article.text


@pytest.mark.timeout(60)
def test_html_nested_ten_thousand_divs_deep_still_gives_its_text() -> None:
    deep = "<div>" * 10_000 + "<p>Deep text at the bottom of the page.</p>" + "</div>" * 10_000
    article = parse(f"<html><body>{deep}</body></html>", "html", "inbox/deep.html")
    assert article.paragraphs == ["Deep text at the bottom of the page."]


def test_html_with_only_scripts_is_an_empty_document() -> None:
    page = "<html><head><script>var x = 1;</script></head><body><script>go()</script></body>"
    with pytest.raises(EmptyDocument, match=re.escape("inbox/script.html")):
        parse(page, "html", "inbox/script.html")


def test_malformed_html_is_read_without_crashing() -> None:
    page = "<html><body><p>Unclosed <b>bold <i>text</p><div></span>Stray & text < > &#xZZ; <p>More"
    article = parse(page, "html")
    assert "Unclosed bold text" in article.body


@pytest.mark.timeout(60)
def test_a_five_megabyte_single_line_page_parses_without_hanging() -> None:
    page = "<html><body>" + "<p>Some sentence with words in it.</p>" * 140_000 + "</body></html>"
    assert len(page) > 5_000_000 and "\n" not in page
    article = parse(page, "html", "inbox/huge.html")
    assert article.paragraphs[0] == "Some sentence with words in it."


@pytest.mark.timeout(60)
def test_html_with_unclosed_scripts_and_comments_does_not_hang() -> None:
    for page in ("<script>" * 50_000, "<!--" * 50_000 + "<p>x</p>", "<" * 1_000_000):
        with contextlib.suppress(EmptyDocument):
            parse(page, "html")


def test_html_with_an_xml_declaration_and_nul_bytes_is_read() -> None:
    page = '<?xml version="1.0" encoding="utf-8"?><html><body><p>Decl\x00ared text.</p></body>'
    assert parse(page, "html").paragraphs == ["Declared text."]


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #


def test_a_json_article_with_body_keeps_id_url_and_unknown_fields_in_metadata() -> None:
    article = parse_json(
        {
            "id": "aa-123",
            "title": "Quake hits eastern Turkey",
            "body": "MALATYA (AA) - A quake struck on Monday.\n\nNo casualties were reported.",
            "date": "2025-03-24",
            "url": "https://example.com/quake",
            "section": "world",
            "tags": ["quake", "turkey"],
        }
    )
    assert article.title == "Quake hits eastern Turkey"
    assert article.published == "2025-03-24"
    assert article.dateline == "MALATYA (AA)"
    assert article.paragraphs == ["A quake struck on Monday.", "No casualties were reported."]
    assert article.url == "https://example.com/quake"
    assert article.metadata == {
        "id": "aa-123",
        "url": "https://example.com/quake",
        "section": "world",
        "tags": ["quake", "turkey"],
    }


def test_a_json_text_with_single_newlines_is_split_into_paragraphs() -> None:
    article = parse_json(
        {"title": "T", "text": "First paragraph.\nSecond paragraph.", "published": "2025-03-24"}
    )
    assert article.paragraphs == ["First paragraph.", "Second paragraph."]
    assert article.published == "2025-03-24"


def test_a_json_html_body_goes_through_the_html_path() -> None:
    article = parse_json(
        {
            "title": "Markup body",
            "body": "<p>First <b>paragraph</b> here.</p><h2>Reaction</h2><p>Second one.</p>",
            "published": 1742810400,
        }
    )
    assert article.paragraphs == ["First paragraph here.", "Second one."]
    assert article.headings == ["Reaction"]
    assert article.published == "2025-03-24T10:00:00+00:00"


def test_a_json_object_without_text_or_body_is_a_parse_error_naming_the_file() -> None:
    with pytest.raises(ParseError) as caught:
        parse_json({"title": "No body", "summary": "x"}, source="inbox/feed.json")
    assert caught.value.message == (
        "inbox/feed.json: JSON object has no 'text' or 'body' field (fields: summary, title)"
    )
    assert "add a 'text' field" in caught.value.hint


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "JSON value is an array, expected one object per article"),
        ('"just a string"', "JSON value is a string"),
        ('{"title": ', "not valid JSON"),
        ('{"text": 42}', "JSON field 'text' is a number, expected a string"),
    ],
)
def test_json_that_is_not_an_article_object_is_a_clear_parse_error(
    content: str, expected: str
) -> None:
    with pytest.raises(ParseError, match="^" + re.escape(f"inbox/bad.json: {expected}")):
        parse(content, "json", "inbox/bad.json")


def test_a_json_article_with_an_empty_text_is_an_empty_document() -> None:
    with pytest.raises(
        EmptyDocument, match=re.escape("inbox/story.json: JSON field 'text' is empty")
    ):
        parse_json({"title": "Nothing", "text": "  \n "})


def test_a_json_article_without_title_takes_a_short_first_line() -> None:
    article = parse_json({"text": "Short headline\n\nThe story itself.\n\nMore of it."})
    assert article.title == "Short headline"
    assert article.paragraphs == ["The story itself.", "More of it."]


def test_a_json_declared_language_is_used_when_the_text_is_too_short_to_tell() -> None:
    assert parse_json({"title": "Kurz", "text": "Ja.", "lang": "de-DE"}).language == "de"
