"""``datalux privacy link``: identifier matching (record linkage) of two files, or dedupe one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click


def _default_clusters_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.clusters{out.suffix}")


@click.command("link")
@click.argument(
    "inputs", nargs=-1, required=True, metavar="LEFT [RIGHT]", type=click.Path(path_type=Path)
)
@click.option(
    "--spec",
    "spec_path",
    required=True,
    type=click.Path(path_type=Path),
    help="JSON spec: id column of each side, comparison columns with a kind each.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Link table to write (.csv or .parquet).",
)
@click.option(
    "--clusters",
    type=click.Path(path_type=Path),
    help="Clusters with person pseudonyms (default: OUT's name with .clusters before the "
    "extension).",
)
@click.option("--report", type=click.Path(path_type=Path), help="Also write the report as JSON.")
@click.option("--dedupe", is_flag=True, help="Find duplicates within ONE input.")
@click.option(
    "--key-file",
    type=click.Path(path_type=Path),
    help="TTP master key file for keyed person pseudonyms (else $DATALUX_TTP_MASTER_KEY; "
    "without either, pseudonyms are run-local sequence numbers).",
)
@click.option(
    "--domain",
    default="persons",
    show_default=True,
    help="Pseudonym domain of the person pseudonyms.",
)
@click.option("--threads", type=int, help="Threads for the engine (default: all cores).")
@click.option("--memory-limit", default="4GB", show_default=True, help="Engine memory budget.")
@click.option("-v", "--verbose", is_flag=True, help="Show the engine's (Splink's) log messages.")
def link(
    inputs: tuple[Path, ...],
    spec_path: Path,
    out: Path,
    clusters: Path | None,
    report: Path | None,
    dedupe: bool,
    key_file: Path | None,
    domain: str,
    threads: int | None,
    memory_limit: str,
    verbose: bool,
) -> None:
    """Link the records of one person across LEFT and RIGHT (or within one input with
    --dedupe): exact join on identifiers, then probabilistic matching (Splink,
    Fellegi-Sunter with EM). Writes the link table (left id, right id, match probability,
    rule, band), the clusters with one person pseudonym each, and prints the report.

    \b
    datalux privacy link hospital.csv registry.parquet --spec spec.json --out links.parquet
    datalux privacy link persons.csv --dedupe --spec spec.json --out dups.csv
    """
    from datalux.privacy.errors import PrivacyError
    from datalux.privacy.keys import MASTER_KEY_ENV_VAR, load_master_key
    from datalux.privacy.linkage import dedupe as run_dedupe
    from datalux.privacy.linkage import link as run_link
    from datalux.privacy.linkage import load_spec, write_result

    if dedupe and len(inputs) != 1:
        raise click.UsageError("--dedupe takes exactly one input file")
    if not dedupe and len(inputs) != 2:
        raise click.UsageError("give two input files (LEFT RIGHT), or one with --dedupe")
    if not verbose:
        logging.getLogger("splink").setLevel(logging.ERROR)
    clusters_path = clusters or _default_clusters_path(out)
    try:
        spec = load_spec(spec_path)
        keys = None
        if key_file is not None or os.environ.get(MASTER_KEY_ENV_VAR, "").strip():
            keys = load_master_key(key_file).domain_keys(domain)
        if dedupe:
            result = run_dedupe(
                inputs[0], spec, keys=keys, threads=threads, memory_limit=memory_limit
            )
        else:
            result = run_link(
                inputs[0], inputs[1], spec, keys=keys, threads=threads, memory_limit=memory_limit
            )
        write_result(result, out, clusters_path=clusters_path, report_path=report)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.report.to_text())
    click.echo(f"wrote {out} ({result.links.num_rows} links) and {clusters_path}")
