"""Entity rules on top of the raw NER model: clean-up, consistency, linking, aliases, user config.

`refine(text, mentions, config)` is pure (no spaCy): the tagger calls it on
the model's mentions. `load_config`, `add_alias`, `add_merge`, `add_block`
and `add_relabel` read and edit the user's `<data dir>/entities.toml`, whose
format is documented in `tasks.entities.config`.
"""

from tasks.entities.aliases import AliasTable, KnownEntity, builtin_aliases, load_alias_table
from tasks.entities.config import (
    EntityConfig,
    add_alias,
    add_block,
    add_merge,
    add_relabel,
    load_config,
)
from tasks.entities.normalize import entity_id, fold, match_key
from tasks.entities.refine import RULES_VERSION, refine

__all__ = [
    "RULES_VERSION",
    "AliasTable",
    "EntityConfig",
    "KnownEntity",
    "add_alias",
    "add_block",
    "add_merge",
    "add_relabel",
    "builtin_aliases",
    "entity_id",
    "fold",
    "load_alias_table",
    "load_config",
    "match_key",
    "refine",
]
