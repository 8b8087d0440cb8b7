"""``datalux spe prepare|show``: a permit's extract in the secure processing environment."""

from __future__ import annotations

import json
from pathlib import Path

import click

from datalux.cli.runtime import setup_django


@click.group()
def spe() -> None:
    """Prepare and show the extracts of permits (the trusted third party's operator)."""


def _permit(number: str) -> object:
    from datalux.access.models import Permit

    permit = Permit.objects.filter(number=number.strip()).first()
    if permit is None:
        raise click.ClickException(f"no permit {number}: give a number such as DLX-P-2026-00001")
    return permit


@spe.command()
@click.argument("number")
@click.option(
    "--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the trusted third party's master key file [default: $DATALUX_TTP_KEY_FILE when it "
    "exists, else $DATALUX_TTP_MASTER_KEY]",
)
def prepare(number: str, engine: str, key_file: Path | None) -> None:
    """Prepare the extract of permit NUMBER: only its datasets, variables, period and rows,
    opt-outs left out, identifiers replaced by the project's pseudonyms. Prints each step,
    then the manifest."""
    setup_django()
    from datalux.core.errors import Conflict
    from datalux.dataplane.extract import ExtractError
    from datalux.spe.jobs import request_preparation, run_preparation
    from datalux.spe.keys import configured_master_key
    from datalux.spe.models import PreparationState

    permit = _permit(number)
    try:
        master = configured_master_key(key_file)
        preparation = request_preparation(permit, engine=engine, enqueue=False)  # type: ignore[arg-type]
    except (ExtractError, Conflict) as exc:
        raise click.ClickException(str(exc)) from None
    already = preparation.state == PreparationState.READY

    def echo(step: str, table: str) -> None:
        click.echo(f"{step}{': ' + table if table else ''}", err=True)

    preparation = run_preparation(preparation.pk, master_key=master, progress=echo)
    if preparation.state != PreparationState.READY:
        raise click.ClickException(f"{preparation.message} [{preparation.code}]")
    click.echo(f"{'already prepared' if already else 'ready'}: {extract_path(permit)}", err=True)
    click.echo(json.dumps(preparation.manifest, indent=2, ensure_ascii=False))


def extract_path(permit: object) -> Path:
    from datalux.spe.prepare import extract_folder

    return extract_folder(permit)


@spe.command()
@click.argument("number")
def show(number: str) -> None:
    """Print the manifest of permit NUMBER's extract (its current version) as JSON."""
    setup_django()
    from datalux.spe.prepare import prepared_manifest

    permit = _permit(number)
    manifest = prepared_manifest(permit)
    if manifest is None:
        raise click.ClickException(
            f"permit {number} (version {permit.version}) has no extract yet: run "  # type: ignore[attr-defined]
            f"'datalux spe prepare {number}'"
        )
    click.echo(json.dumps(manifest.as_data(), indent=2, ensure_ascii=False))


@spe.command("run-local")
@click.argument("project_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="the folder of the dummy data (unzipped from the workspace's 'Download the dummy "
    "data'), or any folder with the extract's Parquet files",
)
@click.option("--action", "actions", multiple=True, help="run only this action (and its needs)")
@click.option(
    "--work",
    "work_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where each action's output folder and log go [default: PROJECT_DIR/.datalux-run]",
)
@click.option("--wall-seconds", type=int, default=1800, show_default=True)
@click.option("--memory-mb", type=int, default=4096, show_default=True)
def run_local(
    project_dir: Path,
    data_dir: Path,
    actions: tuple[str, ...],
    work_dir: Path | None,
    wall_seconds: int,
    memory_mb: int,
) -> None:
    """Run a project's actions on this machine in the same sandbox as the secure processing
    environment (no network, data read-only, only the output folder writable), and print each
    action's status. Exits 1 when any action failed."""
    import tempfile

    from datalux.spe import project as projects
    from datalux.spe import runner, sandbox
    from datalux.spe.runtimes import local_runtimes

    probe = sandbox.probe()
    if not probe.ok:
        raise click.ClickException(probe.reason)
    runtimes = local_runtimes()
    try:
        project = projects.load(project_dir, runtimes=runtimes)
        if actions:
            project.with_needs(actions)
    except projects.ProjectError as exc:
        raise click.ClickException(str(exc)) from None
    work = (work_dir or project_dir / ".datalux-run").resolve()
    work.mkdir(parents=True, exist_ok=True)
    limits = sandbox.Limits(
        cpu_seconds=wall_seconds,
        memory_bytes=memory_mb * 1024 * 1024,
        wall_seconds=wall_seconds,
        max_processes=64,
        output_bytes=1024 * 1024 * 1024,
    )
    failed = False

    def echo(run: runner.ProjectRun) -> None:
        nonlocal failed
        result = run.result
        if result is None:
            failed = True
            click.echo(f"{run.action}: not run (an action it needs failed)")
            return
        failed = failed or not result.succeeded
        line = f"{run.action}: {result.code}"
        if result.exit_code not in (None, 0):
            line += f" (exit code {result.exit_code})"
        click.echo(line)
        for path in result.unmatched:
            click.echo(f"  written but not declared in project.yaml: {path}")
        for pattern in result.missing:
            click.echo(f"  declared but not written: {pattern}")
        for output in result.outputs:
            click.echo(f"  {output['path']} ({output['sensitivity']}, {output['size']} bytes)")
        click.echo(f"  log: {run.log_path}")

    with tempfile.TemporaryDirectory(prefix="datalux-code-") as staging:
        code = runner.staged_code(project_dir, Path(staging) / "project")
        runner.run_project(
            project,
            code_dir=code,
            data_dir=data_dir.resolve(),
            work_dir=work,
            runtimes=runtimes,
            limits=limits,
            only=list(actions) or None,
            on_result=echo,
        )
    if failed:
        raise SystemExit(1)
