"""The visible text of an HTML page, and when an extractor's result is only a stub of it.

lxml (and trafilatura, which parses with it) stops building the tree at a nesting depth
of 256: everything deeper is silently lost, so a page wrapped in thousands of `<div>`s
comes out as its title alone. The standard library's `html.parser` streams tags without
building a tree, so it reads any depth in one linear pass; `visible_blocks` uses it to
get what a reader of the page would see (no scripts, styles, templates, navigation or
forms), one string per block (paragraph, heading, list item, cell...).

`is_stub` says when an extraction holds much less than that: the page has a real amount
of visible text (`STUB_MIN_VISIBLE_WORDS`) and the extraction kept under
`STUB_FRACTION` of its words. Main-content extraction legitimately drops menus, related
links and comments, but on news pages that is well under 3/4 of the words.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: an extraction is a stub when it keeps fewer than this share of the visible words...
STUB_FRACTION = 0.25
#: ...of a page holding at least this many visible words
STUB_MIN_VISIBLE_WORDS = 80


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: elements whose content a reader never sees as article text
HIDDEN_TAGS = _words(
    "script style noscript template svg math iframe object title head nav aside footer "
    "form button select dialog menu textarea"
)
#: elements that start and end a block of text
BLOCK_TAGS = _words(
    "p div section article main header h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote pre "
    "table tr td th caption figure figcaption br hr address details summary body html"
)


class _VisibleText(HTMLParser):
    """Collects text outside hidden elements, split at block boundaries (no tree, no stack)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._buffer: list[str] = []
        self._hidden: str | None = None  # the hidden element we are inside
        self._hidden_depth = 0  # how many of that element are open

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden is not None:
            if tag == self._hidden:
                self._hidden_depth += 1
            elif tag == "body" and self._hidden == "head":
                self._hidden, self._hidden_depth = None, 0  # <head> left unclosed
            return
        if tag in HIDDEN_TAGS:
            self._flush()
            self._hidden, self._hidden_depth = tag, 1
        elif tag in BLOCK_TAGS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._hidden is None and tag in BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._hidden is not None:
            if tag == self._hidden:
                self._hidden_depth -= 1
                if self._hidden_depth == 0:
                    self._hidden = None
            return
        if tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._hidden is None:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer.clear()
        if text:
            self.blocks.append(text)


def visible_blocks(markup: str) -> list[str]:
    """The page's visible text, one collapsed string per block, in reading order."""
    reader = _VisibleText()
    try:
        reader.feed(markup)
        reader.close()
    except AssertionError:  # html.parser on a few malformed declarations: keep what was read
        reader._flush()
    return reader.blocks


def word_count(texts: list[str]) -> int:
    """Words (whitespace-separated) in all of `texts`."""
    return sum(len(text.split()) for text in texts)


def is_stub(extracted_words: int, visible_words: int) -> bool:
    """True when an extraction holds much less of the page than a reader sees."""
    return (
        visible_words >= STUB_MIN_VISIBLE_WORDS and extracted_words < STUB_FRACTION * visible_words
    )


_DROP_OPEN = re.compile(r"<(script|style|noscript|template|svg|math|iframe|object)(?=[\s/>])")


def drop_elements(markup: str) -> str:
    """`markup` without scripts, styles and other non-text elements (one linear pass)."""
    lowered = markup.lower()
    out: list[str] = []
    position = 0
    while opening := _DROP_OPEN.search(lowered, position):
        out.append(markup[position : opening.start()])
        closing = lowered.find(f"</{opening[1]}", opening.end())
        if closing < 0:
            return "".join(out)
        end = lowered.find(">", closing)
        position = len(markup) if end < 0 else end + 1
    out.append(markup[position:])
    return "".join(out)
