"""``datalux privacy synthesise``: a differentially private synthetic twin of a table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pyarrow as pa

from datalux.privacy.disclosure import LedgerFile, read_table
from datalux.privacy.disclosure.io import table_format, write_json_to, write_table_to
from datalux.privacy.errors import InputError, PrivacyError
from datalux.privacy.outputs import atomic_path
from datalux.privacy.synthetic import Column, Domain, column_from_dictionary
from datalux.privacy.synthetic.twin import make_twin

#: Table Schema field types (frictionless) mapped to the dictionary's types.
_SCHEMA_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "year": "year",
}


def domain_from_schema(schema: dict[str, Any], columns: list[str] | None) -> Domain:
    """A domain from a Table Schema: ``constraints.enum`` is the code list, ``minimum`` and
    ``maximum`` the range; ``constraints.required`` makes a column not nullable; a
    ``datalux:bins`` number sets a numeric column's bins."""
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields:
        raise InputError("--schema must be a Table Schema with a 'fields' list")
    by_name = {f.get("name"): f for f in fields if isinstance(f, dict)}
    names = columns or [str(f.get("name")) for f in fields if isinstance(f, dict)]
    out = []
    for name in names:
        f = by_name.get(name)
        if f is None:
            raise InputError(f"--columns names {name!r}, which the schema does not describe")
        kind = _SCHEMA_TYPES.get(f.get("type", "string"))
        if kind is None:
            raise InputError(f"field {name!r}: type {f.get('type')!r} cannot be synthesised")
        c = f.get("constraints") or {}
        out.append(
            column_from_dictionary(
                str(name),
                kind,
                values=tuple(c.get("enum") or ()),
                low=c.get("minimum"),
                high=c.get("maximum"),
                bins=f.get("datalux:bins"),
                nullable=not c.get("required", False),
            )
        )
    return Domain(tuple(out))


def _domain_from_data(frame: Any, columns: list[str]) -> Domain:
    cols = []
    for name in columns:
        values = frame[name].dropna().unique().tolist()
        cols.append(Column(name, categories=tuple(sorted(values, key=str))))
    return Domain(tuple(cols))


@click.command("synthesise")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--epsilon", type=float, required=True, help="Privacy loss to spend (e.g. 1).")
@click.option("--delta", type=float, default=1e-9, show_default=True, help="Gaussian delta.")
@click.option("--columns", default=None, help="Columns to synthesise, comma-separated.")
@click.option("--rows", type=int, default=None, help="Rows to sample (default: noisy count).")
@click.option("--seed", type=int, default=None, help="Seed of the sampling (not of the noise).")
@click.option(
    "--schema",
    "schema_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Table Schema (JSON): code lists (enum) and ranges (minimum, maximum).",
)
@click.option(
    "--categories-from-data",
    is_flag=True,
    help="No schema: read code lists from the data (leaks which codes occur; tests only).",
)
@click.option("--budget", "budget_path", type=click.Path(path_type=Path), default=None,
              help="Budget ledger to charge (see 'datalux privacy budget').")  # fmt: skip
@click.option("--target", default=None, help="Class column for the utility figure.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help=".csv/.parquet")
@click.option("--report", "report", required=True, type=click.Path(path_type=Path), help="JSON.")
def synthesise_cmd(
    input_path: Path,
    epsilon: float,
    delta: float,
    columns: str | None,
    rows: int | None,
    seed: int | None,
    schema_path: Path | None,
    categories_from_data: bool,
    budget_path: Path | None,
    target: str | None,
    out: Path,
    report: Path,
) -> None:
    """Fit a differentially private model of INPUT and write a synthetic twin and its report.

    Domains come from the dictionary (--schema), never from the data: a code list for each
    categorical column, a range for numbers and dates (binned). The report has fidelity
    (1- and 2-way total variation distance, associations, a classifier's accuracy with
    --target) and privacy (epsilon and delta spent, distance to closest record, a
    membership-inference check on held-out rows).
    """
    try:
        fmt = table_format(out)
        if report.suffix.lower() != ".json":
            raise InputError(f"--report must be a .json file, got {report.name}")
        frame = read_table(input_path).to_pandas()
        chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        if schema_path is not None:
            try:
                schema = json.loads(schema_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(f"--schema {schema_path}: not a readable JSON file") from exc
            domain = domain_from_schema(schema, chosen)
        elif categories_from_data:
            domain = _domain_from_data(frame, chosen or list(frame.columns))
        else:
            raise InputError(
                "give --schema (a Table Schema with code lists and ranges from the data "
                "dictionary), or --categories-from-data to read code lists from the data"
            )
        ledger = LedgerFile(budget_path) if budget_path is not None else None
        result = make_twin(
            frame, domain, epsilon=epsilon, delta=delta, rows=rows, seed=seed, budget=ledger,
            label=f"synthetic twin of {input_path.name}", target=target,
        )  # fmt: skip
        table = pa.Table.from_pandas(result.twin.frame, preserve_index=False)
        with atomic_path(out) as tmp_out, atomic_path(report) as tmp_report:
            write_table_to(table, tmp_out, fmt)
            write_json_to(result.report, tmp_report)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from exc
    fid, priv = result.report["fidelity"], result.report["privacy"]
    mia = priv.get("membership_inference") or {}
    click.echo(
        f"{len(result.twin.frame)} synthetic rows -> {out} (epsilon {epsilon:g}, delta {delta:g}); "
        f"2-way TVD mean {fid['tvd_2way_mean']}"
        + (f", membership-inference AUC {mia['auc']}" if mia else "")
        + f"; report -> {report}"
    )
