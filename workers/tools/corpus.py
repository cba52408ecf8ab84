"""A synthetic corpus of wire-style news articles, for benchmarks and load tests.

Pure and deterministic: the same seed gives the same articles, article `i` does not
depend on how many are generated, and no two articles of one corpus share content (the
pipeline skips duplicates, so a benchmark of N documents needs N distinct ones).

Each article is in the seed's plain-text wire format::

    date 2025-03-24 Title of the story

    ANKARA

    First paragraph ...

built from vocabularies of first names, surnames, cities (with their countries),
organisations and wire-style sentence templates: a title, a dateline, 8 to 20
paragraphs, sometimes a section heading, quotes attributed by surname.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from workers.tools.corpus_vocabulary import (
    AGENCIES,
    BODY,
    CITIES,
    COMPANIES,
    FILLERS,
    FIRST_NAMES,
    HEADINGS,
    LEADS,
    MONTHS,
    ORG_PATTERNS,
    ORGANISATIONS,
    PLAIN_ROLES,
    ROLES,
    SURNAMES,
    TITLES,
    TOPICS,
    WEEKDAYS,
)

#: named length presets (words per article, whole file)
LENGTHS: dict[str, tuple[int, int]] = {
    "short": (180, 280),  # short wire stories, about 230 words
    "seed": (300, 900),  # like the seed article, about 600 words
}
DEFAULT_LENGTH = "seed"
MIN_PARAGRAPHS = 8
MAX_PARAGRAPHS = 20


_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class GeneratedArticle:
    """One synthetic article and the entities it was written with."""

    name: str
    text: str
    title: str
    dateline: str
    words: int
    people: tuple[str, ...]
    places: tuple[str, ...]
    organisations: tuple[str, ...]


def word_count(text: str) -> int:
    """Whitespace-separated words in the whole text (header, dateline and body)."""
    return len(_WORD.findall(text))


def parse_words(spec: str) -> tuple[int, int]:
    """`short`, `seed`, `MIN-MAX` or `N` as a (min, max) word range; ValueError otherwise."""
    value = spec.strip().lower()
    if value in LENGTHS:
        return LENGTHS[value]
    match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", value)
    if not match:
        raise ValueError(f"{spec!r} is not short, seed, MIN-MAX or a number of words")
    low = int(match[1])
    high = int(match[2]) if match[2] else low
    if low > high:
        raise ValueError(f"{spec!r}: the minimum is above the maximum")
    if low < 60 or high > 20_000:
        raise ValueError(f"{spec!r}: articles must have between 60 and 20000 words")
    return low, high


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Story:
    """The cast of one article: people, places, organisations, numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        cities = rng.sample(CITIES, 4)
        surnames = rng.sample(SURNAMES, 6)
        firsts = rng.sample(FIRST_NAMES, 6)
        self.people = [f"{f} {s}" for f, s in zip(firsts, surnames, strict=True)]
        self.surnames = surnames
        self.city, self.dateline, self.country = cities[0]
        roles = rng.sample(ROLES, 3)
        orgs = rng.sample(ORGANISATIONS, 2)
        generated = self._org(cities[1][0], cities[2][2], surnames[4], surnames[5])
        if rng.random() < 0.5:
            orgs[1] = generated
        self.orgs = orgs
        self.company = rng.choice(COMPANIES)
        topics = rng.sample(TOPICS, 2)
        year = rng.randint(2024, 2025)
        self.published = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
        self.values: dict[str, str] = {
            "P1": self.people[0],
            "P1s": surnames[0],
            "P2": self.people[1],
            "P2s": surnames[1],
            "P3": self.people[2],
            "P3s": surnames[2],
            "P4": self.people[3],
            "P4s": surnames[3],
            "R1": roles[0],
            "R2": roles[1],
            "R4": roles[2],
            "C1": cities[1][2],
            "C2": cities[2][2],
            "C3": cities[3][2],
            "CITY": self.city,
            "CTRY": self.country,
            "CITY1": cities[1][0],
            "CITY2": cities[2][0],
            "ORG": orgs[0],
            "ORG2": orgs[1],
            "ORG_SHORT": orgs[0].removeprefix("the "),
            "CO": self.company,
            "TOPIC": topics[0],
            "TOPIC2": topics[1],
            "AG": rng.choice(AGENCIES),
            "DAY": rng.choice(WEEKDAYS),
            "DAY2": rng.choice(WEEKDAYS),
            "MONTH": rng.choice(MONTHS),
            "YEAR": str(rng.randint(2009, year - 1)),
            "YEAR2": str(year + rng.randint(1, 4)),
        }
        for key in ("C1", "C2", "ORG", "TOPIC"):
            self.values[f"{key}_CAP"] = _cap(self.values[key])
        self.values["PROLE3"] = rng.choice(PLAIN_ROLES).format(
            org=orgs[0], org2=orgs[1], co=self.company, city2=cities[2][0]
        )

    def _org(self, city: str, country: str, surname: str, surname2: str) -> str:
        return self.rng.choice(ORG_PATTERNS).format(
            surname=surname,
            surname2=surname2,
            city=city,
            country=country,
            country_bare=country.removeprefix("the "),
        )

    def fill(self, template: str) -> str:
        """The template with this story's cast and fresh numbers."""
        rng = self.rng
        day = rng.randint(1, 27)
        numbers = {
            "N": str(rng.randint(2, 95)),
            "N2": str(rng.randint(2, 12)),
            "PCT": f"{rng.randint(1, 14)}.{rng.randint(0, 9)}",
            "MONEY": _money(rng),
            "D1": str(day),
            "D2": str(day + 1),
            "ORD": rng.choice(("second", "third", "fourth", "fifth", "sixth")),
        }
        return _cap(template.format(**self.values, **numbers))


def _money(rng: random.Random) -> str:
    amount = f"{rng.randint(1, 99)}.{rng.randint(1, 9)} {rng.choice(('million', 'billion'))}"
    style = rng.random()
    if style < 0.45:
        return f"${amount}"
    if style < 0.7:
        return f"€{amount}"
    return f"{amount} {rng.choice(('dollars', 'euros'))}"


@dataclass(frozen=True)
class _Head:
    """An article's header lines and dateline, and how many words they take."""

    title: str
    lines: list[str]
    dateline: str
    inline_dateline: bool
    words: int


def _head(rng: random.Random, story: _Story) -> _Head:
    """The title, header style and dateline (on its own line, or opening the lead)."""
    title = story.fill(rng.choice(TITLES))
    if rng.random() < 0.75:
        lines = [f"date {story.published.isoformat()} {title}"]
    else:
        lines = [title, "", f"Published: {story.published.strftime('%B %-d, %Y')}"]
    inline = rng.random() < 0.4
    if inline:
        month = story.published.strftime("%B")
        dateline = f"{story.dateline}, {month} {story.published.day} ({story.values['AG']})"
    else:
        dateline = story.dateline
    words = word_count("\n".join(lines)) + (0 if inline else word_count(dateline))
    return _Head(title, lines, dateline, inline, words)


def generate_article(
    seed: int | str, index: int, min_words: int, max_words: int, prefix: str = "article"
) -> GeneratedArticle:
    """Article number `index` of the corpus with this seed (independent of corpus size)."""
    rng = random.Random(f"docflow-corpus:{seed}:{index}")
    story = _Story(rng)
    target = rng.randint(min_words, max_words)
    head = _head(rng, story)
    budget = max(MIN_PARAGRAPHS * 12, target - head.words)
    paragraphs_wanted = max(
        MIN_PARAGRAPHS,
        min(MAX_PARAGRAPHS, rng.randint(MIN_PARAGRAPHS, MAX_PARAGRAPHS), budget // 14),
    )
    lead = story.fill(rng.choice(LEADS))
    if head.inline_dateline:
        lead = f"{head.dateline} - {lead}"
    sentences = [lead]
    total = _fill(
        rng, story, sentences, head.words + word_count(lead), target, (min_words, max_words)
    )
    paragraphs = _paragraphs(rng, sentences, min(paragraphs_wanted, len(sentences)))
    if len(paragraphs) >= 6 and rng.random() < 0.5 and total + 6 <= max_words:
        heading = story.fill(rng.choice(HEADINGS))
        if total + word_count(heading) <= max_words:
            paragraphs.insert(rng.randint(3, len(paragraphs) - 2), heading)
    blocks = [
        "\n".join(head.lines),
        *([] if head.inline_dateline else [head.dateline]),
        *paragraphs,
    ]
    text = "\n\n".join(blocks) + "\n"
    return GeneratedArticle(
        name=f"{prefix}-{index:05d}.txt",
        text=text,
        title=head.title,
        dateline=head.dateline,
        words=word_count(text),
        people=tuple(story.people[:4]),
        places=(story.city, story.values["CITY1"], story.values["CITY2"], story.country),
        organisations=(story.values["ORG"], story.values["ORG2"], story.company),
    )


def _fill(
    rng: random.Random,
    story: _Story,
    sentences: list[str],
    total: int,
    target: int,
    words: tuple[int, int],
) -> int:
    """Add body sentences up to `target` words, then fillers up to the minimum; the total."""
    min_words, max_words = words
    body = list(BODY)
    rng.shuffle(body)
    pool = itertools.cycle(body)

    def add(make: Callable[[], str], attempts: int = 6) -> bool:
        nonlocal total
        for _ in range(attempts):
            sentence = make()
            if total + word_count(sentence) <= max_words:
                sentences.append(sentence)
                total += word_count(sentence)
                return True
        return False

    while total < target and add(lambda: story.fill(next(pool))):
        pass
    while total < min_words and add(lambda: rng.choice(FILLERS), attempts=20):
        pass
    while len(sentences) < MIN_PARAGRAPHS and add(lambda: rng.choice(FILLERS), attempts=20):
        pass
    return total


def _paragraphs(rng: random.Random, sentences: list[str], count: int) -> list[str]:
    """Sentences grouped in order into `count` paragraphs (the lead stands alone)."""
    if count <= 1 or len(sentences) <= 1:
        return [" ".join(sentences)]
    rest = sentences[1:]
    cuts = sorted(rng.sample(range(1, len(rest)), count - 2)) if count - 2 < len(rest) else []
    groups: list[list[str]] = []
    start = 0
    for cut in [*cuts, len(rest)]:
        groups.append(rest[start:cut])
        start = cut
    return [sentences[0], *(" ".join(g) for g in groups if g)]


def _fingerprint(text: str) -> str:
    normal = " ".join(text.split()).casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def generate_corpus(
    count: int,
    *,
    seed: int | str = 0,
    min_words: int = LENGTHS[DEFAULT_LENGTH][0],
    max_words: int = LENGTHS[DEFAULT_LENGTH][1],
    prefix: str = "article",
) -> list[GeneratedArticle]:
    """`count` distinct articles (no two with the same normalised content), deterministic."""
    if min_words > max_words:
        raise ValueError("min_words is above max_words")
    seen: set[str] = set()
    out: list[GeneratedArticle] = []
    index = 0
    while len(out) < count:
        article = generate_article(seed, index, min_words, max_words, prefix)
        index += 1
        key = _fingerprint(article.text)
        if key in seen:
            continue
        seen.add(key)
        out.append(article)
    return out
