"""Every stored string reaches the pages escaped: an entity named <script> renders inert."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.models import Mention
from tests.unit.web_fakes import SCRIPT, client
from workers.web.render import highlight_text, label_class, safe_snippet

PAGES = [
    "/?q=fidan",
    "/documents/dddd",
    "/entities",
    "/entities/ORG%3A%3Cscript%3E",
    "/pipeline",
]


@pytest.mark.parametrize("url", PAGES)
def test_no_page_carries_a_stored_script_tag_unescaped(tmp_path: Path, url: str) -> None:
    page = client(tmp_path).get(url)
    assert page.status_code == 200, page.text
    assert SCRIPT not in page.text
    assert "&lt;script&gt;" in page.text
    assert "<script" not in page.text.lower()


def test_pages_forbid_scripts_through_their_content_security_policy(tmp_path: Path) -> None:
    page = client(tmp_path).get("/")
    assert "script-src" not in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_snippet_keeps_its_marks_and_escapes_everything_around_them() -> None:
    out = safe_snippet(f"a {SCRIPT} <mark>Fidan</mark> &amp; b\nc")
    assert str(out) == "a &lt;script&gt;alert(1)&lt;/script&gt; <mark>Fidan</mark> &amp; b c"


def test_a_snippet_the_store_escaped_already_is_not_escaped_twice() -> None:
    assert str(safe_snippet("Tom &amp; Jerry <mark>x</mark>")) == "Tom &amp; Jerry <mark>x</mark>"


def test_unbalanced_marks_are_closed_and_stray_closers_dropped() -> None:
    assert str(safe_snippet("</mark>a <mark>b")) == "a <mark>b</mark>"


def test_mentions_become_links_to_their_entity_with_a_colour_per_label() -> None:
    text = "Title\n\nHakan Fidan met <b>."
    fidan = Mention(
        text="Hakan Fidan", label="PERSON", start=7, end=18, entity_id="PERSON:hakan-fidan"
    )
    odd = Mention(text="<b>", label='W"EIRD', start=23, end=26, entity_id='X:<b>/"')
    title, body = highlight_text(text, [fidan, odd])
    assert str(title) == "Title"
    assert str(body).startswith(
        '<a class="ent ent-PERSON" href="/entities/PERSON%3Ahakan-fidan" '
        'title="PERSON: Hakan Fidan">Hakan Fidan</a> met '
    )
    assert 'href="/entities/X%3A%3Cb%3E%2F%22"' in str(body)
    assert ">&lt;b&gt;</a>." in str(body) and "ent-OTHER" in str(body)


def test_overlapping_or_out_of_range_mentions_leave_the_text_whole() -> None:
    text = "Alpha Beta"
    spans = [
        Mention(text="Alpha Beta", label="ORG", start=0, end=10),
        Mention(text="Beta", label="ORG", start=6, end=10),
        Mention(text="x", label="ORG", start=8, end=99),
    ]
    (only,) = highlight_text(text, spans)
    assert str(only) == '<span class="ent ent-ORG" title="ORG: Alpha Beta">Alpha Beta</span>'


def test_a_label_class_holds_only_plain_characters() -> None:
    assert label_class("gpe") == "ent-GPE"
    assert label_class('PER" onmouseover="x') == "ent-OTHER"
