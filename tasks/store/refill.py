"""The Python step of the search migration: search columns, full-text rows, facet rows
and entity keys of documents written before them, by the code that writes them for new
documents (`save_parsed`, `_write_text`, `_write_doc_entities`)."""

from __future__ import annotations

from typing import Any

from tasks.models import Article, Status
from tasks.search.fields import entity_keys, search_fields
from tasks.store.rows import ENTITY_COLUMNS, SEARCH_FIELDS_SET, article_of, entity_row

#: documents read at a time
_PAGE = 500


def fill_search_fields(store: Any, tx: Any) -> None:
    """Refill every document's search fields and rows, then every entity's keys
    (`store`: the `tasks.store.core.SQLStore` migrating, inside its transaction `tx`)."""
    after = ""
    while True:
        rows = store._run(
            tx,
            "SELECT id, status, article FROM documents WHERE article IS NOT NULL"
            " AND id > ? ORDER BY id LIMIT ?",
            (after, _PAGE),
        ).fetchall()
        for row in rows:
            article = article_of(row["article"]) or Article()
            store._run(
                tx,
                f"UPDATE documents SET {SEARCH_FIELDS_SET} WHERE id = ?",
                (*search_fields(article), row["id"]),
            )
            if row["status"] == Status.indexed.value:
                store._write_text(tx, row["id"], article)
                store._write_doc_entities(tx, row["id"])
        if len(rows) < _PAGE:
            break
        after = rows[-1]["id"]
    entities = store._run(tx, f"SELECT {ENTITY_COLUMNS} FROM entities").fetchall()
    for entity in map(entity_row, entities):
        store._run(
            tx,
            "UPDATE entities SET keys = ? WHERE id = ?",
            (entity_keys(entity.name, entity.aliases), entity.id),
        )
