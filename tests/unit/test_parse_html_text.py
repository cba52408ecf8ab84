"""HTML whose text an extractor would drop: deep nesting, pages with nothing visible."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.errors import EmptyDocument, PermanentError
from tasks.models import RawArticle
from tasks.parse import parse_article
from tasks.parse.html_text import is_stub, visible_blocks

DATA = Path(__file__).resolve().parents[1] / "data" / "parse"
STORY = [
    f"Paragraph {i}: the minister of Ruritania met officials in Strelsau on Tuesday "
    "to discuss the budget, the port and the trade agreement."
    for i in range(12)
]


def _page(depth: int) -> str:
    body = "".join(f"<p>{p}</p>" for p in STORY)
    return (
        "<html><head><title>Budget talks in Strelsau</title></head><body>"
        + "<div>" * depth
        + body
        + "</div>" * depth
        + "</body></html>"
    )


@pytest.mark.parametrize("depth", [300, 100_000])
def test_an_article_inside_deeply_nested_divs_keeps_its_whole_body(depth: int) -> None:
    article = parse_article(RawArticle(source="deep.html", format="html", content=_page(depth)))
    assert article.title == "Budget talks in Strelsau"
    assert article.paragraphs == STORY


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>",
        "<html><head><title>x</title></head><body></body></html>",
        "<html><head><title>x</title><style>p{}</style></head><body><noscript>on</noscript>"
        "<template><p>hidden</p></template></body></html>",
        "<title>x</title><script>document.write('hello')</script>",
    ],
)
def test_a_page_with_a_title_but_no_visible_text_is_refused_not_indexed(page: str) -> None:
    with pytest.raises(EmptyDocument, match="no visible text") as refused:
        parse_article(RawArticle(source="shell.html", format="html", content=page))
    assert isinstance(refused.value, PermanentError)
    assert "shell.html" in str(refused.value)


def test_the_visible_text_skips_scripts_styles_and_navigation_and_keeps_blocks() -> None:
    page = (
        "<html><head><title>T</title><script>var x = '<p>no</p>';</script></head><body>"
        "<nav><a>Home</a></nav><h1>Head</h1><p>One &amp; <b>two</b></p><div>Three<br>Four</div>"
        "<style>.a{}</style><footer>Copyright</footer></body></html>"
    )
    assert visible_blocks(page) == ["Head", "One & two", "Three", "Four"]


def test_an_extraction_is_a_stub_only_when_it_keeps_a_small_share_of_a_real_page() -> None:
    assert is_stub(2, 400)
    assert not is_stub(150, 400)  # main content without the menus and comments
    assert not is_stub(2, 40)  # a short page: nothing to compare


def test_a_normal_news_page_stays_on_the_main_content_extraction() -> None:
    page = (DATA / "news_page.html").read_text(encoding="utf-8")
    article = parse_article(RawArticle(source="news.html", format="html", content=page))
    assert len(article.paragraphs) == 5
    assert "Subscribe" not in article.text
