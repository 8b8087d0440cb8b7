"""Full-text search over the catalogue, with facets, two sort orders and pages.

The index holds one document per dataset: its titles and descriptions in every language, its
keywords (and PID), and the names and labels of its variables.

- SQLite (the embedded default): an FTS5 virtual table ``catalogue_search`` whose rowid is the
  dataset id, ranked with ``bm25`` and column weights (title > keywords > description > variables).
- PostgreSQL: a table ``catalogue_search(dataset_id, document tsvector)`` with a GIN index,
  ranked with ``ts_rank`` over weighted vectors (A title, B keywords, C description, D variables).

Both tables are created by the vendor-specific migration ``0002_search_index``. Text is folded
in Python before it reaches either engine (lower case, accents removed, split on anything that
is not a letter or a digit), so both engines find the same datasets: ``donnees`` finds
"Données", ``birth date`` finds the variable ``birth_date``.

User text never reaches a query language. It is cut into words; each word becomes a quoted
FTS5 string or a quoted tsquery lexeme (words of four letters or more match as prefixes, so
``hospital`` finds "hospitals"), every word must match, and the query string is a bound
parameter. Punctuation, ``*``, ``AND OR NEAR(`` or ``'; DROP`` are only words or nothing.

The database answers which datasets match: the visible set
(``Dataset.objects.visible_to(user)``), the facet filters and the text, always read from the
live tables, with their text scores. Facets are then counted over that matching set, and the
page ordered, with a per-process *facet table* (every dataset's facet values as a sparse
matrix, counted with numpy): counting six facets over 10,000 matches takes a millisecond
instead of the tens of milliseconds that JSON unnesting and grouping take in SQL. The table is
rebuilt whenever the token in ``catalogue_search_state`` moved; every reindex (and every
distribution change) sets a new random token in the same transaction, so a process never
counts with a table older than the data it can see (a rolled-back change leaves the old token,
which no table holds any more). Visibility never comes from the cache.

The index follows the data through signals (``catalogue/signals.py``): saving a dataset or a
variable reindexes the dataset, deleting a dataset removes its document, and
``actions.set_dictionary`` (a bulk insert, which sends no signal) calls
:func:`reindex_dataset` itself. :func:`rebuild_index` rebuilds everything (after bulk loads).
"""

from __future__ import annotations

import re
import secrets
import threading
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _

from datalux.accounts.models import Organisation
from datalux.catalogue.models import Dataset, Distribution, Variable
from datalux.catalogue.vocabularies import AccessRights, FileType, Frequency, Theme

TABLE = "catalogue_search"
# One row whose token changes (at random) with every change to the indexed catalogue: a
# process keeps its facet table while the token it read is still the one in the database.
STATE_TABLE = "catalogue_search_state"
STATE_SQL = [
    f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (id integer PRIMARY KEY, token varchar(32) NOT NULL)"
]
FACETS: tuple[str, ...] = ("theme", "publisher", "access_rights", "format", "keyword", "frequency")
FACET_TITLES = {
    "theme": _("Theme"),
    "publisher": _("Publisher"),
    "access_rights": _("Access rights"),
    "format": _("Format"),
    "keyword": _("Keyword"),
    "frequency": _("Update frequency"),
}
SORTS: tuple[str, ...] = ("relevance", "modified")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_TERMS = 16  # words of a query beyond this are ignored
MAX_FILTER_VALUES = 20  # values per facet filter beyond this are ignored
FACET_LIMIT = 20  # values shown per facet (selected values are always shown)
PREFIX_MIN = 4  # words at least this long also match longer words they start

_WORD = re.compile(r"[^\W_]+")
# Fields a result list never shows (loaded on access if a caller needs them).
_NOT_LISTED = ("shacl_report", "spatial", "legal_basis", "conditions_for_reuse")


class SearchError(ValueError):
    """A search request that cannot be answered (unknown sort order, bad page)."""


# ---------------------------------------------------------------------------------------------
# Text folding and documents


def fold(text: str) -> str:
    """Lower case without accents: ``Données`` -> ``donnees``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``: letters and digits only, ``_`` and punctuation split."""
    return _WORD.findall(fold(text))


def _texts(value: Any) -> list[str]:
    """Every string inside a multilingual dict, a list or a plain string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, Iterable):
        return [t for v in value for t in _texts(v)]
    return [str(value)]


def _normalised(parts: Iterable[Any]) -> str:
    return " ".join(w for part in parts for text in _texts(part) for w in words(text))


@dataclass(frozen=True)
class Document:
    """The folded text of one dataset, column by column."""

    title: str
    description: str
    keywords: str
    variables: str


def build_document(
    *,
    pid: str,
    title: Any,
    description: Any,
    keywords: Any,
    variables: Iterable[tuple[str, Any]],
) -> Document:
    """The index document of a dataset from plain values (usable with historical models)."""
    variables = list(variables)
    return Document(
        title=_normalised([title]),
        description=_normalised([description]),
        keywords=_normalised([keywords, pid]),
        variables=_normalised([part for name, label in variables for part in (name, label)]),
    )


# ---------------------------------------------------------------------------------------------
# Engines: one small class per database vendor


class Engine(ABC):
    """What differs between SQLite FTS5 and PostgreSQL full text."""

    vendor = ""

    @abstractmethod
    def create_sql(self) -> list[str]: ...

    @abstractmethod
    def drop_sql(self) -> list[str]: ...

    @abstractmethod
    def upsert(self, cursor: Any, rows: Sequence[tuple[int, Document]]) -> None: ...

    @abstractmethod
    def delete(self, cursor: Any, dataset_ids: Sequence[int]) -> None: ...

    def clear(self, cursor: Any) -> None:
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - constant table name

    @abstractmethod
    def hits(self, terms: Sequence[str], among: str) -> tuple[str, list[Any]]:
        """SQL selecting (id, score) of the documents matching ``terms`` whose id is in the
        subquery ``among`` (its parameters follow); a lower score ranks first."""
        ...

    @abstractmethod
    def json_strings(self, column: str) -> str:
        """A FROM-clause item ``j(value)`` over the string elements of a JSON array column."""
        ...

    @abstractmethod
    def json_string_filter(self) -> str:
        """The WHERE condition keeping only string elements of :meth:`json_strings`."""
        ...


class SQLiteEngine(Engine):
    vendor = "sqlite"
    # bm25 weights of the columns, in table order
    WEIGHTS = (10.0, 2.0, 5.0, 1.0)

    def create_sql(self) -> list[str]:
        return [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
            "title, description, keywords, variables, "
            "tokenize = 'unicode61 remove_diacritics 2')",
            *STATE_SQL,
            f"INSERT OR IGNORE INTO {STATE_TABLE} (id, token) VALUES (1, 'new')",  # noqa: S608
        ]

    def drop_sql(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {TABLE}", f"DROP TABLE IF EXISTS {STATE_TABLE}"]

    def upsert(self, cursor: Any, rows: Sequence[tuple[int, Document]]) -> None:
        self.delete(cursor, [dataset_id for dataset_id, _name in rows])
        cursor.executemany(
            f"INSERT INTO {TABLE} (rowid, title, description, keywords, variables) "  # noqa: S608
            "VALUES (%s, %s, %s, %s, %s)",
            [(i, d.title, d.description, d.keywords, d.variables) for i, d in rows],
        )

    def delete(self, cursor: Any, dataset_ids: Sequence[int]) -> None:
        if dataset_ids:
            cursor.executemany(
                f"DELETE FROM {TABLE} WHERE rowid = %s",  # noqa: S608
                [(i,) for i in dataset_ids],
            )

    def hits(self, terms: Sequence[str], among: str) -> tuple[str, list[Any]]:
        # Each word is a double-quoted FTS5 string (words hold letters and digits only, so no
        # quote can appear in them); a trailing * makes it a prefix. Juxtaposition means AND.
        match = " ".join(f'"{t}"*' if len(t) >= PREFIX_MIN else f'"{t}"' for t in terms)
        weights = ", ".join(str(w) for w in self.WEIGHTS)
        # The MATCH must drive the query: offered a rowid IN (...) constraint, FTS5 would run
        # the full-text query once per candidate id. The materialised CTE keeps them apart.
        sql = (
            f"WITH h AS MATERIALIZED (SELECT rowid AS id, bm25({TABLE}, {weights}) AS score "  # noqa: S608
            f"FROM {TABLE} WHERE {TABLE} MATCH %s) SELECT id, score FROM h WHERE id IN ({among})"
        )
        return sql, [match]

    def json_strings(self, column: str) -> str:
        return f"json_each({column}) AS j"

    def json_string_filter(self) -> str:
        return "j.type = 'text'"


class PostgresEngine(Engine):
    vendor = "postgresql"

    def create_sql(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "dataset_id bigint PRIMARY KEY, document tsvector NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_document ON {TABLE} USING GIN (document)",
            *STATE_SQL,
            f"INSERT INTO {STATE_TABLE} (id, token) VALUES (1, 'new') ON CONFLICT DO NOTHING",  # noqa: S608
        ]

    def drop_sql(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {TABLE}", f"DROP TABLE IF EXISTS {STATE_TABLE}"]

    def upsert(self, cursor: Any, rows: Sequence[tuple[int, Document]]) -> None:
        cursor.executemany(
            f"INSERT INTO {TABLE} (dataset_id, document) VALUES (%s, "  # noqa: S608
            "setweight(to_tsvector('simple', %s), 'A') || "
            "setweight(to_tsvector('simple', %s), 'B') || "
            "setweight(to_tsvector('simple', %s), 'C') || "
            "setweight(to_tsvector('simple', %s), 'D')) "
            "ON CONFLICT (dataset_id) DO UPDATE SET document = EXCLUDED.document",
            [(i, d.title, d.keywords, d.description, d.variables) for i, d in rows],
        )

    def delete(self, cursor: Any, dataset_ids: Sequence[int]) -> None:
        if dataset_ids:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE dataset_id = ANY(%s)",  # noqa: S608
                [list(dataset_ids)],
            )

    def hits(self, terms: Sequence[str], among: str) -> tuple[str, list[Any]]:
        # Each word is a quoted lexeme ('word' or 'word':* for a prefix); words hold letters
        # and digits only, so no quote can appear in them. & means AND.
        query = " & ".join(f"'{t}':*" if len(t) >= PREFIX_MIN else f"'{t}'" for t in terms)
        sql = (
            f"SELECT s.dataset_id AS id, -ts_rank(s.document, q.query) AS score "  # noqa: S608
            f"FROM {TABLE} s, to_tsquery('simple', %s) AS q(query) "
            f"WHERE s.document @@ q.query AND s.dataset_id IN ({among})"
        )
        return sql, [query]

    def json_strings(self, column: str) -> str:
        return (
            f"jsonb_array_elements(CASE WHEN jsonb_typeof({column}) = 'array' "
            f"THEN {column} ELSE '[]'::jsonb END) AS j(value)"
        )

    def json_string_filter(self) -> str:
        return "jsonb_typeof(j.value) = 'string'"

    @staticmethod
    def json_text(expression: str) -> str:
        return f"({expression} #>> '{{}}')"


ENGINES: dict[str, Engine] = {"sqlite": SQLiteEngine(), "postgresql": PostgresEngine()}


def engine_for(vendor: str) -> Engine:
    try:
        return ENGINES[vendor]
    except KeyError:
        raise SearchError(
            f"no catalogue search for the {vendor} database: datalux supports SQLite and PostgreSQL"
        ) from None


def _engine() -> Engine:
    return engine_for(connection.vendor)


def _json_value(engine: Engine) -> str:
    return PostgresEngine.json_text("j.value") if engine.vendor == "postgresql" else "j.value"


# ---------------------------------------------------------------------------------------------
# Keeping the index in step


def _documents(dataset_ids: Sequence[int]) -> list[tuple[int, Document]]:
    variables: dict[int, list[tuple[str, Any]]] = {}
    for dataset_id, name, label in (
        Variable.objects.filter(dataset_id__in=dataset_ids)
        .order_by("dataset_id", "position")
        .values_list("dataset_id", "name", "label")
    ):
        variables.setdefault(dataset_id, []).append((name, label))
    return [
        (
            pk,
            build_document(
                pid=pid,
                title=title,
                description=description,
                keywords=keywords,
                variables=variables.get(pk, []),
            ),
        )
        for pk, pid, title, description, keywords in Dataset.objects.filter(
            pk__in=dataset_ids
        ).values_list("pk", "pid", "title", "description", "keywords")
    ]


def reindex_dataset(dataset: Dataset | int) -> None:
    """Write (or remove, if the dataset is gone) the index document of one dataset."""
    dataset_id = dataset if isinstance(dataset, int) else dataset.pk
    if dataset_id is None:
        return
    engine = _engine()
    rows = _documents([dataset_id])
    with connection.cursor() as cursor:
        if rows:
            engine.upsert(cursor, rows)
        else:
            engine.delete(cursor, [dataset_id])
        _touch(cursor)


def remove_dataset(dataset_id: int) -> None:
    """Remove the index document of a deleted dataset."""
    with connection.cursor() as cursor:
        _engine().delete(cursor, [dataset_id])
        _touch(cursor)


def rebuild_index(batch: int = 500) -> int:
    """Rebuild the whole index from the catalogue tables; return the number of documents."""
    engine = _engine()
    ids = list(Dataset.objects.order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        engine.clear(cursor)
        for start in range(0, len(ids), batch):
            engine.upsert(cursor, _documents(ids[start : start + batch]))
        _touch(cursor)
    return len(ids)


def _touch(cursor: Any) -> None:
    cursor.execute(
        f"UPDATE {STATE_TABLE} SET token = %s WHERE id = 1",  # noqa: S608
        [secrets.token_hex(8)],
    )


def touch() -> None:
    """Note a change that moves facet counts but no text (e.g. a distribution's format)."""
    with connection.cursor() as cursor:
        _touch(cursor)


def populate_with(cursor: CursorWrapper, vendor: str, apps: Any) -> None:
    """Fill a new index from historical models (used by the migration that creates it)."""
    engine = engine_for(vendor)
    dataset_model = apps.get_model("catalogue", "Dataset")
    variable_model = apps.get_model("catalogue", "Variable")
    variables: dict[int, list[tuple[str, Any]]] = {}
    for dataset_id, name, label in variable_model.objects.order_by(
        "dataset_id", "position"
    ).values_list("dataset_id", "name", "label"):
        variables.setdefault(dataset_id, []).append((name, label))
    rows = [
        (
            pk,
            build_document(
                pid=pid,
                title=title,
                description=description,
                keywords=keywords,
                variables=variables.get(pk, []),
            ),
        )
        for pk, pid, title, description, keywords in dataset_model.objects.values_list(
            "pk", "pid", "title", "description", "keywords"
        )
    ]
    if rows:
        engine.upsert(cursor, rows)


# ---------------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class SearchQuery:
    """One search: text, facet filters (facet -> accepted values), sort order and page."""

    text: str = ""
    filters: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise SearchError(f"unknown sort order {self.sort!r}: use one of {', '.join(SORTS)}")
        if self.page < 1:
            raise SearchError("pages are numbered from 1")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise SearchError(f"the page size must be between 1 and {MAX_PAGE_SIZE}")
        unknown = set(self.filters) - set(FACETS)
        if unknown:
            raise SearchError(
                f"unknown facet {sorted(unknown)[0]!r}: filter on one of {', '.join(FACETS)}"
            )

    @property
    def terms(self) -> list[str]:
        return words(self.text)[:MAX_TERMS]

    def selected(self, facet: str) -> list[str]:
        values = [str(v)[:200] for v in self.filters.get(facet, ()) if str(v).strip()]
        return list(dict.fromkeys(values))[:MAX_FILTER_VALUES]


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    title: str
    values: list[FacetValue]


@dataclass(frozen=True)
class SearchResult:
    query: SearchQuery
    datasets: list[Dataset]
    total: int
    facets: list[Facet]
    sort: str  # the order actually used ("modified" when there is no text)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.page_size))

    @property
    def has_next(self) -> bool:
        return self.query.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.query.page > 1


def _json_any_sql(engine: Engine, column: str, count: int) -> str:
    """SQL selecting ids of datasets whose JSON array ``column`` holds one of ``count`` values."""
    table = connection.ops.quote_name(Dataset._meta.db_table)
    placeholders = ", ".join(["%s"] * count)
    return (
        f"SELECT d.id FROM {table} d WHERE EXISTS (SELECT 1 FROM "  # noqa: S608
        f"{engine.json_strings('d.' + column)} WHERE {engine.json_string_filter()} "
        f"AND {_json_value(engine)} IN ({placeholders}))"
    )


def filtered(user: Any, query: SearchQuery) -> Any:
    """The datasets ``user`` may see, narrowed by the query's facet filters (no text yet)."""
    engine = _engine()
    queryset = Dataset.objects.visible_to(user)
    if values := query.selected("access_rights"):
        queryset = queryset.filter(access_rights__in=values)
    if values := query.selected("frequency"):
        queryset = queryset.filter(accrual_periodicity__in=values)
    if values := query.selected("publisher"):
        queryset = queryset.filter(publisher__slug__in=values)
    if values := query.selected("format"):
        queryset = queryset.filter(
            pk__in=Distribution.objects.filter(file_format__in=values).values("dataset_id")
        )
    for facet, column in (("theme", "themes"), ("keyword", "keywords")):
        if values := query.selected(facet):
            queryset = queryset.filter(
                # constant SQL, values bound
                pk__in=RawSQL(_json_any_sql(engine, column, len(values)), values)  # noqa: S611
            )
    return queryset


# ---------------------------------------------------------------------------------------------
# Facet counting


@dataclass(frozen=True)
class FacetTable:
    """Every dataset's facet values as a sparse incidence matrix (CSR), for fast counting.

    Row ``i`` is dataset ``ids[i]``; its values are ``indices[indptr[i]:indptr[i + 1]]``,
    positions in ``values`` ((facet, value) pairs). Publishers are stored by id.
    """

    token: str
    ids: np.ndarray  # sorted dataset ids
    modified: np.ndarray  # seconds since the epoch, for ordering by date
    indptr: np.ndarray
    indices: np.ndarray
    values: list[tuple[str, str]]

    def rows(self, dataset_ids: np.ndarray) -> np.ndarray:
        """Row numbers of ``dataset_ids``; -1 for ids this table does not know."""
        if not len(self.ids):
            return np.full(len(dataset_ids), -1, dtype=np.int64)
        rows = np.searchsorted(self.ids, dataset_ids)
        rows = np.minimum(rows, len(self.ids) - 1)
        return np.where(self.ids[rows] == dataset_ids, rows, -1)

    def count(self, rows: np.ndarray) -> dict[str, dict[str, int]]:
        """Facet -> value -> number of the given rows holding that value."""
        rows = rows[rows >= 0]
        starts, lengths = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        total = int(lengths.sum())
        counts: dict[str, dict[str, int]] = {}
        if not total:
            return counts
        # the positions of every value of every row, gathered without a Python loop
        shift = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        hits = np.bincount(self.indices[shift + np.arange(total)], minlength=len(self.values))
        for position in np.flatnonzero(hits):
            facet, value = self.values[position]
            counts.setdefault(facet, {})[value] = int(hits[position])
        return counts


_facet_table: FacetTable | None = None
_facet_lock = threading.Lock()


def _token() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT token FROM {STATE_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def _build_facet_table(token: str) -> FacetTable:
    formats: dict[int, set[str]] = {}
    for dataset_id, file_format in Distribution.objects.values_list(
        "dataset_id", "file_format"
    ).distinct():
        formats.setdefault(dataset_id, set()).add(str(file_format))
    positions: dict[tuple[str, str], int] = {}
    ids: list[int] = []
    modified: list[float] = []
    indptr = [0]
    indices: list[int] = []
    for pk, changed, publisher_id, rights, frequency, themes, keywords in (
        Dataset.objects.order_by("pk").values_list(
            "pk", "modified", "publisher_id", "access_rights", "accrual_periodicity",
            "themes", "keywords",
        )
    ):  # fmt: skip
        pairs = {
            ("publisher", str(publisher_id)),
            ("access_rights", str(rights)),
            ("frequency", str(frequency)),
            *(("theme", t) for t in themes if isinstance(t, str)),
            *(("keyword", k) for k in keywords if isinstance(k, str)),
            *(("format", f) for f in formats.get(pk, ())),
        }
        indices.extend(positions.setdefault(pair, len(positions)) for pair in pairs)
        indptr.append(len(indices))
        ids.append(pk)
        modified.append(changed.timestamp())
    return FacetTable(
        token=token,
        ids=np.asarray(ids, dtype=np.int64),
        modified=np.asarray(modified, dtype=np.float64),
        indptr=np.asarray(indptr, dtype=np.int64),
        indices=np.asarray(indices, dtype=np.int64),
        values=list(positions),
    )


def facet_table(*, refresh: bool = False) -> FacetTable:
    """The facet table of the catalogue as committed now (rebuilt when the token moved)."""
    global _facet_table
    token = _token()  # read before the data: a change in between only causes a rebuild
    table = _facet_table
    if table is None or table.token != token or refresh:
        with _facet_lock:
            table = _build_facet_table(token)
            _facet_table = table
    return table


# ---------------------------------------------------------------------------------------------
# Search


def _matches(user: Any, query: SearchQuery) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) of the visible, filtered datasets matching the text; lower scores first."""
    base_sql, base_params = filtered(user, query).order_by().values("id").query.sql_with_params()
    terms = query.terms
    with connection.cursor() as cursor:
        if terms:
            sql, params = _engine().hits(terms, base_sql)
            cursor.execute(sql, [*params, *base_params])
            rows = cursor.fetchall()
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            scores = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
            return ids, scores
        cursor.execute(base_sql, base_params)
        ids = np.fromiter((r[0] for r in cursor.fetchall()), dtype=np.int64)
        return ids, np.zeros(len(ids), dtype=np.float64)


def _labels(facet: str, values: Iterable[str]) -> dict[str, str]:
    vocabulary: dict[str, type[Any]] = {
        "theme": Theme,
        "access_rights": AccessRights,
        "frequency": Frequency,
        "format": FileType,
    }
    if facet in vocabulary:
        labels = dict(vocabulary[facet].choices)
        return {v: str(labels.get(v, v)) for v in values}
    return {v: v for v in values}


def _facets(query: SearchQuery, counts: dict[str, dict[str, int]]) -> list[Facet]:
    # Publishers are grouped by id in SQL and shown (and filtered) by slug.
    found_ids = counts.get("publisher", {})
    slugs: dict[str, str] = {}
    publisher_names: dict[str, str] = {}
    for pk, slug, name in Organisation.objects.filter(
        Q(pk__in=[int(v) for v in found_ids]) | Q(slug__in=query.selected("publisher"))
    ).values_list("pk", "slug", "name"):
        slugs[str(pk)] = slug
        publisher_names[slug] = name
    counts["publisher"] = {slugs[k]: n for k, n in found_ids.items() if k in slugs}

    facets = []
    for name in FACETS:
        found = counts.get(name, {})
        selected = query.selected(name)
        ranked = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:FACET_LIMIT]
        shown = dict(ranked)
        for value in selected:
            shown.setdefault(value, found.get(value, 0))
        labels = (
            {v: publisher_names.get(v, v) for v in shown}
            if name == "publisher"
            else _labels(name, shown)
        )
        facets.append(
            Facet(
                name=name,
                title=str(FACET_TITLES[name]),
                values=[
                    FacetValue(value=v, label=labels[v], count=n, selected=v in selected)
                    for v, n in shown.items()
                ],
            )
        )
    return facets


def search(user: Any, query: SearchQuery) -> SearchResult:
    """The page of datasets ``user`` may see that match ``query``, with facet counts.

    The database answers which datasets match (visibility, filters and text, always read from
    the live tables) and their text scores; the facets are counted, and the results ordered,
    over that set with the cached facet table.
    """
    table = facet_table()
    ids, scores = _matches(user, query)
    rows = table.rows(ids)
    if (rows < 0).any():  # a dataset newer than the table (written by another process)
        table = facet_table(refresh=True)
        rows = table.rows(ids)
    modified = np.where(rows >= 0, table.modified[np.maximum(rows, 0)], 0.0)
    sort = query.sort if query.terms else "modified"
    # np.lexsort sorts by the last key first: score, then newest, then highest id
    keys = (-ids, -modified, scores) if sort == "relevance" else (-ids, -modified)
    offset = (query.page - 1) * query.page_size
    page = [int(i) for i in ids[np.lexsort(keys)][offset : offset + query.page_size]]
    by_id = (
        Dataset.objects.filter(pk__in=page)
        .select_related("publisher")
        .defer(*_NOT_LISTED)
        .in_bulk()
    )
    return SearchResult(
        query=query,
        datasets=[by_id[i] for i in page if i in by_id],
        total=len(ids),
        facets=_facets(query, table.count(rows)),
        sort=sort,
    )
