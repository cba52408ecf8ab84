"""Common given names from a maintained data package (Faker's per-locale name lists), as
evidence for PERSON against the model's place, people or organisation labels.

Faker's person providers list common first names for ~80 locales. Kept are names written
in Latin script as one capitalised word of at least three letters (`Maria`, `Jean-Pierre`,
`José`), that are not common English words (Faker's `en_US` lorem words and the rules'
own function words: `Will`, `May`, `Hope`, `Major`) and that a national list names:
Faker's generic `en` list (every name the US registered, down to `Alabama` and `Abbott`)
counts only for names another locale lists too. About 16,000 names; a place that is also
a given name (`Austin`, `Paris`) stays in the list, the rules ask the gazetteer about it.

The list is built once per machine in a child process and kept in the user's cache folder
(see `data_cache`); a process holds one frozenset (~2 MB).

Why not names-dataset: its wheel is 56 MB and loading its first names alone takes ~1 GB
and ~6 s in the child, over the tagger pod's memory limit, on every machine with an
empty cache (a container), and its data comes from a leaked Facebook dump.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from functools import lru_cache

from tasks.entities.data_cache import cached_names
from tasks.entities.spans import FUNCTION_WORDS, STOP_FORMS, TITLES

#: bump when `build_given_names` changes what it keeps
_FORMAT = 1
#: one capitalised Latin-script word, or two joined by a hyphen (`Jean-Pierre`)
_NAME = re.compile(r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+)?")
_GIVEN = (
    "first_names",
    "first_names_male",
    "first_names_female",
    "first_names_nonbinary",
    "first_romanized_names",  # ja_JP, zh_CN, zh_TW: their own lists are not in Latin script
    "first_romanized_names_male",
    "first_romanized_names_female",
)
_SURNAMES = ("last_names", "last_romanized_names")
#: Faker's locale whose list is every registered US name, not the common ones
_EVERY_NAME_LOCALE = "en"


@lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """The common given names, as written (`Maria`), once per process."""
    return cached_names(given_names_version(), build_given_names)


def is_given_name(word: str) -> bool:
    """Is `word` (as written: case matters) a common given name?"""
    return word in given_names()


def given_names_version() -> str:
    """The data's version, for the cache file (and the tag version)."""
    from importlib import metadata

    return f"given-names-faker-{metadata.version('faker')}-{_FORMAT}"


def _names(value: object) -> Iterator[str]:
    """The names of one Faker attribute: a tuple, a list or a weighted dict (its keys);
    names in capitals (`CHIA-HAO`) as they are written in text (`Chia-Hao`)."""
    if isinstance(value, dict | tuple | list):
        for name in value:
            if isinstance(name, str):
                yield name.title() if name.isupper() else name


def _lists(attributes: tuple[str, ...]) -> Iterator[tuple[str, set[str]]]:
    """(locale, names written as one Latin-script word) for each of Faker's person locales."""
    import faker.providers.person as person

    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        names: set[str] = set()
        for attribute in attributes:
            found = _names(getattr(provider, attribute, None))
            names.update(n for n in found if _NAME.fullmatch(n))
        yield module.name, names


def common_words() -> set[str]:
    """Common English words, lower-case: Faker's `en_US` lorem list and the rules' words."""
    from faker.providers.lorem.en_US import Provider

    return {w.casefold() for w in Provider.word_list} | FUNCTION_WORDS | STOP_FORMS | TITLES


def build_given_names() -> set[str]:
    """Read the given names from Faker's lists (in this process; see the module doc)."""
    words = common_words()
    kept: set[str] = set()
    for locale, names in _lists(_GIVEN):
        if locale != _EVERY_NAME_LOCALE:  # its names count where another locale lists them
            kept.update(names)
    return {n for n in kept if len(n) >= 3 and n.casefold() not in words}


def build_person_words() -> set[str]:
    """Every given name and surname of Faker's lists, lower-case (for filtering other lists)."""
    found: set[str] = set()
    for _, names in _lists(_GIVEN + _SURNAMES):
        found.update(n.casefold() for n in names)
    return found
