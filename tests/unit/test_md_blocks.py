"""Markdown block lines read by plain string scans (ATX headings, table rules)."""

from __future__ import annotations

import pytest

from tasks.models import RawArticle
from tasks.parse import parse_article
from tasks.parse.markdown import STRUCTURE_MAX_CHARS
from tasks.parse.md_blocks import atx_heading, is_table_rule


@pytest.mark.parametrize(
    "line, heading",
    [
        ("# Title", (1, "Title")),
        ("### Part two ###", (3, "Part two")),
        ("   ## Indented", (2, "Indented")),
        ("# Title#", (1, "Title#")),
        ("#", (1, "")),
        ("## ##", (2, "")),
        ("#5 in the charts", None),
        ("####### seven", None),
        ("    # code", None),
    ],
)
def test_an_atx_heading_line_is_read_like_commonmark(
    line: str, heading: tuple[int, str] | None
) -> None:
    assert atx_heading(line) == heading


@pytest.mark.parametrize(
    "line, rule",
    [
        ("|---|:--:|", True),
        ("--- | ---", True),
        (" | :--- | ---: | ", True),
        ("--", True),
        ("| -- || -- |", False),
        ("|", False),
        ("| a | b |", False),
        ("-", False),
    ],
)
def test_a_table_delimiter_row_is_recognised_and_a_table_row_is_not(line: str, rule: bool) -> None:
    assert is_table_rule(line) is rule


def test_a_line_longer_than_the_structure_limit_is_paragraph_text_not_a_heading() -> None:
    long_line = "# " + "word " * (STRUCTURE_MAX_CHARS // 5)
    text = f"# Title\n\nFirst paragraph of the story.\n\n{long_line}\n"
    article = parse_article(RawArticle(source="long.md", format="markdown", content=text))
    assert article.headings == []
    assert article.paragraphs[-1].startswith("# word word")
