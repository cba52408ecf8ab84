"""Bad input contained: a hostile corpus through the real watcher and real workers.

The corpus is `tests/data/hostile/` (committed, small) plus what
`tests/data/make_hostile.py` builds at test time (multi-megabyte files, names with
newlines and escapes, a symlink out of the inbox, a FIFO). Each file has one specific
expected outcome in EXPECTED below.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tasks.ingest import display_name
from tests.conftest import REPO, docflow_env, wait_until
from tests.fixtures.cluster import (
    article,
    docflow_background,
    events,
    sqlite_store,
    start_workers,
    stop,
)
from workers.files import is_ignored_name
from workers.inbox_fs import error_file_name

sys.path.insert(0, str(REPO / "tests" / "data"))
import make_hostile

pytestmark = pytest.mark.integration

MAX_FILE_MB = 8
N = make_hostile.NAMES

#: file -> its outcome: "indexed", "indexed N" (N documents), "rejected: <reason>",
#: "failed at <stage>: <reason>", "ignored: <reason>" (never opened, left in the inbox),
#: or several of them joined by " + " (a JSONL with a bad line)
EXPECTED: dict[str, str] = {
    "empty.txt": "rejected: the file is empty or only whitespace",
    "whitespace_only.txt": "rejected: the file is empty or only whitespace",
    "binary_noise.txt": "rejected: not text in any encoding docflow recognises",
    "image.png": "rejected: files of type '.png' are not supported",
    "png_named_as_text.txt": "rejected: the file is a PNG image, not text",
    "nul_bytes.txt": "indexed",
    "invalid_utf8.txt": "indexed",
    "latin1_article.txt": "indexed",
    "utf16_bom_article.txt": "indexed",
    "utf8_bom_article.md": "indexed",
    "crlf_article.txt": "indexed",
    "too_big.txt": "rejected: MB is over the limit of 8.4 MB",
    "one_line_5mb.txt": "rejected: over the limit of 1 million characters for one article",
    "scripts_only.html": "failed at parse: the HTML has no visible text",
    "title_and_script_only.html": "failed at parse: the HTML has no visible text",
    "quadratic_heading.md": "indexed",
    "quadratic_table.md": "indexed",
    "quadratic_quote.md": "indexed",
    "quadratic_caps.txt": "indexed",
    "quadratic_dots.txt": "indexed",
    "quadratic_blanks.txt": "indexed",
    "deep_100k.html": "indexed",
    "deep_nested.html": "indexed",
    "malformed.html": "indexed",
    "xxe_entity.html": "indexed",
    "invalid.json": "rejected: invalid JSON at line 1 column 47",
    "json_without_text.json": "failed at parse: JSON object has no 'text' or 'body' field",
    "json_array_two.json": "indexed 2",
    "big_integer.json": "indexed",
    "deep_json.json": "rejected: invalid JSON: nested too deeply to read",
    "mixed_lines.jsonl": "indexed 2 + rejected: line 2 is not valid JSON",
    "all_bad_lines.jsonl": "rejected: line 1 is not valid JSON",
    "archive.gz": "rejected: files of type '.gz' are not supported",
    "archive.zip": "rejected: files of type '.zip' are not supported",
    "gzip_named_as_text.txt": "rejected: the file is a gzip archive, not text",
    "report.docx": "rejected: files of type '.docx' are not supported",
    "same_content_a.txt": "one document for both names",
    "same_content_b.txt": "one document for both names",
    "german_article.txt": "indexed",
    "no_entities.txt": "indexed",
    "control_and_ansi.txt": "indexed",
    N["spaces"]: "indexed",
    N["newline"]: "indexed",
    N["dash"]: "indexed",
    N["dashes"]: "indexed",
    N["long"]: "indexed",
    N["cyrillic"]: "indexed",
    N["cjk"]: "indexed",
    N["arabic"]: "indexed",
    N["ansi_name"]: "indexed",
    N["control_name"]: "indexed",
    N["max_name"]: "indexed",
    N["max_name_rejected"]: "rejected: files of type '.png' are not supported",
    "link_to_passwd.txt": "ignored: a symbolic link",
    "fifo.txt": "ignored: not a regular file",
    ".hidden.txt": "ignored: a dotfile or temporary name",
    "partial.txt.part": "ignored: a dotfile or temporary name",
}
PENDING = ("received", "parsed", "tagged")
#: what some indexed files must read like once decoded and cleaned
TEXT_CHECKS = {
    "latin1_article.txt": "Le président français reçoit ses homologues à Genève",
    "utf16_bom_article.txt": "Zoë Müller wins the Berlin marathon",
    "invalid_utf8.txt": "Osaka exporters cheer weak yen — again",
    "crlf_article.txt": "Quito airport closes for volcanic ash",
    "control_and_ansi.txt": "Oslo fjord ferry fares cut",
    "nul_bytes.txt": "Nairobi water prices rise",
}


def actual_outcome(name: str, store, watcher_log: str, inbox: Path, processed: Path) -> str:
    """What became of one dropped file, in the words of EXPECTED."""
    shown = display_name(name)
    docs = [d for d in store.iter_documents() if d.source == shown]
    rejected = [r.error for r in store.rejected_files() if r.source in (name, shown)]
    parts = []
    if docs:
        statuses = {(d.status.value, d.stage) for d in docs}
        if statuses == {("indexed", None)}:
            parts.append("indexed" if len(docs) == 1 else f"indexed {len(docs)}")
        else:
            parts.extend(
                f"failed at {d.stage}: {d.last_error}"
                if d.status.value == "failed"
                else d.status.value
                for d in docs
            )
    parts.extend(f"rejected: {error}" for error in rejected)
    if parts:
        return " + ".join(parts)
    if os.path.lexists(inbox / name):
        if is_ignored_name(name):
            return "ignored: a dotfile or temporary name (never taken)"
        skipped = [
            e
            for e in events(watcher_log)
            if e.get("event") == "file_skipped" and e.get("source") in (name, shown)
        ]
        return f"ignored: {skipped[-1]['reason']}" if skipped else "ignored: no reason logged"
    if os.path.lexists(processed / name):
        return "duplicate: ingested, no new document"
    return "no outcome"


def matches(expected: str, actual: str) -> bool:
    """Each ' + ' part of `expected` is a prefix-and-substring match of the actual part."""
    exp_parts, act_parts = expected.split(" + "), actual.split(" + ")
    if len(exp_parts) != len(act_parts):
        return False
    for exp, act in zip(exp_parts, act_parts, strict=True):
        kind, _, reason = exp.partition(": ")
        if exp.startswith("indexed"):
            if act != exp.split(" (")[0]:
                return False
        elif not (act.startswith(kind) and reason in act):
            return False
    return True


def test_a_hostile_corpus_ends_with_one_clear_outcome_per_file_and_harms_nothing(
    private_redis, data_dir, start_worker, tmp_path
) -> None:
    # Given a worker and a watcher on an inbox, files limited to 8 MB
    env = docflow_env(
        data_dir, private_redis.url, DOCFLOW_MAX_FILE_MB=str(MAX_FILE_MB), DOCFLOW_RESCAN_S="1"
    )
    (worker,) = start_workers(start_worker, env, private_redis.url, "alpha", concurrency=2)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher_log = tmp_path / "watcher.log"
    watcher = docflow_background(env, watcher_log, "watch", str(inbox))
    store = sqlite_store(data_dir)
    try:
        # When more than 30 broken, odd and malicious files are dropped into it
        staging = tmp_path / "staging"
        shutil.copytree(make_hostile.STATIC_DIR, staging)
        make_hostile.build_generated(staging, MAX_FILE_MB * 1024 * 1024)
        names = sorted(os.listdir(staging))
        assert sorted(names) == sorted(EXPECTED) and len(names) >= 30
        for name in names:
            os.rename(staging / name, inbox / name)

        processed = data_dir / "processed"

        def settled() -> bool:
            log = watcher_log.read_text(errors="replace")
            for name, expected in EXPECTED.items():
                outcome = actual_outcome(name, store, log, inbox, processed)
                if outcome == "no outcome" or outcome.startswith(PENDING):
                    return False
                if outcome.startswith("ignored") and not expected.startswith("ignored"):
                    return False
            return True

        # Then every file ends with its own specific outcome
        assert wait_until(settled, timeout=120, every=1), watcher_log.read_text()[-3000:]
        log = watcher_log.read_text(errors="replace")
        actual = {n: actual_outcome(n, store, log, inbox, processed) for n in EXPECTED}
        wrong = {
            repr(n): (EXPECTED[n], actual[n])
            for n in EXPECTED
            if not matches(EXPECTED[n], actual[n]) and "one document" not in EXPECTED[n]
        }
        assert wrong == {}, wrong
        # And the same content under two names is one document
        pair = sorted(actual[n] for n in ("same_content_a.txt", "same_content_b.txt"))
        assert pair == ["duplicate: ingested, no new document", "indexed"], pair
        assert [d.article.title for d in store.iter_documents() if d.article].count(
            "Harbour reopens after storm"
        ) == 1
        # And decoded text reads right (encodings, line endings, escapes, NULs)
        titles = {d.source: d.article.title for d in store.iter_documents() if d.article}
        for name, title in TEXT_CHECKS.items():
            assert titles[name] == title, (name, titles.get(name))
        # And the article inside 100,000 nested divs kept its whole body, not just its title
        deep = next(d.article for d in store.iter_documents() if d.source == "deep_100k.html")
        assert deep and deep.paragraphs == make_hostile.DEEP_STORY, deep
        languages = {d.source: d.article.language for d in store.iter_documents() if d.article}
        assert languages["german_article.txt"] == "de"
        assert languages[N["cyrillic"]] == "ru" and languages[N["cjk"]] == "zh"
        for doc in store.iter_documents():
            text = doc.article.text if doc.article else ""
            assert not any(c in text for c in "\x00\x1b\r\x07"), doc.source
            assert "root:" not in doc.raw and "root:" not in text  # /etc/passwd never read
        # And the links, FIFOs, dotfiles and temporary names were left where they were
        for name, outcome in EXPECTED.items():
            if outcome.startswith("ignored"):
                assert os.path.lexists(inbox / name), name
        # And everything else left the inbox: processed, or quarantined beside a reason
        left = {n for n in os.listdir(inbox) if not n.startswith(".claimed")}
        assert left == {n for n, o in EXPECTED.items() if o.startswith("ignored")}
        quarantined = {p.name for p in (data_dir / "failed").iterdir()}
        for name, outcome in EXPECTED.items():
            if outcome.startswith("rejected") and " + " not in outcome:
                assert error_file_name(name) in quarantined, name
        # And the worker and the watcher are alive, and a good file dropped last is indexed
        assert worker.proc.poll() is None and watcher.poll() is None
        (inbox / "good_after.txt").write_text(article(7, "after"), encoding="utf-8")
        assert wait_until(
            lambda: any(
                d.source == "good_after.txt" and d.status.value == "indexed"
                for d in store.iter_documents()
            ),
            timeout=60,
        )
    finally:
        stop(watcher)
