"""``datalux privacy check-table | dp | budget``: output disclosure control and DP releases."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datalux.privacy.disclosure import (
    LedgerFile,
    Rounding,
    RuleSet,
    check_table,
    read_table,
    release,
)
from datalux.privacy.disclosure.io import (
    require_columns,
    table_format,
    write_json_to,
    write_table_to,
)
from datalux.privacy.errors import InputError, PrivacyError
from datalux.privacy.outputs import atomic_path


def _columns(text: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise InputError("--by needs at least one column name, e.g. --by region,sex")
    return cols


def _nk(text: str | None) -> tuple[int, float] | None:
    if text is None or text.lower() == "off":
        return None
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), float(parts[1])
    except ValueError as exc:
        raise InputError(f"--nk must be 'N,K' such as 2,0.9 (or 'off'), got {text!r}") from exc


def _bounds(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise InputError(f"--bounds must be 'LOWER,UPPER' such as 0,100, got {text!r}") from exc


def _fail(exc: PrivacyError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.command("check-table")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--by", "by", required=True, help="Grouping columns, comma-separated.")
@click.option("--value", default=None, help="Magnitude column (sum/mean table; dominance rules).")
@click.option("--unit", default=None, help="Contributor id column: rows are summed per unit.")
@click.option("--count-column", default=None, help="Input is a frequency table with this count.")
@click.option("--stats", default="count,sum", show_default=True, help="count, sum, mean.")
@click.option("--threshold", default=10, show_default=True, type=int, help="Minimum count.")
@click.option("--p", "p", default="0.1", show_default=True, help="p%% rule fraction, or 'off'.")
@click.option("--nk", default="2,0.9", show_default=True, help="(n,k)-dominance, or 'off'.")
@click.option("--zeros-safe", is_flag=True, help="Publish empty cells (ACRO: zeros disclose).")
@click.option("--no-secondary", is_flag=True, help="Primary suppression only (unsafe margins).")
@click.option("--round", "round_base", default=None, type=int, help="Round counts to this base.")
@click.option(
    "--round-method",
    default="conventional",
    show_default=True,
    type=click.Choice(["conventional", "random"]),
)
@click.option("--seed", default=None, type=int, help="Seed for random rounding.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help=".csv/.parquet")
@click.option("--report", "report", required=True, type=click.Path(path_type=Path), help="JSON.")
def check_table_cmd(
    input_path: Path,
    by: str,
    value: str | None,
    unit: str | None,
    count_column: str | None,
    stats: str,
    threshold: int,
    p: str,
    nk: str | None,
    zeros_safe: bool,
    no_secondary: bool,
    round_base: int | None,
    round_method: str,
    seed: int | None,
    out: Path,
    report: Path,
) -> None:
    """Check the table of INPUT grouped by --by; write the safe table and a per-cell report.

    Cells failing the threshold, (n,k)-dominance or p% rule are suppressed (null), then
    complementary cells so that none can be recovered from the margins.
    """
    try:
        fmt = table_format(out)
        if report.suffix.lower() != ".json":
            raise InputError(f"--report must be a .json file, got {report.name}")
        p_value = None if p.lower() == "off" else float(p)
        rules = RuleSet(threshold=threshold, p=p_value, nk=_nk(nk), zeros_disclosive=not zeros_safe)
        rounding = (
            None
            if round_base is None
            else Rounding(base=round_base, method=round_method, seed=seed)  # type: ignore[arg-type]
        )
        table = read_table(input_path)
        checked = check_table(
            table,
            _columns(by),
            value=value,
            unit=unit,
            count_column=count_column,
            rules=rules,
            secondary=not no_secondary,
            rounding=rounding,
            stats=[s.strip() for s in stats.split(",") if s.strip()],
        )
        doc = checked.report()
        with atomic_path(out) as tmp_out, atomic_path(report) as tmp_report:
            write_table_to(checked.table, tmp_out, fmt)
            write_json_to(doc, tmp_report)
    except ValueError as exc:
        raise click.ClickException(f"--p must be a fraction such as 0.1 or 'off': {exc}") from exc
    except PrivacyError as exc:
        raise _fail(exc) from exc
    s = doc["summary"]
    click.echo(
        f"{s['cells']} cells: {s['published']} published, {s['primary']} primary and "
        f"{s['secondary']} secondary suppressions -> {out}"
    )


@click.command("dp")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--stat", "stat", required=True, type=click.Choice(["count", "sum", "mean"]))
@click.option("--value", default=None, help="Value column (required for sum and mean).")
@click.option("--epsilon", required=True, type=float)
@click.option("--delta", default=0.0, show_default=True, type=float, help="For gaussian.")
@click.option(
    "--mechanism", default="laplace", show_default=True, type=click.Choice(["laplace", "gaussian"])
)
@click.option("--bounds", default=None, help="Clamping bounds LOWER,UPPER (sum, mean).")
@click.option("--max-contributions", default=1, show_default=True, type=int, help="Rows/person.")
@click.option("--budget-file", required=True, type=click.Path(path_type=Path), help="Ledger.")
@click.option("--label", default="", help="What the release is for (recorded in the ledger).")
@click.option("--out", "out", default=None, type=click.Path(path_type=Path), help="JSON result.")
def dp_cmd(
    input_path: Path,
    stat: str,
    value: str | None,
    epsilon: float,
    delta: float,
    mechanism: str,
    bounds: str | None,
    max_contributions: int,
    budget_file: Path,
    label: str,
    out: Path | None,
) -> None:
    """Release a differentially private count, sum or mean of INPUT, charged to --budget-file."""
    try:
        if stat != "count" and value is None:
            raise InputError(f"--stat {stat} needs --value COLUMN")
        if out is not None and out.suffix.lower() != ".json":
            raise InputError(f"--out must be a .json file, got {out.name}")
        ledger = LedgerFile(budget_file)
        ledger.state()  # fail on a missing or altered ledger before reading the data
        table = read_table(input_path)
        if value is not None:
            require_columns(table, [value], "value")
            column = table.column(value)
            if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
                raise InputError(f"the value column {value!r} must be numeric, it is {column.type}")
            data = pc.fill_null(pc.cast(column, pa.float64()), float("nan")).to_numpy()
        else:
            data = np.zeros(table.num_rows)
        result = release(
            data,
            stat,  # type: ignore[arg-type]
            epsilon=epsilon,
            delta=delta,
            mechanism=mechanism,  # type: ignore[arg-type]
            bounds=_bounds(bounds),
            max_contributions=max_contributions,
            budget=ledger,
            query=label or f"{stat} of {value or 'rows'} in {input_path.name}",
        )
        doc = {"release": result.to_dict(), "budget": ledger.state().summary()}
        if out is not None:
            with atomic_path(out) as tmp:
                write_json_to(doc, tmp)
    except PrivacyError as exc:
        raise _fail(exc) from exc
    json.dump(doc, sys.stdout, indent=2)
    click.echo()


@click.group("budget")
def budget() -> None:
    """Per-project privacy-budget ledgers."""


@budget.command("init")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--project", required=True)
@click.option("--epsilon", required=True, type=float, help="Total epsilon of the project.")
@click.option("--delta", default=0.0, show_default=True, type=float, help="Total delta.")
def budget_init(path: Path, project: str, epsilon: float, delta: float) -> None:
    """Create the ledger PATH with the project's total budget (never overwrites)."""
    try:
        LedgerFile.create(path, project=project, epsilon=epsilon, delta=delta)
    except PrivacyError as exc:
        raise _fail(exc) from exc
    click.echo(f"budget ledger for {project!r}: epsilon={epsilon:g}, delta={delta:g} -> {path}")


@budget.command("show")
@click.argument("path", type=click.Path(path_type=Path))
def budget_show(path: Path) -> None:
    """Print the totals, what is spent and what is left (verifies the hash chain)."""
    try:
        state = LedgerFile(path).state()
    except PrivacyError as exc:
        raise _fail(exc) from exc
    json.dump(state.summary(), sys.stdout, indent=2)
    click.echo()
