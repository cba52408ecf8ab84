"""Markdown inline syntax stripped to the plain text a reader sees.

Links keep their text, images and footnote references are dropped, emphasis, code and
HTML tag markers are removed, entities are unescaped; a backslash-escaped character is
kept as itself. The patterns run in order, each only when a substring it needs is present.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable

_ESCAPED = re.compile("[\ue000-\ue07f]")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")

_Replacement = str | Callable[[re.Match[str]], str]


def _group(number: int) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps one group (cheaper than a template string)."""
    return lambda match: match[number]


#: emphasis markers; the content classes exclude the marker so that no match rescans the text
_EMPHASIS: list[tuple[str, re.Pattern[str], _Replacement]] = [
    ("**", re.compile(r"\*\*(?=[^\s*])([^*\n]{1,500})(?<=[^\s*])\*\*"), _group(1)),
    ("__", re.compile(r"(?<![\w_])__(?=[^\s_])([^_\n]{1,500})(?<=[^\s_])__(?![\w_])"), _group(1)),
    ("*", re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]{1,500})(?<=[^\s*])\*(?![\w*])"), _group(1)),
    ("_", re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]{1,500})(?<=[^\s_])_(?![\w_])"), _group(1)),
    ("~~", re.compile(r"~~(?=[^\s~])([^~\n]{1,500})(?<=[^\s~])~~"), _group(1)),
]

#: (a substring the pattern needs, pattern, replacement), applied in order
_MD_INLINE: list[tuple[str, re.Pattern[str], _Replacement]] = [
    ("![", re.compile(r"!\[[^\]\n]{0,300}\](?:\([^)\n]{0,500}\)|\[[^\]\n]{0,100}\])"), ""),
    ("[^", re.compile(r"\[\^[^\]\n]{1,50}\]"), ""),
    (
        "](",
        re.compile(
            r"\[([^\]\n]{0,300})\]\((?:[^()\s]|\([^()\s]*\)){0,500}(?:\s+[\"'(][^)\n]{0,200})?\)"
        ),
        _group(1),
    ),
    ("][", re.compile(r"\[([^\]\n]{1,300})\]\[[^\]\n]{0,100}\]"), _group(1)),
    ("<", re.compile(r"<((?:https?|ftp|mailto):[^<>\s]{1,500})>"), _group(1)),
    ("<", re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,500})?/?>"), ""),
    ("`", re.compile(r"(?<!`)(`++)([^`\n]{1,500})\1"), _group(2)),
    *_EMPHASIS,
    *_EMPHASIS,  # twice: "**bold *italic* bold**" needs the inner pass first
]


def markdown_inline(text: str) -> str:
    """Markdown inline syntax stripped: links to their text, images dropped, markers removed."""
    escaped = "\\" in text
    if escaped:
        text = _MD_ESCAPE.sub(lambda m: chr(0xE000 + ord(m[1])), text)
    for needed, pattern, replacement in _MD_INLINE:
        if needed in text:
            text = pattern.sub(replacement, text)
    if "&" in text:
        text = html_lib.unescape(text)
    if escaped:
        text = _ESCAPED.sub(lambda m: chr(ord(m[0]) - 0xE000), text)
    return text
