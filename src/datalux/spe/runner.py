"""Run one action of a project in the sandbox and check what it wrote (no Django import).

The worker runs each job through :func:`run_action`; ``datalux spe run-local`` runs a whole
project through :func:`run_project` on a researcher's machine, with the same sandbox and the
same checks, so code that passes at home runs unchanged inside.

Inside the sandbox the action sees:

- ``/project``: the code version, read-only; the working directory;
- ``/project/output``: this job's own output folder, the only writable place besides a private
  ``/tmp``; the outputs of the actions it needs appear there read-only, by their paths;
- ``/data``: the prepared extract (or the dummy data), read-only;
- environment: ``DATALUX_DATA=/data``, ``DATALUX_OUTPUT=/project/output``, ``HOME=/tmp``.

After the run every file under ``output/`` must match one of the action's declared patterns
and every declared pattern must match a file; otherwise the job fails ``unmatched_outputs``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datalux.spe import sandbox
from datalux.spe.code import sha256_file
from datalux.spe.project import OUTPUT_DIR, Action, Project

PROJECT_MOUNT = "/project"
DATA_MOUNT = "/data"


@dataclass(frozen=True)
class ActionResult:
    code: str  # a JobCode value
    exit_code: int | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # written, declared by no pattern
    missing: list[str] = field(default_factory=list)  # declared patterns that matched nothing
    wall_seconds: float = 0.0
    limits: dict[str, Any] = field(default_factory=dict)
    detail: str = ""  # for the log only (never shown as an error message)

    @property
    def succeeded(self) -> bool:
        return self.code == "succeeded"


def run_action(
    action: Action,
    *,
    code_dir: Path,
    data_dir: Path,
    output_dir: Path,
    log_path: Path,
    runtime: sandbox.Runtime,
    limits: sandbox.Limits,
    inputs: Mapping[str, Path] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ActionResult:
    """Run ``action`` of the code in ``code_dir`` on ``data_dir``; ``output_dir`` (created,
    empty) receives what it writes; ``inputs`` maps ``output/...`` paths of needed actions'
    outputs to their files. Never raises for the code's own failures: the result says."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if any(output_dir.iterdir()):
        raise ValueError(f"{output_dir} is not empty: a job starts with an empty output folder")
    inputs = dict(inputs or {})
    binds = [(code_dir, PROJECT_MOUNT, True), (output_dir, f"{PROJECT_MOUNT}/{OUTPUT_DIR}", False),
             (data_dir, DATA_MOUNT, True)]  # fmt: skip
    for relative, host in sorted(inputs.items()):
        binds.append((host, f"{PROJECT_MOUNT}/{relative}", True))
    result = sandbox.run(
        sandbox.SandboxSpec(
            argv=(*runtime.command, action.script, *action.args),
            runtime=runtime,
            binds=tuple(binds),
            cwd=PROJECT_MOUNT,
            env={
                "DATALUX_DATA": DATA_MOUNT,
                "DATALUX_OUTPUT": f"{PROJECT_MOUNT}/{OUTPUT_DIR}",
                "MPLBACKEND": "Agg",
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            limits=limits,
            log_path=log_path,
            output_dir=output_dir,
            cancelled=cancelled,
        )
    )
    _remove_mount_points(output_dir, inputs)
    base: dict[str, Any] = {
        "exit_code": result.exit_code,
        "wall_seconds": result.wall_seconds,
        "limits": {**limits.as_data(), "enforced": list(result.limits_enforced)},
        "detail": result.detail,
    }
    if result.status != sandbox.Status.SUCCEEDED:
        return ActionResult(code=_CODES.get(result.status, "internal_error"), **base)
    outputs, unmatched, missing = check_outputs(action, output_dir)
    code = "succeeded" if not unmatched and not missing else "unmatched_outputs"
    return ActionResult(code=code, outputs=outputs, unmatched=unmatched, missing=missing, **base)


_CODES = {
    sandbox.Status.FAILED: "nonzero_exit",
    sandbox.Status.OUT_OF_MEMORY: "out_of_memory",
    sandbox.Status.TIMED_OUT: "timed_out",
    sandbox.Status.OUTPUT_TOO_LARGE: "output_too_large",
    sandbox.Status.SANDBOX_UNAVAILABLE: "sandbox_unavailable",
    sandbox.Status.INTERNAL_ERROR: "internal_error",
    sandbox.Status.CANCELLED: "cancelled",
}


def check_outputs(
    action: Action, output_dir: Path
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(declared outputs found, files matching no pattern, patterns matching no file)."""
    outputs: list[dict[str, Any]] = []
    unmatched: list[str] = []
    used: set[str] = set()
    for path in sorted(p for p in output_dir.rglob("*") if p.is_file() or p.is_symlink()):
        relative = f"{OUTPUT_DIR}/{path.relative_to(output_dir).as_posix()}"
        pattern = action.output_for(relative)
        if pattern is None or path.is_symlink():
            unmatched.append(relative)
            continue
        used.add(pattern.name)
        outputs.append(
            {
                "path": relative,
                "name": pattern.name,
                "sensitivity": pattern.sensitivity.value,
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    missing = [o.pattern for o in action.outputs if o.name not in used]
    return outputs, unmatched, missing


def _remove_mount_points(output_dir: Path, inputs: Mapping[str, Path]) -> None:
    """bubblewrap creates an empty file (and its folders) in the output folder for each input
    bound into it; remove them so that only what the action wrote remains."""
    for relative in inputs:
        placeholder = output_dir / Path(relative).relative_to(OUTPUT_DIR)
        if (
            placeholder.is_file()
            and not placeholder.is_symlink()
            and placeholder.stat().st_size == 0
        ):
            placeholder.unlink()
        folder = placeholder.parent
        while folder != output_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


@dataclass(frozen=True)
class ProjectRun:
    action: str
    result: ActionResult | None  # None: not run, a needed action failed
    output_dir: Path
    log_path: Path


def run_project(
    project: Project,
    *,
    code_dir: Path,
    data_dir: Path,
    work_dir: Path,
    runtimes: Mapping[str, sandbox.Runtime],
    limits: sandbox.Limits,
    only: list[str] | None = None,
    on_result: Callable[[ProjectRun], None] | None = None,
) -> list[ProjectRun]:
    """Run the project's actions (or ``only`` those and what they need) in order, each in the
    sandbox with its own output folder under ``work_dir/<action>/``."""
    wanted = project.with_needs(only) if only else list(project.actions)
    done: dict[str, ProjectRun] = {}
    for action in wanted:
        folder = work_dir / action.name
        if folder.exists():
            shutil.rmtree(folder)
        output_dir, log_path = folder / OUTPUT_DIR, folder / "log.txt"
        needed = [done[n] for n in action.needs]
        if any(n.result is None or not n.result.succeeded for n in needed):
            run = ProjectRun(action.name, None, output_dir, log_path)
        else:
            inputs = {
                o["path"]: n.output_dir / Path(o["path"]).relative_to(OUTPUT_DIR)
                for n in needed
                for o in (n.result.outputs if n.result else [])
            }
            result = run_action(
                action,
                code_dir=code_dir,
                data_dir=data_dir,
                output_dir=output_dir,
                log_path=log_path,
                runtime=runtimes[action.runtime],
                limits=limits,
                inputs=inputs,
            )
            run = ProjectRun(action.name, result, output_dir, log_path)
        done[action.name] = run
        if on_result is not None:
            on_result(run)
    return list(done.values())


def staged_code(source: Path, dest: Path) -> Path:
    """A copy of a project folder to run from (run-local): the folders a job must not see are
    left out (``output/``, VCS, caches) and an empty ``output/`` is the mount point."""
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".ipynb_checkpoints")

    def _ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(ignore(folder, names))
        if Path(folder).resolve() == source.resolve() and OUTPUT_DIR in names:
            skipped.add(OUTPUT_DIR)
        return skipped

    shutil.copytree(source, dest, ignore=_ignore, symlinks=True)
    (dest / OUTPUT_DIR).mkdir(exist_ok=True)
    return dest
