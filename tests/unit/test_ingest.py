"""Ingest: decoding, splitting, de-duplication and clear rejections."""

from __future__ import annotations

import codecs
import json

import pytest

from tasks.errors import EmptyDocument, FileTooLarge, RejectedFile, UnsupportedFormat
from tasks.ingest import content_hash, decode, ingest_file, split_file
from tasks.store import open_store

MB = 1024 * 1024


def test_utf16_with_bom_and_latin1_articles_are_decoded() -> None:
    text = "Türkiye and Erdoğan\n\nA paragraph."
    assert decode("a.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le")) == text
    latin = "Café de Flore à Paris, où l'économie française se discute."
    assert decode("b.txt", latin.encode("latin-1")) == latin


def test_archives_and_images_are_rejected_with_what_they_are() -> None:
    with pytest.raises(UnsupportedFormat, match="gzip archive"):
        decode("news.txt", b"\x1f\x8b\x08\x00rest")
    with pytest.raises(UnsupportedFormat, match="PNG image"):
        decode("photo.txt", b"\x89PNG\r\n\x1a\nxxxx")


def test_unknown_extensions_are_rejected_with_the_supported_list() -> None:
    with pytest.raises(UnsupportedFormat, match=r"\.docx") as info:
        split_file("report.docx", b"text", max_bytes=MB)
    assert ".txt" in info.value.describe()


def test_a_file_over_the_limit_is_rejected_before_anything_else() -> None:
    with pytest.raises(FileTooLarge, match="over the limit"):
        split_file("big.txt", b"x" * 2000, max_bytes=1000)


def test_empty_and_whitespace_only_files_are_rejected_as_empty() -> None:
    for data in (b"", b"  \n\t \r\n"):
        with pytest.raises(EmptyDocument, match="empty"):
            split_file("blank.txt", data, max_bytes=MB)


def test_a_jsonl_file_keeps_its_good_lines_and_reports_the_bad_one() -> None:
    lines = [json.dumps({"title": "A", "text": "One."}), "{not json", json.dumps({"text": "Two."})]
    articles, errors = split_file("feed.jsonl", "\n".join(lines).encode(), max_bytes=MB)
    assert [a.part for a in articles] == [1, 3]
    assert errors == [
        "feed.jsonl: line 2 is not valid JSON (Expecting property name enclosed in double quotes)"
    ]


def test_invalid_json_names_the_file_and_position() -> None:
    with pytest.raises(RejectedFile, match=r"bad\.json: invalid JSON at line 1"):
        split_file("bad.json", b'{"title": ', max_bytes=MB)


def test_ansi_escapes_and_control_characters_are_removed_from_text() -> None:
    (article,), _ = split_file("x.txt", b"\x1b[31mRed\x1b[0m news\x07 \x00here\r\n", max_bytes=MB)
    assert article.content == "Red news here\n"


def test_whitespace_differences_do_not_change_the_content_hash() -> None:
    assert content_hash("Hello  world\r\n\nAgain") == content_hash("Hello world\n\nAgain ")


def test_the_same_content_under_two_names_is_one_document(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    first = ingest_file(store, "a.txt", b"Title\n\nSome body text.", max_bytes=MB)
    second = ingest_file(store, "copy of a.txt", b"Title\n\nSome body text.\n", max_bytes=MB)
    assert len(first.new_ids) == 1
    assert second.new_ids == [] and second.duplicate_ids == first.new_ids
    assert store.counts()["received"] == 1
