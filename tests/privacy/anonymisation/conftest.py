"""Fixtures for the anonymisation tests: small synthetic data, Adult, an independent checker.

The checker recomputes k, l, t and the loss from the released *text* with DuckDB SQL (and
plain Python for the brute-force optimum), sharing no code with the library's numpy path.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from datalux.privacy.anonymisation import Hierarchy, interval_hierarchy, prefix_hierarchy

# Adult and its ARX hierarchies ship inside the repository (tests/data/adult, with licences)
ADULT = Path(__file__).resolve().parents[2] / "data" / "adult"
ADULT_QIS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Checker:
    """Privacy models measured on a released table with DuckDB SQL (class = distinct QI text)."""

    def __init__(self, table: pa.Table, qis: Sequence[str], sensitive: str | None = None) -> None:
        self.con = duckdb.connect()
        self.con.register("released", table)
        cols = ", ".join(map(_q, qis))
        s = f"CAST({_q(sensitive)} AS VARCHAR)" if sensitive else "NULL"
        self.con.execute(
            # identifiers quoted from the table's own column names
            f"CREATE TABLE r AS SELECT dense_rank() OVER (ORDER BY {cols}) AS cid, "  # noqa: S608
            f"{s} AS s FROM released"
        )

    def close(self) -> None:
        self.con.close()

    def _one(self, sql: str, params: dict[str, object] | None = None) -> float:
        rows = self.con.execute(sql, params).fetchall()
        assert len(rows) == 1 and rows[0][0] is not None
        row = rows[0]
        return float(row[0])

    def min_class_size(self) -> int:
        return int(self._one("SELECT min(n) FROM (SELECT count(*) AS n FROM r GROUP BY cid)"))

    def min_distinct(self) -> int:
        return int(
            self._one("SELECT min(d) FROM (SELECT count(DISTINCT s) AS d FROM r GROUP BY cid)")
        )

    def min_entropy_l(self) -> float:
        return math.exp(
            self._one(
                """
                WITH c AS (SELECT cid, s, count(*) AS n FROM r GROUP BY cid, s),
                     p AS (SELECT cid, n / sum(n) OVER (PARTITION BY cid) AS p FROM c)
                SELECT min(h) FROM (SELECT -sum(p * ln(p)) AS h FROM p GROUP BY cid)
                """
            )
        )

    def max_t_distance(self, reference: Mapping[str, float], *, ordered: bool) -> float:
        """Largest EMD of a class's sensitive distribution to ``reference``."""
        values = sorted(reference, key=float) if ordered else sorted(reference)
        ref = pa.table(
            {
                "v": pa.array(values, pa.string()),
                "i": pa.array(range(len(values)), pa.int64()),
                "q": pa.array([reference[v] for v in values], pa.float64()),
            }
        )
        self.con.register("ref", ref)
        sql = """
            WITH size AS (SELECT cid, count(*) AS n FROM r GROUP BY cid),
                 cnt AS (SELECT cid, s, count(*) AS c FROM r GROUP BY cid, s),
                 pq AS (SELECT size.cid, ref.i, ref.q, coalesce(cnt.c, 0) / size.n AS p
                        FROM size CROSS JOIN ref
                        LEFT JOIN cnt ON cnt.cid = size.cid AND cnt.s = ref.v)
        """
        if ordered:
            m = len(values)
            sql += """
                , cum AS (SELECT cid, i, sum(p - q) OVER (PARTITION BY cid ORDER BY i) AS d
                          FROM pq)
                SELECT max(e) FROM (SELECT cid, sum(abs(d)) / $steps AS e
                                    FROM cum WHERE i < $last GROUP BY cid)
            """
            return self._one(sql, {"steps": max(m - 1, 1), "last": m - 1})
        else:
            sql += "SELECT max(e) FROM (SELECT 0.5 * sum(abs(p - q)) AS e FROM pq GROUP BY cid)"
        return self._one(sql)


@pytest.fixture
def checker() -> type[Checker]:
    return Checker


def generalise_row(hierarchy: Hierarchy, level: int) -> dict[str, str]:
    return {r[0]: r[level] for r in hierarchy.rows}


def independent_loss(
    released: pa.Table,
    hierarchies: Mapping[str, Hierarchy],
    levels: Mapping[str, int],
    records: int,
) -> float:
    """ARX loss from the released text: (leaves - 1) / (size - 1) per cell, 1 per dropped record."""
    d = len(levels)
    total = 0.0
    for q, level in levels.items():
        h = hierarchies[q]
        leaves = Counter(r[level] for r in h.rows)
        size = len(h.rows)
        for label in released.column(q).to_pylist():
            total += (leaves[label] - 1) / max(size - 1, 1)
    total += (records - released.num_rows) * d
    return total / (records * d)


def brute_force(
    rows: Sequence[Mapping[str, str]],
    qis: Sequence[str],
    hierarchies: Mapping[str, Hierarchy],
    *,
    k: int,
    limit: int,
    sensitive: str | None = None,
    l_distinct: int | None = None,
    l_entropy: float | None = None,
    t_equal: float | None = None,
) -> tuple[float, tuple[int, ...]] | None:
    """The least loss over every lattice node, in plain Python (Counter group-by)."""
    heights = [hierarchies[q].height for q in qis]
    maps = {
        q: [generalise_row(hierarchies[q], lv) for lv in range(hierarchies[q].height)] for q in qis
    }
    sizes = {q: len(hierarchies[q].rows) for q in qis}
    leaves = {
        q: [Counter(r[lv] for r in hierarchies[q].rows) for lv in range(hierarchies[q].height)]
        for q in qis
    }
    n, d = len(rows), len(qis)
    overall = Counter(r[sensitive] for r in rows) if sensitive else Counter()
    best: tuple[float, tuple[int, ...]] | None = None
    for node in itertools.product(*[range(h) for h in heights]):
        keys = [tuple(maps[q][lv][r[q]] for q, lv in zip(qis, node, strict=True)) for r in rows]
        classes: dict[tuple[str, ...], list[int]] = {}
        for i, key in enumerate(keys):
            classes.setdefault(key, []).append(i)
        suppressed: set[int] = set()
        for members in classes.values():
            ok = len(members) >= k
            if sensitive is not None:
                hist = Counter(rows[i][sensitive] for i in members)
                if l_distinct is not None:
                    ok = ok and len(hist) >= l_distinct
                if l_entropy is not None:
                    h = -sum(c / len(members) * math.log(c / len(members)) for c in hist.values())
                    ok = ok and h >= math.log(l_entropy) - 1e-9
                if t_equal is not None:
                    dist = 0.5 * sum(
                        abs(hist.get(v, 0) / len(members) - overall[v] / n) for v in overall
                    )
                    ok = ok and dist <= t_equal + 1e-9
            if not ok:
                suppressed.update(members)
        if len(suppressed) > limit:
            continue
        total = 0.0
        for i, key in enumerate(keys):
            if i in suppressed:
                total += d
            else:
                for q, lv, label in zip(qis, node, key, strict=True):
                    total += (leaves[q][lv][label] - 1) / max(sizes[q] - 1, 1)
        loss = total / (n * d)
        if best is None or loss < best[0] - 1e-12:
            best = (loss, node)
    return best


class Oracle:
    """Plain-Python references: the brute-force optimum and the loss from released text."""

    brute_force = staticmethod(brute_force)
    independent_loss = staticmethod(independent_loss)


@pytest.fixture
def oracle() -> type[Oracle]:
    return Oracle


def synthetic(n: int = 240, seed: int = 7) -> pa.Table:
    """Small table: age, zip, sex quasi-identifiers; diagnosis and income sensitive."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    zips = rng.choice(["75014", "75015", "75016", "69001", "69002", "13001"], n)
    sex = rng.choice(["F", "M"], n)
    diagnosis = rng.choice(["flu", "asthma", "diabetes", "cancer"], n, p=[0.4, 0.3, 0.2, 0.1])
    income = rng.choice([1000, 2000, 3000, 4000, 5000], n)
    return pa.table(
        {
            "id": pa.array([f"r{i}" for i in range(n)]),
            "age": pa.array([str(a) for a in age]),
            "zip": pa.array(list(zips)),
            "sex": pa.array(list(sex)),
            "diagnosis": pa.array(list(diagnosis)),
            "income": pa.array([str(x) for x in income]),
        }
    )


@pytest.fixture
def small() -> pa.Table:
    return synthetic()


@pytest.fixture
def small_hierarchies(small: pa.Table) -> dict[str, Hierarchy]:
    return {
        "age": interval_hierarchy(small.column("age").to_pylist(), [5, 10, 20]),
        "zip": prefix_hierarchy(small.column("zip").to_pylist(), 2),
        "sex": Hierarchy.from_rows([["F", "*"], ["M", "*"]], source="sex"),
    }


@pytest.fixture(scope="session")
def adult() -> pa.Table:
    names = [*ADULT_QIS, "salary-class"]
    return pacsv.read_csv(
        ADULT / "adult.csv",
        parse_options=pacsv.ParseOptions(delimiter=";"),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    )


@pytest.fixture(scope="session")
def adult_hierarchies() -> dict[str, Hierarchy]:
    from datalux.privacy.anonymisation import read_hierarchy_csv

    return {q: read_hierarchy_csv(ADULT / f"adult_hierarchy_{q}.csv") for q in ADULT_QIS}


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A data-plane backend: DuckDB always, Spark under ``-m spark``."""
    from datalux.dataplane import connect

    with connect(request.param) as backend:
        yield backend
