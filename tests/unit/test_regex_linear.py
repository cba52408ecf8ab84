"""Every regular expression in tasks/ and workers/ costs time linear in its input.

The patterns are found, not listed (`regex_probe.collect_patterns`): every module-level
`re.Pattern` and every constant pattern written inline, so a regex added later is
checked without touching this file. For each, the input shapes that cost the most are
picked from shapes built of the pattern's own pieces, then timed at n and 8n
characters. Linear growth is 8x, quadratic 64x; the check allows 20x, and ignores a
pattern whose 8n input still costs under a noise floor. This is a complexity check,
not a speed target.
"""

from __future__ import annotations

import time

import pytest

from tasks.entities.refine import refine_offsets
from tasks.models import RawArticle
from tasks.parse import parse_article
from tests.unit import regex_probe

SCREEN_CHARS = 128
SMALL_CHARS = 2_048
GROWTH_LIMIT = 20.0
NOISE_FLOOR_S = 0.004

PATTERNS = regex_probe.collect_patterns()


def test_the_probe_finds_the_patterns_of_the_parser_the_entity_rules_and_the_workers() -> None:
    found = {f.where.split(":")[0].rsplit(".", 1)[0] for f in PATTERNS}
    parser = {"tasks.parse.dates", "tasks.parse.text", "tasks.parse.markdown"}
    assert parser | {"tasks.entities.spans", "tasks.entities.segment"} <= found
    assert any(w.startswith("workers") for w in found)
    assert len(PATTERNS) > 60


@pytest.mark.parametrize("found", PATTERNS, ids=lambda f: f.where)
def test_a_regex_costs_time_linear_in_its_input_on_adversarial_shapes(
    found: regex_probe.Found,
) -> None:
    pattern = found.pattern
    for shape in regex_probe.worst_inputs(pattern, SCREEN_CHARS, keep=3):
        small = regex_probe._scaled(pattern, shape, SMALL_CHARS // SCREEN_CHARS)
        small_s, big_s = regex_probe.growth(pattern, small)
        if big_s < NOISE_FLOOR_S:
            continue
        ratio = big_s / max(small_s, 1e-6)
        assert ratio < GROWTH_LIMIT, (
            f"{found.where} ({pattern.pattern!r}) grows {ratio:.0f}x for 8x the input "
            f"{small[:40]!r}... ({small_s * 1000:.1f} ms -> {big_s * 1000:.1f} ms)"
        )


HOSTILE_SHAPES = {
    "an ATX heading line of 150 KB of blanks": ("markdown", "# a" + " " * 150_000 + "b\n"),
    "a table rule of 150 KB of blanks": ("markdown", " " * 75_000 + "--" + " " * 75_000 + "x\n"),
    "a quote line of 150 KB of blanks": ("markdown", "# T\n\n>" + " " * 150_000 + "x\n"),
    "120 KB of letters and dots": ("text", "Title\n\n" + "a.a." * 30_000 + "\n"),
    "120 KB of capitals and dots": ("text", "Title\n\n" + "A. " * 40_000 + "x\n"),
    "120 KB of blanks before a bracket": ("text", "Title\n\nA" + " " * 120_000 + "x (\n"),
}


@pytest.mark.parametrize("fmt, content", HOSTILE_SHAPES.values(), ids=list(HOSTILE_SHAPES))
def test_a_hostile_article_is_parsed_and_its_entity_rules_run_in_seconds_not_minutes(
    fmt: str, content: str
) -> None:
    started = time.perf_counter()
    article = parse_article(RawArticle(source="hostile", format=fmt, content=content))
    text = article.text
    refine_offsets(text, [(0, 5, "ORG"), (len(text) - 40, len(text) - 30, "PERSON")])
    assert time.perf_counter() - started < 3.0  # minutes before the fix (well under 1 s after)
