"""The snippet of a search hit: one or two sentences around the best match, highlighted.

One pure function for both stores, so SQLite and PostgreSQL show the same snippets.
The guarantee (`SearchHit.snippet`): the text is HTML-escaped first and only then are
`<mark>`/`</mark>` put around the words the query matched (folded: `erdogan` marks
`Erdoğan`); no line breaks; at most `MAX_SNIPPET_CHARS` characters of text.
"""

from __future__ import annotations

import html
import re
import unicodedata

from tasks.search.query import Query, fold

HIGHLIGHT_OPEN = "<mark>"
HIGHLIGHT_CLOSE = "</mark>"
#: what may stand between two matched words marked as one run
_JOINER = re.compile(r"[ \t]{1,3}|[ \t]?[-‐–][ \t]?")
#: characters of text a snippet shows at most (marks and escapes not counted)
MAX_SNIPPET_CHARS = 300
ELLIPSIS = "…"
#: a word as the query language reads one (see `tasks.search.query`)
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class _Matcher:
    """Which words of a text a query matches: its words, or a word starting with a prefix."""

    def __init__(self, query: Query) -> None:
        self.words: set[str] = set()
        self.prefixes: list[str] = []
        for clause in query.clauses:
            for term in clause:
                self.words.update(term.words[:-1] if term.prefix else term.words)
                if term.prefix:
                    self.prefixes.append(term.words[-1])

    def found(self, sentence: str) -> set[str]:
        """The query's words in a sentence (a cheap look at its folded text first)."""
        if not self.words and not self.prefixes:
            return set()
        folded = fold(sentence)
        if not any(w in folded for w in self.words) and not any(p in folded for p in self.prefixes):
            return set()
        return {w for _, _, w in self.spans(sentence)}

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, folded word) of each matched word of `text`."""
        out = []
        for match in _WORD.finditer(text):
            word = fold(match.group())
            if word in self.words or any(word.startswith(p) for p in self.prefixes):
                out.append((match.start(), match.end(), word))
        return out


def make_snippet(text: str, query: Query, max_chars: int = MAX_SNIPPET_CHARS) -> str:
    """The snippet of `text` for `query` (the first sentences for an empty query)."""
    sentences = _sentences(unicodedata.normalize("NFC", text))
    if not sentences:
        return ""
    matcher = _Matcher(query)
    found = [matcher.found(s) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (len(found[i]), -i))
    piece = sentences[best]
    after = best + 1 if best + 1 < len(sentences) else None
    before = best - 1 if best > 0 else None
    for other in (after, before):
        if other is not None and len(piece) + 1 + len(sentences[other]) <= max_chars:
            piece = f"{piece} {sentences[other]}" if other > best else f"{sentences[other]} {piece}"
            break
    spans = matcher.spans(piece)
    piece, spans = _window(piece, spans, max_chars)
    return _marked(piece, spans)


def _sentences(text: str) -> list[str]:
    """The sentences of a text, each on one line with its white space collapsed."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(" ".join(s.split()) for s in _SENTENCE_END.split(line) if s.strip())
    return out


def _window(
    text: str, spans: list[tuple[int, int, str]], max_chars: int
) -> tuple[str, list[tuple[int, int, str]]]:
    """At most `max_chars` of `text` around its first match, cut between words."""
    if len(text) <= max_chars:
        return text, spans
    budget = max_chars - 2 * len(ELLIPSIS)
    first, first_end = (spans[0][0], spans[0][1]) if spans else (0, 0)
    start = max(0, min(first - budget // 3, len(text) - budget))
    if start > 0:  # begin at a word: the next space, unless that passes the match
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + budget)
    if end < len(text):  # end at a word, after the match
        space = text.rfind(" ", start, end)
        end = space if space >= first_end else end
    head = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    shift = len(head) - start
    kept = [(s + shift, e + shift, w) for s, e, w in spans if s >= start and e <= end]
    return head + text[start:end].rstrip() + tail, kept


def _marked(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` HTML-escaped, with one `<mark>` around each run of matched words that only
    blanks or a hyphen separate (a phrase is marked whole: `<mark>central bank</mark>`)."""
    runs: list[list[int]] = []
    for start, end, _ in spans:
        if runs and start < runs[-1][1]:
            continue
        if runs and _JOINER.fullmatch(text, runs[-1][1], start):
            runs[-1][1] = end
        else:
            runs.append([start, end])
    out: list[str] = []
    at = 0
    for start, end in runs:
        out.append(html.escape(text[at:start]))
        out.append(HIGHLIGHT_OPEN + html.escape(text[start:end]) + HIGHLIGHT_CLOSE)
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)
