"""``datalux privacy anonymise`` and ``datalux privacy risk``: k-anonymity, l-diversity and
t-closeness by optimal full-domain generalisation, and re-identification risk of a file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import click

from datalux.dataplane.errors import DataplaneError
from datalux.privacy.anonymisation import (
    DistinctLDiversity,
    EntropyLDiversity,
    HierarchySpec,
    KAnonymity,
    PrivacyModel,
    RiskMetrics,
    TCloseness,
    anonymise,
    build_report,
    engine_reidentification_risk,
    outputs,
    parse_hierarchy_spec,
    read_table,
    reidentification_risk,
    write_json,
    write_table,
)
from datalux.privacy.errors import InputError, PrivacyError

__all__ = ["anonymise_command", "risk_command"]

_STRATEGIES: dict[str, Literal["auto", "optimal", "heuristic"]] = {
    "auto": "auto",
    "optimal": "optimal",
    "heuristic": "heuristic",
}


def _columns(text: str, option: str) -> list[str]:
    names = [c.strip() for c in text.split(",")]
    if not text.strip() or any(not c for c in names):
        raise InputError(f"malformed {option} {text!r}: give column names separated by commas")
    return names


def _models(
    k: int | None, l_value: float | None, l_variant: str, t: float | None, t_distance: str
) -> list[PrivacyModel]:
    models: list[PrivacyModel] = []
    if k is not None:
        if k < 1:
            raise InputError(f"impossible k: k={k}; k must be at least 1")
        models.append(KAnonymity(k))
    if l_value is not None:
        if l_value < 1 or not math.isfinite(l_value):
            raise InputError(f"impossible l: l={l_value:g}; l must be at least 1")
        if l_variant == "distinct":
            if l_value != int(l_value):
                raise InputError("distinct l-diversity needs a whole l, e.g. --l 2")
            models.append(DistinctLDiversity(int(l_value)))
        else:
            models.append(EntropyLDiversity(l_value))
    if t is not None:
        if not 0 <= t <= 1:
            raise InputError(f"impossible t: t={t:g}; t must be between 0 and 1")
        ordered = {"auto": None, "ordered": True, "equal": False}[t_distance]
        models.append(TCloseness(t, ordered))
    return models


@click.command("anonymise")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--qi", "qi", required=True, help="Quasi-identifier columns, comma-separated.")
@click.option(
    "--hierarchy",
    "hierarchy",
    multiple=True,
    metavar="COLUMN=SPEC",
    help="Per quasi-identifier: an ARX hierarchy file (value;level1;...), or interval:5,10,20, "
    "date:month,year,decade, prefix:1. Repeat for each column.",
)
@click.option("--sensitive", default=None, help="Sensitive attribute (for --l and --t).")
@click.option("--k", "k", type=int, default=None, help="k-anonymity: smallest class size.")
@click.option("--l", "l_value", type=float, default=None, help="l-diversity.")
@click.option(
    "--l-variant",
    type=click.Choice(["distinct", "entropy"]),
    default="distinct",
    show_default=True,
)
@click.option("--t", "t", type=float, default=None, help="t-closeness threshold (0..1).")
@click.option(
    "--t-distance",
    type=click.Choice(["auto", "equal", "ordered"]),
    default="auto",
    show_default=True,
    help="Ground distance: equal (categorical), ordered (numeric); auto picks by the values.",
)
@click.option(
    "--max-suppression",
    type=float,
    default=0.0,
    show_default=True,
    help="Largest share of records that may be suppressed, e.g. 0.05.",
)
@click.option(
    "--suppressed",
    "suppression_mode",
    type=click.Choice(["drop", "mask"]),
    default="drop",
    show_default=True,
    help="Drop suppressed records, or keep them with every quasi-identifier set to '*'.",
)
@click.option(
    "--time-budget", type=float, default=60.0, show_default=True, help="Search time limit (s)."
)
@click.option(
    "--strategy",
    type=click.Choice(["auto", "optimal", "heuristic"]),
    default="auto",
    show_default=True,
)
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="Output .csv/.parquet."
)
@click.option("--report", "report", type=click.Path(path_type=Path), help="JSON report.")
def anonymise_command(
    input_path: Path,
    qi: str,
    hierarchy: tuple[str, ...],
    sensitive: str | None,
    k: int | None,
    l_value: float | None,
    l_variant: str,
    t: float | None,
    t_distance: str,
    max_suppression: float,
    suppression_mode: str,
    time_budget: float,
    strategy: str,
    delimiter: str | None,
    out: Path,
    report: Path | None,
) -> None:
    """Generalise INPUT so that k-anonymity (and l-diversity, t-closeness) hold, with the least
    information loss, and write the release to --out and a JSON report to --report."""
    try:
        quasi_identifiers = _columns(qi, "--qi")
        specs: dict[str, HierarchySpec] = {}
        for text in hierarchy:
            column, spec = parse_hierarchy_spec(text)
            if column in specs:
                raise InputError(f"two hierarchies for {column!r}: give one per column")
            specs[column] = spec
        models = _models(k, l_value, l_variant, t, t_distance)
        if time_budget <= 0:
            raise InputError("time budget must be positive, e.g. --time-budget 60")
        if input_path.exists() and out.exists() and input_path.resolve() == out.resolve():
            raise InputError("--out is the input file: write the release to another file")
        table, delim = read_table(input_path, delimiter=delimiter)
        result = anonymise(
            table,
            quasi_identifiers=quasi_identifiers,
            hierarchies=specs,
            models=models,
            sensitive=sensitive,
            max_suppression=max_suppression,
            suppression_mode="mask" if suppression_mode == "mask" else "drop",
            time_budget=time_budget,
            strategy=_STRATEGIES[strategy],
        )
        data = build_report(result, file=input_path.name, output=out.name)
        with outputs(out, report) as (tmp_out, tmp_report):
            assert tmp_out is not None
            write_table(result.table, tmp_out, out, delimiter=delim)
            if tmp_report is not None:
                write_json(data, tmp_report)
    except (PrivacyError, DataplaneError) as exc:
        raise click.ClickException(str(exc)) from None
    s = result.search
    click.echo(
        f"anonymised {result.utility.records} records: "
        + ", ".join(f"{t.attribute}@{t.level}" for t in result.transformation)
    )
    click.echo(
        f"suppressed {result.records_suppressed} (limit {result.suppression_limit}), "
        f"loss {result.utility.loss:.4f}, {s.strategy} search"
        f"{' (optimal)' if s.optimal else ''}, {s.evaluations} nodes in {s.seconds:.2f} s"
    )
    checked = ", ".join(str(c.model["model"]) for c in result.verification.checks)
    click.echo(f"verified on the {result.verification.records_checked} released records: {checked}")


def _engine_risk(
    engine: str,
    path: Path,
    quasi_identifiers: list[str],
    sampling_fraction: float,
    threshold: float,
) -> RiskMetrics:
    from datalux.dataplane import connect

    if path.suffix.lower() not in (".parquet", ".pq") or not path.exists():
        raise InputError(
            f"--engine {engine} reads an existing Parquet file: {path.name} is not one"
        )
    with connect("spark" if engine == "spark" else "duckdb") as backend:
        backend.register_parquet("risk_input", path)
        metrics = engine_reidentification_risk(
            backend,
            "risk_input",
            quasi_identifiers,
            sampling_fraction=sampling_fraction,
            threshold=threshold,
        )
    if metrics.records == 0:
        raise InputError("the input has no records: give a file with data rows")
    return metrics


@click.command("risk")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--qi", "qi", required=True, help="Quasi-identifier columns, comma-separated.")
@click.option(
    "--sampling-fraction",
    type=float,
    default=1.0,
    show_default=True,
    help="Share of the population in the file (journalist and marketer risk).",
)
@click.option(
    "--threshold",
    type=float,
    default=0.2,
    show_default=True,
    help="Risk above which a record is at risk.",
)
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected).")
@click.option(
    "--engine",
    type=click.Choice(["local", "duckdb", "spark"]),
    default="local",
    show_default=True,
    help="Count classes in memory (local) or in a data-plane engine (Parquet input).",
)
@click.option("--report", "report", type=click.Path(path_type=Path), help="Also write JSON here.")
def risk_command(
    input_path: Path,
    qi: str,
    sampling_fraction: float,
    threshold: float,
    delimiter: str | None,
    engine: str,
    report: Path | None,
) -> None:
    """Prosecutor, journalist and marketer re-identification risk and sample uniques of INPUT
    (printed as JSON)."""
    try:
        quasi_identifiers = _columns(qi, "--qi")
        if engine == "local":
            table, _ = read_table(input_path, delimiter=delimiter)
            if table.num_rows == 0:
                raise InputError(
                    "the input has no records: give a file with a header and data rows"
                )
            metrics = reidentification_risk(
                table, quasi_identifiers, sampling_fraction=sampling_fraction, threshold=threshold
            )
        else:
            metrics = _engine_risk(
                engine, input_path, quasi_identifiers, sampling_fraction, threshold
            )
        data = {
            "report": "datalux privacy risk",
            "input": {"file": input_path.name, "quasi_identifiers": quasi_identifiers},
            **metrics.as_dict(),
        }
        if report is not None:
            with outputs(report) as (tmp,):
                assert tmp is not None
                write_json(data, tmp)
    except (PrivacyError, DataplaneError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(data, indent=2))
