"""Search, once for both stores: filters, paging, ordering, facets, snippets, entity lookup.

A dialect supplies only the full-text engine (`_match`: which documents a query finds
and their score) and a few SQL spellings; everything else is written here once, so a
`SearchRequest` means the same on SQLite and PostgreSQL (`tests/unit/test_search_store.py`).

Order: score (higher first), then published (newest first, unknown last), then id.
An empty query lists documents (indexed ones, or those of `status`), newest first,
each with the score 1.0: a document matches the filters or it does not.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, NamedTuple

from tasks.errors import QuerySyntaxError
from tasks.models import EntityRow, SearchHit, Status
from tasks.search.fields import dateline_key, key_needle
from tasks.search.query import Query
from tasks.search.request import FACET_LIMIT, FACETS, FacetCount, SearchPage, SearchRequest
from tasks.search.snippet import make_snippet
from tasks.store.rows import ENTITY_COLUMNS, Row, entity_row

_ORDER = "score DESC, published DESC NULLS LAST, id"
#: runs a search's facets beside its page, for stores with CONCURRENT_READS
_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="docflow-search")
#: what the full-text row copies from its document for search to filter and sort on
FTS_COPIED = "published, published_day, dateline_key, dateline_place, language, format"
_FACET_COLUMNS = (
    "d.published_day AS day, d.dateline_key AS dateline, d.dateline_place AS place,"
    " d.language AS lang, d.format AS format"
)


class Match(NamedTuple):
    """Documents `d`: `FROM {source}` (ends in a WHERE), their id, the key their facet
    rows are stored under (`SQLSearch.PAIR_DOC`) and `{score}` each."""

    source: str
    score: str
    params: tuple[Any, ...]
    id: str
    key: str
    #: every document it yields has a search row (the full-text match, or every indexed
    #: document): the entity facet may then count the documents it does not yield
    searchable: bool = True
    #: it runs the full-text engine (not a listing)
    fulltext: bool = False


class Filters(NamedTuple):
    """Conditions on the document `d`, joined by AND, and their parameters."""

    where: str
    params: tuple[Any, ...]


class SQLSearch(ABC):
    """`search_page` and `entity` over a dialect's full-text engine."""

    #: a condition that the text column `{0}` holds the text parameter `{1}`
    CONTAINS: ClassVar[str]
    #: the join of the full-text row `f` to its document `x`
    FTS_JOIN: ClassVar[str]
    #: the collation that orders text byte by byte (as SQLite's BINARY does)
    BYTEWISE: ClassVar[str]
    #: what search reads of an indexed document, one narrow row each (`d`): doc_id and
    #: the columns of `FTS_COPIED`
    SEARCH_ROWS: ClassVar[str]
    #: the column of `documents` that keys a document's facet rows, and that column in
    #: doc_entities and doc_labels
    DOC_KEY: ClassVar[str]
    PAIR_DOC: ClassVar[str]
    #: the same key on a search row `d`
    ROW_KEY: ClassVar[str]
    #: may two reads of one search run at once (a pool of connections)?
    CONCURRENT_READS: ClassVar[bool] = False

    @abstractmethod
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> Sequence[Row]:
        """All rows of one query, outside any write transaction."""

    def _read_search(self, sql: str, params: tuple[Any, ...], match: Match) -> Sequence[Row]:
        """The rows of a statement over `match` (a dialect may steer its planner here)."""
        return self._read(sql, params)

    @abstractmethod
    def _match(self, query: Query) -> Match:
        """The full-text rows `d` the non-empty `query` finds, and their score."""

    # ---- entities ------------------------------------------------------------------
    def entity(self, key: str) -> EntityRow | None:
        """The entity with this id, canonical name or alias (any case, accents optional);
        the one in most documents when several share a name."""
        key = key.strip()
        if not key:
            return None
        rows = self._read(
            f"SELECT {ENTITY_COLUMNS} FROM entities"
            f" WHERE id = ? OR {self.CONTAINS.format('keys', '?')}"
            " ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END, documents DESC, mentions DESC,"
            f" id {self.BYTEWISE} LIMIT 1",
            (key, key_needle(key), key),
        )
        return entity_row(rows[0]) if rows else None

    # ---- search --------------------------------------------------------------------
    def search_page(self, request: SearchRequest) -> SearchPage:
        """One page of the documents matching `request`, with the total and facets.

        Raises QuerySyntaxError when the query cannot be read, or when it has words and a
        status (the status filter is for listings: an empty query)."""
        query = request.query
        if request.status is not None and not query.empty:
            raise QuerySyntaxError(
                "the status filter lists documents: it cannot be used with search words",
                hint="leave the query empty to list documents by status",
            )
        match = self._source(request, query)
        filters = self._filters(request, match.id)
        if filters is None:  # an entity that does not exist: nothing can match
            return SearchPage(request=request, total=0, hits=[], facets=_no_facets())
        if not request.facets:
            hits, total = self._hits(request, query, match, filters)
            return SearchPage(request=request, total=total, hits=hits, facets={})
        if self.CONCURRENT_READS:  # the page and the facets on two connections at once
            facets_done = _READS.submit(self._facets, match, filters, None)
            hits, total = self._hits(request, query, match, filters)
            facets = facets_done.result()
        else:
            hits, total = self._hits(request, query, match, filters)
            facets = self._facets(match, filters, total)
        return SearchPage(request=request, total=total, hits=hits, facets=facets)

    def _source(self, request: SearchRequest, query: Query) -> Match:
        """Where the documents come from: the full-text engine, or a listing."""
        if not query.empty:
            return self._match(query)
        status = Status(request.status or Status.indexed)
        if status is Status.indexed:  # every indexed document has its search row
            return Match(f"{self.SEARCH_ROWS} AS d WHERE TRUE", "1.0", (), "d.doc_id", self.ROW_KEY)
        return Match(
            "documents AS d WHERE d.status = ?",
            "1.0",
            (status.value,),
            "d.id",
            f"d.{self.DOC_KEY}",
            searchable=False,
        )

    def _filters(self, request: SearchRequest, doc_id: str) -> Filters | None:
        """Conditions on the document `d` and their parameters; None if none can match."""
        conds: list[str] = []
        params: list[Any] = []
        if request.entity:
            found = self.entity(request.entity)
            if found is None:
                return None
            conds.append(f"{doc_id} IN (SELECT doc_id FROM mentions WHERE entity_id = ?)")
            params.append(found.id)
        if request.label:
            conds.append(f"{doc_id} IN (SELECT doc_id FROM mentions WHERE label = ?)")
            params.append(request.label.strip().upper())
        simple = [
            ("d.published_day >= ?", request.date_from and request.date_from.isoformat()),
            ("d.published_day <= ?", request.date_to and request.date_to.isoformat()),
            ("d.dateline_key = ?", dateline_key(request.dateline)),
            ("d.language = ?", request.lang and request.lang.strip().lower()),
            ("d.format = ?", request.format and request.format.strip().lower()),
        ]
        for cond, value in simple:
            if value:
                conds.append(cond)
                params.append(value)
        return Filters(" AND ".join(conds) or "TRUE", tuple(params))

    @staticmethod
    def _matched(
        match: Match, filters: Filters, columns: str, scored: bool = True
    ) -> tuple[str, tuple[Any, ...]]:
        """The matching documents: their id, `columns` of `d`, and `score` if `scored`."""
        score = match.score if scored else "0"
        sql = (
            f"SELECT {match.id} AS id, {match.key} AS key, {columns}, {score} AS score"
            f" FROM {match.source} AND {filters.where}"
        )
        return sql, (*match.params, *filters.params)

    def _hits(
        self, request: SearchRequest, query: Query, match: Match, filters: Filters
    ) -> tuple[list[SearchHit], int]:
        matched, params = self._matched(match, filters, "d.published AS published")
        rows = self._read_search(
            f"WITH matched AS ({matched}),"
            " page AS (SELECT id, score, published, count(*) OVER () AS total FROM matched"
            f" ORDER BY {_ORDER} LIMIT ? OFFSET ?)"
            " SELECT p.id, p.score, p.total, p.published, x.title, x.source, f.body"
            " FROM page AS p JOIN documents AS x ON x.id = p.id"
            f" LEFT JOIN documents_fts AS f ON {self.FTS_JOIN}"
            " ORDER BY p.score DESC, p.published DESC NULLS LAST, p.id",
            (*params, request.per_page, request.offset),
            match,
        )
        if rows:
            total = int(rows[0]["total"])
        elif request.offset:  # past the last page: the total still counts
            total = int(
                self._read_search(f"SELECT count(*) AS n FROM ({matched}) AS m", params, match)[0][
                    "n"
                ]
            )
        else:
            total = 0
        return [_hit(row, query) for row in rows], total

    def _facets(
        self, match: Match, filters: Filters, total: int | None
    ) -> dict[str, list[FacetCount]]:
        """Every facet of the whole result in one statement (the match runs once);
        `total`: how many documents matched, if known already."""
        matched, params = self._matched(match, filters, _FACET_COLUMNS, scored=False)
        pair = self.PAIR_DOC
        counts = self._entity_counts(match, filters, total)
        branches = [
            "SELECT 'entities' AS facet, t.value, t.n, e.name, e.label FROM"
            f" ({_top_per_label(self.BYTEWISE)}) AS t LEFT JOIN entities AS e ON e.id = t.value",
            _branch("labels", "label", "count(*)", "labels", self.BYTEWISE),
            *(
                _branch(name, value, "count(*)", "matched", self.BYTEWISE, shown)
                for name, value, shown in _DOCUMENT_FACETS
            ),
        ]
        rows = self._read_search(
            f"WITH matched AS MATERIALIZED ({matched}), {counts}"
            f" labels AS (SELECT label FROM doc_labels WHERE {pair} IN (SELECT key FROM matched)) "
            + " UNION ALL ".join(f"SELECT * FROM ({b}) AS f{i}" for i, b in enumerate(branches)),
            params,
            match,
        )
        out = _no_facets()
        for row in rows:
            out[row["facet"]].append(
                FacetCount(
                    value=row["value"], count=int(row["n"]), name=row["name"], label=row["label"]
                )
            )
        for values in out.values():
            values.sort(key=lambda c: (-c.count, c.value))
        rank = {c.value: i for i, c in enumerate(out["labels"])}
        out["entities"].sort(key=lambda c: rank.get(c.label or "", len(rank)))  # stable
        return out

    def _entity_counts(self, match: Match, filters: Filters, total: int | None) -> str:
        """The CTE `counts` (value, label, n): how many matched documents hold each entity."""
        pair = self.PAIR_DOC
        if not self._count_the_others(match, filters, total):
            return (
                "counts AS (SELECT entity_id AS value, label, count(*) AS n FROM doc_entities"
                f" WHERE {pair} IN (SELECT key FROM matched) GROUP BY entity_id, label),"
            )
        # entities.documents counts the search rows of each entity (the index writes both
        # in one transaction): subtract the documents the query did not match
        return (
            f"others AS MATERIALIZED (SELECT {self.ROW_KEY} AS key FROM {self.SEARCH_ROWS}"
            f" AS d WHERE {self.ROW_KEY} NOT IN (SELECT key FROM matched)),"
            " unmatched AS (SELECT entity_id, count(*) AS n FROM doc_entities"
            f" WHERE {pair} IN (SELECT key FROM others) GROUP BY entity_id),"
            " counts AS (SELECT e.id AS value, e.label, e.documents - coalesce(u.n, 0) AS n"
            " FROM entities AS e LEFT JOIN unmatched AS u ON u.entity_id = e.id),"
        )

    def _count_the_others(self, match: Match, filters: Filters, total: int | None) -> bool:
        """Is counting the entities of the documents the search did *not* find the
        cheaper way? When it found most of the searchable ones, with no other filter."""
        if not match.searchable or filters.where != "TRUE":
            return False
        if total is None:
            matched, params = self._matched(match, filters, "1 AS one", scored=False)
            sql = f"SELECT count(*) AS n FROM ({matched}) AS m"
            total = int(self._read_search(sql, params, match)[0]["n"])
        if total == 0:
            return False
        rows = self._read(f"SELECT count(*) AS n FROM {self.SEARCH_ROWS}")
        return total * 2 > int(rows[0]["n"])


#: facets counted over the matched documents: name, value, what to show (if not the value)
_DOCUMENT_FACETS = (
    ("months", "substr(day, 1, 7)", None),
    ("days", "day", None),
    ("datelines", "dateline", "min(place)"),
    ("languages", "lang", None),
    ("formats", "format", None),
)


def _top(value: str, count: str, source: str, bytewise: str, shown: str = "NULL") -> str:
    """The `FACET_LIMIT` most frequent values of `source`, biggest first, then by value."""
    return (
        f"SELECT {value} AS value, {count} AS n, {shown} AS name FROM {source}"
        f" WHERE {value} IS NOT NULL GROUP BY {value}"
        f" ORDER BY n DESC, {value} {bytewise} LIMIT {FACET_LIMIT}"
    )


def _top_per_label(bytewise: str) -> str:
    """The `FACET_LIMIT` most frequent entities of each label in `counts` (so numbers and
    dates cannot crowd the names out), biggest first, then by id."""
    return (
        "SELECT value, n FROM (SELECT value, n, row_number() OVER"
        f" (PARTITION BY label ORDER BY n DESC, value {bytewise}) AS r"
        f" FROM counts WHERE n > 0) AS ranked WHERE r <= {FACET_LIMIT}"
    )


def _branch(
    name: str, value: str, count: str, source: str, bytewise: str, shown: str | None = None
) -> str:
    """One facet's rows: (facet, value, n, name, label)."""
    top = _top(value, count, source, bytewise, shown or "NULL")
    return f"SELECT '{name}' AS facet, t.value, t.n, t.name, NULL AS label FROM ({top}) AS t"


def _hit(row: Row, query: Query) -> SearchHit:
    return SearchHit(
        id=row["id"],
        title=row["title"] or "",
        score=float(f"{float(row['score']):.4g}"),
        snippet=make_snippet(row["body"] or "", query),
        source=row["source"],
        published=row["published"],
    )


def _no_facets() -> dict[str, list[FacetCount]]:
    return {name: [] for name in FACETS}
