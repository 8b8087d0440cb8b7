"""Run a linkage: exact identifier join, Splink (Fellegi-Sunter, EM) for the rest, clusters.

Order of work (all inside one private in-memory DuckDB, spilling to a temporary folder):

1. Load each input (CSV as text, Parquet as typed), check the spec's columns exist, the ids
   are filled and unique, and clean every comparison column by its kind (:mod:`.model`).
2. **Exact join** on each identifier column where both records have it. Values held by more
   than ``max_records_per_identifier`` records of one side are placeholders ("000000"),
   left out and counted. These pairs are links with probability 1.
3. **Probabilistic**: Splink on DuckDB with the comparisons built from the kinds; training
   without labels (share of matches from a deterministic rule, u from random pairs, m by EM
   on tight rules with sampled pairs); prediction over the union of blocking rules, in
   chunks for large inputs. Pairs already joined on an identifier keep their exact link.
4. **Bands**: p >= ``match`` is a link; ``review`` <= p < ``match`` goes to clerical review.
5. **Clusters**: connected components over the match band; each cluster gets one person
   pseudonym (see below). Review-band pairs never join clusters.

Person pseudonyms
    With domain keys (:class:`datalux.privacy.keys.DomainKeys`): the first 32 hex digits of
    ``HMAC-SHA256(hmac_key, "datalux/v1/person-cluster" 0x00 min_member)``, where
    ``min_member`` is the smallest ``"<side name>/<record id>"`` of the cluster. It is stable
    across runs as long as that member stays in the cluster, reveals nothing without the
    key, and differs between domains. Without keys: ``seq-<n>``, numbered by the same
    smallest member: deterministic for the same inputs, but not stable across runs.

SQL in this module is assembled only from internal table names, canonical column names and
input column names quoted by :func:`.model.quote_ident`; every value (names, thresholds,
formats) is a bound parameter. That is why the ``S608`` warnings are silenced line by line.
"""

from __future__ import annotations

import contextlib
import hmac
import itertools
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.clustering import cluster_pairwise_predictions_at_threshold
from splink.internals.exceptions import SplinkException

from datalux.privacy.errors import InputError, PrivacyError
from datalux.privacy.keys import DomainKeys
from datalux.privacy.linkage.io import (
    Source,
    file_format,
    load_table,
    write_table_as,
)
from datalux.privacy.linkage.model import (
    CANDIDATE_DATE_FORMATS,
    CANONICAL_DATE_FORMAT,
    ModelPlan,
    Rule,
    build_plan,
    clean_sql,
    quote_ident,
)
from datalux.privacy.linkage.report import (
    BAND_EDGES,
    ClusterSummary,
    LinkReport,
    RuleSummary,
    SideSummary,
    band_label,
    model_blocking_recall,
)
from datalux.privacy.linkage.spec import Kind, LinkSpec, parse_spec
from datalux.privacy.outputs import atomic_path

__all__ = ["LinkResult", "LinkageError", "dedupe", "link", "write_result"]

log = logging.getLogger(__name__)

PSEUDONYM_LABEL = b"datalux/v1/person-cluster\x00"
# A default blocking rule is dropped when it would create more pairs than this many per
# record (at least _MIN_RULE_BUDGET): a sign of placeholders or a low-cardinality column.
_PAIRS_PER_RECORD_BUDGET = 3
_MIN_RULE_BUDGET = 2_000_000
# Records per prediction chunk (per side); bounds the memory of one scoring pass.
_CHUNK_RECORDS = 1_000_000
# The exact identifier join must link this many pairs to estimate blocking recall from it.
_MIN_IDENTIFIER_PAIRS_FOR_RECALL = 20
# Lowest probability kept from the model (for the band counts); review pairs are above.
_PREDICT_FLOOR = 0.01


class LinkageError(PrivacyError):
    """The linkage could not be run on these inputs (training or data problem)."""


@dataclass
class LinkResult:
    """The link table, the clusters with person pseudonyms, and the report."""

    links: pa.Table
    clusters: pa.Table
    report: LinkReport


def link(
    left: Source,
    right: Source,
    spec: LinkSpec | Mapping[str, Any],
    *,
    keys: DomainKeys | None = None,
    threads: int | None = None,
    memory_limit: str = "4GB",
) -> LinkResult:
    """Link the records of ``left`` and ``right`` (paths to CSV/Parquet, or Arrow tables).

    ``links`` has one row per pair in the match or review band: ``left_id``, ``right_id``,
    ``match_probability``, ``match_weight`` (null for identifier links), ``rule``
    (``identifier`` or ``probabilistic``), ``rule_detail`` (the identifier column or the
    blocking rule that produced the pair) and ``band`` (``match`` or ``review``).
    ``clusters`` has one row per record: ``source``, ``id``, ``person_pseudonym``,
    ``cluster_size``.
    """
    return _Run(_as_spec(spec), [left, right], keys, threads, memory_limit).run()


def dedupe(
    source: Source,
    spec: LinkSpec | Mapping[str, Any],
    *,
    keys: DomainKeys | None = None,
    threads: int | None = None,
    memory_limit: str = "4GB",
) -> LinkResult:
    """Find the records of one person within one input; same outputs as :func:`link`
    (``left_id`` < ``right_id``, both ids from the one input)."""
    return _Run(_as_spec(spec), [source], keys, threads, memory_limit).run()


def write_result(
    result: LinkResult,
    links_path: str | Path,
    *,
    clusters_path: str | Path | None = None,
    report_path: str | Path | None = None,
) -> None:
    """Write the outputs (CSV or Parquet by extension; the report as JSON).

    Every file is written to a temporary file beside its destination; they are moved into
    place only once all are complete, so a failure leaves none of them behind.
    """
    targets: list[tuple[Path, Callable[[Path], None]]] = []
    links_fmt = file_format(Path(links_path))
    targets.append((Path(links_path), lambda p: write_table_as(result.links, p, links_fmt)))
    if clusters_path is not None:
        clusters_fmt = file_format(Path(clusters_path))
        targets.append(
            (Path(clusters_path), lambda p: write_table_as(result.clusters, p, clusters_fmt))
        )
    if report_path is not None:

        def write_report(p: Path) -> None:
            p.write_text(result.report.to_json(), encoding="utf-8")

        targets.append((Path(report_path), write_report))
    if len({t.resolve() for t, _ in targets}) != len(targets):
        raise InputError("the output paths must differ from each other")
    with contextlib.ExitStack() as stack:
        temps = [stack.enter_context(atomic_path(t)) for t, _ in targets]
        for (_, writer), tmp in zip(targets, temps, strict=True):
            writer(tmp)


def _as_spec(spec: LinkSpec | Mapping[str, Any]) -> LinkSpec:
    return spec if isinstance(spec, LinkSpec) else parse_spec(spec)


@dataclass
class _Side:
    name: str
    table: str  # cleaned table in DuckDB
    records: int
    summary: SideSummary


class _Run:
    """One linkage run; owns its DuckDB connection and temporary spill folder."""

    def __init__(
        self,
        spec: LinkSpec,
        sources: list[Source],
        keys: DomainKeys | None,
        threads: int | None,
        memory_limit: str,
    ) -> None:
        self.spec = spec
        self.sources = sources
        self.mode = "link" if len(sources) == 2 else "dedupe"
        self.keys = keys
        self.threads = threads
        self.memory_limit = memory_limit
        self.plan: ModelPlan = build_plan(spec)
        self.seconds: dict[str, float] = {}
        self.sides: list[_Side] = []

    # -- orchestration -------------------------------------------------------------------

    def run(self) -> LinkResult:
        spill = tempfile.mkdtemp(prefix="datalux-link-")
        config: dict[str, Any] = {
            "memory_limit": self.memory_limit,
            "temp_directory": spill,
            "preserve_insertion_order": False,
        }
        if self.threads:
            config["threads"] = self.threads
        self.con = duckdb.connect(":memory:", config=config)
        try:
            return self._run()
        except duckdb.OutOfMemoryException:
            raise LinkageError(
                f"the linkage ran out of its memory budget ({self.memory_limit}): raise it, "
                "or give tighter 'blocking_rules' in the spec"
            ) from None
        finally:
            self.con.close()
            shutil.rmtree(spill, ignore_errors=True)

    def _exec(self, sql: str, params: list[Any] | None = None) -> None:
        # DuckDB 2 wants every result consumed before the next statement.
        self.con.execute(sql, params).fetchall()

    def _one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        rows = self.con.execute(sql, params).fetchall()
        if not rows:  # pragma: no cover - aggregates always return a row
            raise LinkageError("internal query returned no row")
        return tuple(rows[0])

    def _arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        table = self.con.sql(sql, params=params).to_arrow_table()
        if table is None:  # pragma: no cover - a SELECT always has a result
            raise LinkageError("internal query returned no table")
        return table

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[stage] = round(time.perf_counter() - started, 3)

    def _run(self) -> LinkResult:
        spec = self.spec
        with self._timed("load"):
            names = [spec.left.name, spec.right.name][: len(self.sources)]
            ids = [spec.left.id, spec.right.id][: len(self.sources)]
            for i, (source, name, id_col) in enumerate(zip(self.sources, names, ids, strict=True)):
                side_key = "left" if i == 0 else "right"
                what = "input" if self.mode == "dedupe" else f"{side_key} input"
                self.sides.append(self._load_side(i, source, name, id_col, side_key, what))
        report = LinkReport(
            mode=self.mode,
            sides=[s.summary for s in self.sides],
            thresholds={"match": spec.thresholds.match, "review": spec.thresholds.review},
        )
        with self._timed("blocking_rules"):
            rules = self._choose_rules(report)
        with self._timed("identifier_join"):
            self._identifier_links(report)
        linker = self._linker(rules)
        with self._timed("training"):
            linker = self._train(linker, rules, report)
        with self._timed("prediction"):
            self._predict(linker, report)
        with self._timed("links"):
            links = self._links(rules, report)
        with self._timed("recall"):
            self._recall(linker, rules, report)
        with self._timed("clusters"):
            clusters = self._clusters(linker, report)
        report.seconds = self.seconds
        return LinkResult(links=links, clusters=clusters, report=report)

    # -- 1. inputs -------------------------------------------------------------------------

    def _load_side(
        self, i: int, source: Source, name: str, id_col: str, side_key: str, what: str
    ) -> _Side:
        raw = f"raw_{i}"
        records = load_table(self.con, source, raw, what)
        types = {str(r[0]): str(r[1]) for r in self.con.execute(f"DESCRIBE {raw}").fetchall()}
        wanted = [id_col] + [getattr(c, side_key) for c in self.spec.columns]
        missing = [c for c in dict.fromkeys(wanted) if c not in types]
        if missing:
            raise InputError(
                f"unknown column(s) {', '.join(map(repr, missing))} in the {what}; "
                f"available columns: {', '.join(types)}"
            )
        summary = SideSummary(name=name, records=records)
        selects = [f"CAST({quote_ident(id_col)} AS VARCHAR) AS unique_id"]
        for c in self.spec.columns:
            col = getattr(c, side_key)
            fmt = c.date_format
            if c.kind is Kind.DATE and not types[col].upper().startswith(("DATE", "TIMESTAMP")):
                fmt = fmt or self._detect_date_format(raw, col, c.name, what)
                summary.date_formats[c.name] = fmt
            canon = self.plan.canonical[c.name]
            selects.append(f"{clean_sql(quote_ident(col), c.kind, types[col], fmt)} AS {canon}")
        table = f"dl_{i}"
        self._exec(f"CREATE TABLE {table} AS SELECT {', '.join(selects)} FROM {raw}")  # noqa: S608
        self._exec(f"DROP TABLE {raw}")
        row = self._one(
            f"SELECT count(*) - count(unique_id), count(unique_id) - count(DISTINCT unique_id) "  # noqa: S608
            f"FROM {table}"
        )
        empty, duplicate = (int(row[0]), int(row[1])) if row else (0, 0)
        if empty:
            raise InputError(
                f"the {what} has {empty} record(s) with an empty id column {id_col!r}; "
                "every record needs an id"
            )
        if duplicate:
            raise InputError(
                f"the id column {id_col!r} of the {what} has {duplicate} duplicate value(s); "
                "ids must be unique (use --dedupe to find duplicate persons)"
            )
        filled = self._one(
            "SELECT "  # noqa: S608
            + ", ".join(f"count({self.plan.canonical[c.name]})" for c in self.spec.columns)
            + f" FROM {table}"
        )
        assert filled is not None
        for c, n in zip(self.spec.columns, filled, strict=True):
            summary.filled_share[c.name] = round(int(n) / records, 4)
        for c in self.spec.of_kind(Kind.DATE):
            canon = self.plan.canonical[c.name]
            parsed = self._one(
                f"SELECT count(try_strptime({canon}, ?)), count({canon}) FROM {table}",  # noqa: S608
                [CANONICAL_DATE_FORMAT],
            )
            if parsed and parsed[1]:
                summary.date_parsed_share[c.name] = round(int(parsed[0]) / int(parsed[1]), 4)
        return _Side(name=name, table=table, records=records, summary=summary)

    def _detect_date_format(self, raw: str, col: str, name: str, what: str) -> str:
        q = quote_ident(col)
        self._exec(
            f"CREATE OR REPLACE TEMP TABLE date_sample AS SELECT v FROM ("  # noqa: S608
            f"SELECT trim(CAST({q} AS VARCHAR)) AS v FROM {raw}) WHERE v <> '' LIMIT 5000"
        )
        best, best_share = CANDIDATE_DATE_FORMATS[0], -1.0
        for fmt in CANDIDATE_DATE_FORMATS:
            row = self._one("SELECT count(try_strptime(v, ?)), count(*) FROM date_sample", [fmt])
            share = int(row[0]) / int(row[1]) if row and row[1] else 0.0
            if share > best_share:
                best, best_share = fmt, share
        self._exec("DROP TABLE date_sample")
        if best_share < 0.5:
            raise InputError(
                f"could not recognise the date format of column {col!r} ({name}) in the {what}; "
                'give it in the spec, e.g. {"column": ..., "kind": "date", '
                '"format": "%d/%m/%Y"}'
            )
        return best

    # -- 2. rules and exact join -------------------------------------------------------------

    def _pairs_of_rule(self, rule: Rule) -> int:
        def keyed(side: int) -> str:
            exprs = []
            for j, (lc, rc, prefix) in enumerate(rule.keys):
                col = quote_ident(lc if side == 0 else rc)
                e = col if prefix is None else f"substr({col}, 1, {int(prefix)})"
                exprs.append(f"{e} AS k{j}")
            where = " AND ".join(f"k{j} IS NOT NULL" for j in range(len(rule.keys)))
            table = self.sides[min(side, len(self.sides) - 1)].table
            return f"SELECT * FROM (SELECT {', '.join(exprs)} FROM {table}) WHERE {where}"  # noqa: S608

        on = " AND ".join(f"a.k{j} = b.k{j}" for j in range(len(rule.keys)))
        cols = ", ".join(f"k{j}" for j in range(len(rule.keys)))
        if self.mode == "dedupe" and all(lc == rc for lc, rc, _ in rule.keys):
            sql = (
                f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n "  # noqa: S608
                f"FROM ({keyed(0)}) GROUP BY {cols})"
            )
        else:
            sql = (
                f"SELECT coalesce(sum(a.n * b.n), 0) FROM "  # noqa: S608
                f"(SELECT {cols}, count(*) AS n FROM ({keyed(0)}) GROUP BY ALL) a JOIN "
                f"(SELECT {cols}, count(*) AS n FROM ({keyed(1)}) GROUP BY ALL) b ON {on}"
            )
        row = self._one(sql)
        return int(row[0]) if row else 0

    def _choose_rules(self, report: LinkReport) -> list[Rule]:
        records = sum(s.records for s in self.sides)
        budget = max(_MIN_RULE_BUDGET, _PAIRS_PER_RECORD_BUDGET * records)
        sized = [(rule, self._pairs_of_rule(rule)) for rule in self.plan.prediction_rules]
        used: list[Rule] = []
        for rule, pairs in sized:
            keep = self.plan.expert_blocking or pairs <= budget
            if keep and pairs > 0:
                used.append(rule)
            note = "" if keep else f"over {budget} pairs"
            if keep and pairs == 0:
                note = "no pairs"
            report.blocking_rules.append(
                RuleSummary(
                    label=rule.label, estimated_pairs=pairs, used=keep and pairs > 0, note=note
                )
            )
        if not used:
            smallest = min((r for r in sized if r[1] > 0), key=lambda r: r[1], default=None)
            if smallest is None:
                raise LinkageError(
                    "no blocking rule produces any candidate pair: the comparison columns "
                    "never agree between records; check the spec's columns and kinds"
                )
            used.append(smallest[0])
            for summary in report.blocking_rules:
                if summary.label == smallest[0].label:
                    summary.used, summary.note = True, "kept although broad: the narrowest rule"
        return used

    def _identifier_links(self, report: LinkReport) -> None:
        cap = int(self.spec.max_records_per_identifier)
        tables = [s.table for s in self.sides]
        left, right = tables[0], tables[-1]
        self._exec("CREATE TABLE id_links (left_id VARCHAR, right_id VARCHAR, code INTEGER)")
        placeholders = 0
        for code, canon in enumerate(self.plan.identifiers):
            c = quote_ident(canon)
            # Values held by more than `cap` records of a side are placeholders.
            self._exec(
                "CREATE OR REPLACE TEMP TABLE id_values AS "  # noqa: S608
                + " UNION ALL ".join(
                    f"SELECT {c} AS v, count(*) AS n FROM {t} WHERE {c} IS NOT NULL GROUP BY {c}"  # noqa: S608
                    for t in dict.fromkeys(tables)
                )
            )
            placeholders += int(
                self._one("SELECT count(DISTINCT v) FROM id_values WHERE n > ?", [cap])[0]
            )
            self._exec(
                "CREATE OR REPLACE TEMP TABLE id_bad AS SELECT DISTINCT v FROM id_values "
                "WHERE n > ?",
                [cap],
            )
            order = "AND l.unique_id < r.unique_id" if self.mode == "dedupe" else ""
            self._exec(
                f"INSERT INTO id_links SELECT l.unique_id, r.unique_id, {code} "  # noqa: S608
                f"FROM {left} l JOIN {right} r ON l.{c} = r.{c} {order} "
                f"WHERE l.{c} NOT IN (SELECT v FROM id_bad) AND NOT EXISTS (SELECT 1 "
                "FROM id_links i WHERE i.left_id = l.unique_id AND i.right_id = r.unique_id)"
            )
        report.identifier_links = int(self._one("SELECT count(*) FROM id_links")[0])
        report.identifier_placeholder_values = placeholders

    # -- 3. Splink -------------------------------------------------------------------------

    def _linker(self, rules: list[Rule], model: dict[str, Any] | None = None) -> Linker:
        """A new linker over the inputs: untrained, or with ``model``'s parameters."""
        self.db_api = DuckDBAPI(self.con)
        inputs = [
            self.db_api.register(s.table, dataset_display_name=s.name, table_name=f"in_{s.table}")
            for s in self.sides
        ]
        if model is not None:
            return Linker(inputs if self.mode == "link" else inputs[0], model, log_level=None)
        settings = SettingsCreator(
            link_type="link_only" if self.mode == "link" else "dedupe_only",
            comparisons=list(self.plan.comparisons),
            blocking_rules_to_generate_predictions=[r.creator() for r in rules],
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
            unique_id_column_name="unique_id",
        )
        return Linker(inputs if self.mode == "link" else inputs[0], settings, log_level=None)

    def _total_pairs(self) -> int:
        if self.mode == "link":
            return self.sides[0].records * self.sides[1].records
        n = self.sides[0].records
        return n * (n - 1) // 2

    def _train(self, linker: Linker, rules: list[Rule], report: LinkReport) -> Linker:
        """Train ``linker``; returns the trained linker (a new one when an EM session failed
        and the parameters before it were restored)."""
        spec, plan = self.spec, self.plan
        try:
            linker.training.estimate_probability_two_random_records_match(
                [r.creator() for r in plan.deterministic_rules], recall=spec.recall
            )
        except (ValueError, SplinkException) as exc:
            log.warning("share of matches not estimated (%s); default used", type(exc).__name__)
        total = self._total_pairs()
        if total < 1:
            raise LinkageError("there is no pair of records to compare: dedupe needs two records")
        records = sum(side.records for side in self.sides)
        u_pairs = min(spec.u_max_pairs, total, max(200_000, 120 * records))
        if u_pairs == 1e6:  # Splink warns about "the default value" for exactly 1e6
            u_pairs += 1
        linker.training.estimate_u_using_random_sampling(
            max_pairs=u_pairs,
            seed=1,
            num_chunks=10 if total > u_pairs else 1,  # chunks only pay off when sampling
        )
        trained, failed = 0, []
        for rule in plan.training_rules:
            pairs = self._pairs_of_rule(rule)
            if pairs == 0:
                continue
            before = linker.misc.save_model_to_json()
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule.creator(),
                    estimate_without_term_frequencies=True,
                    max_pairs=spec.em_max_pairs if pairs > spec.em_max_pairs else None,
                )
                trained += 1
            except (SplinkException, ValueError, duckdb.Error) as exc:
                # e.g. an m probability that underflows to exactly 0 (Splink refuses it) on a
                # small, clean session: the parameters before it are restored, and the other
                # session trains those comparisons
                log.warning("EM session on %s skipped (%s)", rule.label, type(exc).__name__)
                failed.append(rule.label)
                linker = self._linker(rules, model=before)
        report.training_skipped = failed
        if failed and not trained:
            raise LinkageError(
                f"training failed on every rule ({', '.join(failed)}); give other "
                "'training_rules' in the spec"
            )
        model = linker.misc.save_model_to_json()
        self.model = model
        report.probability_two_random_records_match = model.get(
            "probability_two_random_records_match"
        )
        untrained = []
        for c, comp in zip(spec.columns, model["comparisons"], strict=True):
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            if any(lv.get("m_probability") is None for lv in levels):
                untrained.append(f"{c.name} (m)")
            if any(lv.get("u_probability") is None for lv in levels):
                untrained.append(f"{c.name} (u)")
        report.untrained = untrained
        return linker

    def _predict(self, linker: Linker, report: LinkReport) -> None:
        # Chunk by chunk: Splink's blocked pairs for the chunk (counted: the candidate
        # pairs), then scored; only pairs above the floor are kept.
        floor = min(_PREDICT_FLOOR, self.spec.thresholds.review)
        biggest = max(s.records for s in self.sides)
        chunks = max(1, math.ceil(biggest / _CHUNK_RECORDS))
        flip = "source_dataset_l <> ?" if self.mode == "link" else "false"
        params = [self.sides[0].name] * 2 if self.mode == "link" else []
        self._exec(
            "CREATE TABLE prob (left_id VARCHAR, right_id VARCHAR, match_probability DOUBLE, "
            "match_weight DOUBLE, match_key INTEGER)"
        )
        candidates = 0
        for i, j in itertools.product(range(1, chunks + 1), repeat=2):
            blocked = linker.inference.compute_blocked_pairs_for_predict_chunk(
                left_chunk=(i, chunks), right_chunk=(j, chunks)
            )
            candidates += int(self._one(f"SELECT count(*) FROM {blocked.physical_name}")[0])  # noqa: S608
            predictions = linker.inference.predict_chunk(
                left_chunk=(i, chunks),
                right_chunk=(j, chunks),
                threshold_match_probability=floor,
                warning_mode="never",
            )
            blocked.drop_table_from_database_and_remove_from_cache()
            self._exec(
                "INSERT INTO prob SELECT "  # noqa: S608
                f"CASE WHEN {flip} THEN unique_id_r ELSE unique_id_l END, "
                f"CASE WHEN {flip} THEN unique_id_l ELSE unique_id_r END, "
                "match_probability, match_weight, CAST(match_key AS INTEGER) "
                f"FROM {predictions.physical_name}",
                params,
            )
            predictions.drop_table_from_database_and_remove_from_cache()
        report.candidate_pairs = candidates
        edges = list(BAND_EDGES)
        for k, lower in enumerate(edges):
            upper = edges[k - 1] if k else None
            if lower < floor:
                break
            cond = "match_probability >= ?" + (" AND match_probability < ?" if upper else "")
            row = self._one(
                f"SELECT count(*) FROM prob WHERE {cond}",  # noqa: S608
                [lower, upper] if upper else [lower],
            )
            report.bands[band_label(lower, upper)] = int(row[0])

    # -- 4. links ----------------------------------------------------------------------------

    def _links(self, rules: list[Rule], report: LinkReport) -> pa.Table:
        t = self.spec.thresholds
        self.con.register(
            "id_rule_labels",
            pa.table(
                {
                    "code": pa.array(range(len(self.plan.identifiers)), pa.int32()),
                    "label": [self.plan.label_of(c) for c in self.plan.identifiers],
                }
            ),
        )
        self.con.register(
            "block_rule_labels",
            pa.table(
                {
                    "code": pa.array(range(len(rules)), pa.int32()),
                    "label": [r.label for r in rules],
                }
            ),
        )
        self._exec(
            "CREATE TABLE links AS "
            "SELECT i.left_id, i.right_id, 1.0::DOUBLE AS match_probability, "
            "NULL::DOUBLE AS match_weight, 'identifier' AS rule, lb.label AS rule_detail "
            "FROM id_links i JOIN id_rule_labels lb ON lb.code = i.code "
            "UNION ALL "
            "SELECT p.left_id, p.right_id, p.match_probability, p.match_weight, "
            "'probabilistic' AS rule, lb.label AS rule_detail "
            "FROM prob p LEFT JOIN block_rule_labels lb ON lb.code = p.match_key "
            "WHERE p.match_probability >= ? AND NOT EXISTS (SELECT 1 FROM id_links i "
            "WHERE i.left_id = p.left_id AND i.right_id = p.right_id)",
            [t.review],
        )
        row = self._one(
            "SELECT count(*) FILTER (WHERE rule = 'probabilistic' AND match_probability >= ?), "
            "count(*) FILTER (WHERE rule = 'probabilistic' AND match_probability < ?) FROM links",
            [t.match, t.match],
        )
        assert row is not None
        report.probabilistic_match, report.probabilistic_review = int(row[0]), int(row[1])
        report.links_in_match_band = report.identifier_links + report.probabilistic_match
        report.links_in_review_band = report.probabilistic_review
        return self._arrow(
            "SELECT left_id, right_id, match_probability, match_weight, rule, rule_detail, "
            "CASE WHEN match_probability >= ? THEN 'match' ELSE 'review' END AS band "
            "FROM links ORDER BY match_probability DESC, left_id, right_id",
            [t.match],
        )

    # -- recall ------------------------------------------------------------------------------

    def _recall(self, linker: Linker, rules: list[Rule], report: LinkReport) -> None:
        estimates: dict[str, float] = {}
        if report.identifier_links >= _MIN_IDENTIFIER_PAIRS_FOR_RECALL:
            cond = " OR ".join(f"coalesce({r.sql()}, false)" for r in rules)
            left, right = self.sides[0].table, self.sides[-1].table
            row = self._one(
                f"SELECT count(*) FILTER (WHERE {cond}), count(*) FROM id_links i "  # noqa: S608
                f"JOIN {left} l ON l.unique_id = i.left_id "
                f"JOIN {right} r ON r.unique_id = i.right_id"
            )
            if row and row[1]:
                estimates["identifier"] = round(int(row[0]) / int(row[1]), 6)
        agree: dict[str, float] = {}
        for c, comp in zip(self.spec.columns, self.model["comparisons"], strict=True):
            levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
            m = levels[0].get("m_probability") if levels else None
            if m is None:
                continue
            filled = [s.summary.filled_share[c.name] for s in self.sides]
            both = filled[0] * filled[-1]
            agree[self.plan.canonical[c.name]] = both * float(m)
        same_col_rules = [
            [lc for lc, rc, _ in r.keys] for r in rules if all(lc == rc for lc, rc, _ in r.keys)
        ]
        model_estimate = model_blocking_recall(same_col_rules, agree)
        if model_estimate is not None:
            estimates["model"] = round(model_estimate, 6)
        report.blocking_recall_estimates = estimates
        for method in ("identifier", "model"):
            if method in estimates:
                report.blocking_recall = estimates[method]
                report.blocking_recall_method = method
                break

    # -- 5. clusters -------------------------------------------------------------------------

    def _clusters(self, linker: Linker, report: LinkReport) -> pa.Table:
        con = self.con
        parts = []
        params: list[Any] = []
        for s in self.sides:
            parts.append(
                f"SELECT ? || '/' || unique_id AS node_id, ? AS source, unique_id AS id "  # noqa: S608
                f"FROM {s.table}"
            )
            params += [s.name, s.name]
        self._exec(f"CREATE TABLE nodes AS {' UNION ALL '.join(parts)}", params)
        left_name, right_name = self.sides[0].name, self.sides[-1].name
        self._exec(
            "CREATE TABLE edges AS SELECT ? || '/' || left_id AS n_l, ? || '/' || right_id AS n_r "
            "FROM links WHERE match_probability >= ?",
            [left_name, right_name, self.spec.thresholds.match],
        )
        cc = cluster_pairwise_predictions_at_threshold(
            "nodes",
            "edges",
            self.db_api,
            node_id_column_name="node_id",
            edge_id_column_name_left="n_l",
            edge_id_column_name_right="n_r",
        )
        self._exec(
            "CREATE TABLE members AS SELECT n.node_id, n.source, n.id, c.cluster_id "  # noqa: S608
            f"FROM nodes n JOIN {cc.physical_name} c USING (node_id)"
        )
        cc.drop_table_from_database_and_remove_from_cache()
        reps = self._arrow(
            "SELECT cluster_id, min(node_id) AS rep, count(*) AS size, "
            "count(DISTINCT source) AS sources FROM members GROUP BY cluster_id ORDER BY rep"
        )
        pseudonyms = self._pseudonyms(reps.column("rep").to_pylist())
        con.register(
            "cluster_pseudonyms",
            pa.table(
                {
                    "cluster_id": reps.column("cluster_id"),
                    "person_pseudonym": pseudonyms,
                    "cluster_size": reps.column("size"),
                }
            ),
        )
        sizes = reps.column("size").to_pylist()
        histogram: dict[str, int] = {}
        for size in sizes:
            key = str(size) if size < 5 else "5+"
            histogram[key] = histogram.get(key, 0) + 1
        spanning = (
            sum(1 for n in reps.column("sources").to_pylist() if int(n) > 1)
            if self.mode == "link"
            else None
        )
        report.clusters = ClusterSummary(
            clusters=len(sizes),
            singletons=histogram.get("1", 0),
            largest=max(sizes, default=0),
            sizes=dict(sorted(histogram.items())),
            spanning_both=spanning,
        )
        report.pseudonym_scheme = (
            f"hmac-sha256 in domain {self.keys.domain!r}" if self.keys else "sequence (unkeyed)"
        )
        return self._arrow(
            "SELECT m.source, m.id, p.person_pseudonym, p.cluster_size FROM members m "
            "JOIN cluster_pseudonyms p USING (cluster_id) "
            "ORDER BY p.person_pseudonym, m.source, m.id"
        )

    def _pseudonyms(self, reps: list[str]) -> pa.Array:
        if self.keys is None:
            width = max(6, len(str(len(reps))))
            return pa.array([f"seq-{i + 1:0{width}d}" for i in range(len(reps))], pa.string())
        base = hmac.new(self.keys.hmac_key, PSEUDONYM_LABEL, sha256)
        out = []
        for rep in reps:
            h = base.copy()
            h.update(rep.encode("utf-8"))
            out.append(h.hexdigest()[:32])
        return pa.array(out, pa.string())
