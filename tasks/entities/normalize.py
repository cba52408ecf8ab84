"""Name normalisation: accent folding for matching, slugs and stable entity ids."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: letters that Unicode decomposition does not fold to ASCII
_EXTRA = str.maketrans(
    {
        "ı": "i",
        "İ": "I",
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "’": "'",
        "‘": "'",
        "`": "'",
        "–": "-",
        "—": "-",
    }
)
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_ARTICLE = re.compile(r"^the\s+")


@lru_cache(maxsize=65536)
def fold(name: str) -> str:
    """Lower-cased, accent-free, single-spaced form of a name: `Erdoğan` -> `erdogan`."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip().casefold()


@lru_cache(maxsize=65536)
def match_key(name: str) -> str:
    """The key aliases are matched on: folded, dots and a leading `the` dropped.

    `U.S.`, `US` and `the U.S.` share the key `us`; `Washington, D.C.` becomes
    `washington dc`.
    """
    key = fold(name).replace(".", "").replace(",", " ")
    key = _ARTICLE.sub("", _SPACES.sub(" ", key).strip())
    return key


@lru_cache(maxsize=65536)
def slug(name: str) -> str:
    """ASCII slug of a name for ids: `Recep Tayyip Erdoğan` -> `recep-tayyip-erdogan`."""
    return _NOT_ALNUM.sub("-", fold(name)).strip("-") or "x"


def entity_id(label: str, canonical: str) -> str:
    """Stable id of an entity: the same label and canonical name give the same id everywhere."""
    return f"{label}:{slug(canonical)}"
