"""A research project's declaration, ``project.yaml``: the actions to run and what each makes.

No Django import: ``datalux spe run-local`` reads the same file on a researcher's machine.

    version: 1
    actions:
      cohort:
        run: python analysis/cohort.py
        outputs:
          highly_sensitive:
            cohort: output/cohort.parquet
      describe:
        run: python analysis/describe.py --by canton
        needs: [cohort]
        outputs:
          moderately_sensitive:
            table: output/counts.csv
            figures: output/figures/*.png

``run`` is a runtime name (one of the operator's allowed runtimes, e.g. ``python``) followed
by a script of the project and its arguments. ``needs`` names earlier actions: their outputs
are visible, read-only, under ``output/``. ``outputs`` are file patterns under ``output/``
(``*`` within a name, ``**`` across folders) at one of two levels: ``highly_sensitive`` never
leaves the workspace; ``moderately_sensitive`` may be proposed for release after output
checking. A job whose action writes a file that matches no pattern fails.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

PROJECT_FILE = "project.yaml"
OUTPUT_DIR = "output"
_ACTION_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_OUTPUT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
MAX_ACTIONS = 100


class Sensitivity(StrEnum):
    HIGHLY_SENSITIVE = "highly_sensitive"  # stays in the workspace
    MODERATELY_SENSITIVE = "moderately_sensitive"  # may be proposed for release


class ProjectError(ValueError):
    """``project.yaml`` cannot be used: the message names the place and what to fix."""


@dataclass(frozen=True)
class OutputPattern:
    name: str
    pattern: str  # relative to the project root, under output/
    sensitivity: Sensitivity

    def matches(self, relative: str) -> bool:
        return glob_match(self.pattern, relative)


def glob_match(pattern: str, relative: str) -> bool:
    """Whether ``relative`` matches ``pattern``: ``*``, ``?`` and ``[...]`` within one name,
    ``**`` across any number of folders (Python 3.11 has no ``PurePath.full_match``)."""
    return _match(PurePosixPath(pattern).parts, PurePosixPath(relative).parts)


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match(rest, parts[1:])


@dataclass(frozen=True)
class Action:
    name: str
    runtime: str
    script: str
    args: tuple[str, ...]
    needs: tuple[str, ...]
    outputs: tuple[OutputPattern, ...]

    def output_for(self, relative: str) -> OutputPattern | None:
        """The declared pattern ``relative`` (a path under the project root) matches."""
        return next((o for o in self.outputs if o.matches(relative)), None)


@dataclass(frozen=True)
class Project:
    actions: tuple[Action, ...]  # in an order where every action follows its needs

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        known = ", ".join(a.name for a in self.actions)
        raise ProjectError(f"no action {name!r} in project.yaml (actions: {known})")

    def with_needs(self, names: Iterable[str]) -> list[Action]:
        """The actions ``names`` and everything they need, in running order."""
        wanted: set[str] = set()
        stack = list(names)
        while stack:
            action = self.action(stack.pop())
            if action.name not in wanted:
                wanted.add(action.name)
                stack.extend(action.needs)
        return [a for a in self.actions if a.name in wanted]


def load(folder: Path, *, runtimes: Iterable[str] | None = None) -> Project:
    """Read and check ``folder/project.yaml``; ``runtimes``: the allowed runtime names (None:
    any). Scripts must exist in ``folder``."""
    path = folder / PROJECT_FILE
    if not path.is_file():
        raise ProjectError(f"no {PROJECT_FILE} at the top of the project: add one")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{PROJECT_FILE} is not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProjectError(f"{PROJECT_FILE} is not valid YAML{where}") from exc
    return parse(data, folder=folder, runtimes=runtimes)


def parse(
    data: Any, *, folder: Path | None = None, runtimes: Iterable[str] | None = None
) -> Project:
    """Check a loaded ``project.yaml``; ``folder`` (when given) must hold each script."""
    if not isinstance(data, Mapping):
        raise ProjectError(f"{PROJECT_FILE} must be a mapping with 'version' and 'actions'")
    unknown = set(data) - {"version", "actions"}
    if unknown:
        raise ProjectError(f"{PROJECT_FILE}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    if data.get("version") != 1:
        raise ProjectError(f"{PROJECT_FILE}: 'version' must be 1")
    raw_actions = data.get("actions")
    if not isinstance(raw_actions, Mapping) or not raw_actions:
        raise ProjectError(f"{PROJECT_FILE}: 'actions' must map action names to actions")
    if len(raw_actions) > MAX_ACTIONS:
        raise ProjectError(f"{PROJECT_FILE}: at most {MAX_ACTIONS} actions")
    allowed = None if runtimes is None else set(runtimes)
    actions = {
        str(name): _action(str(name), spec, folder, allowed) for name, spec in raw_actions.items()
    }
    for action in actions.values():
        for need in action.needs:
            if need not in actions:
                raise ProjectError(f"action {action.name!r}: needs {need!r}, which is not declared")
    _check_outputs_overlap(actions.values())
    return Project(actions=tuple(_ordered(actions)))


def _action(name: str, spec: Any, folder: Path | None, allowed: set[str] | None) -> Action:
    where = f"action {name!r}"
    if not _ACTION_NAME.match(name):
        raise ProjectError(
            f"{where}: use lower-case letters, digits, '-' and '_' (starting with a letter)"
        )
    if not isinstance(spec, Mapping):
        raise ProjectError(f"{where}: must be a mapping with 'run' and 'outputs'")
    unknown = set(spec) - {"run", "needs", "outputs"}
    if unknown:
        raise ProjectError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    run = spec.get("run")
    if not isinstance(run, str) or not run.strip():
        raise ProjectError(f"{where}: 'run' must be a command such as 'python analysis/x.py'")
    try:
        words = shlex.split(run)
    except ValueError as exc:
        raise ProjectError(f"{where}: 'run' has unbalanced quotes") from exc
    if len(words) < 2:
        raise ProjectError(f"{where}: 'run' needs a runtime and a script, e.g. 'python x.py'")
    runtime, script, *args = words
    if allowed is not None and runtime not in allowed:
        raise ProjectError(
            f"{where}: runtime {runtime!r} is not allowed here (allowed: "
            f"{', '.join(sorted(allowed)) or 'none'})"
        )
    script = _relative(script, f"{where}: the script")
    if folder is not None and not (folder / script).is_file():
        raise ProjectError(f"{where}: the script {script!r} is not in the project")
    needs = spec.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise ProjectError(f"{where}: 'needs' must be a list of action names")
    return Action(
        name=name,
        runtime=runtime,
        script=script,
        args=tuple(args),
        needs=tuple(dict.fromkeys(needs)),
        outputs=_outputs(where, spec.get("outputs")),
    )


def _outputs(where: str, raw: Any) -> tuple[OutputPattern, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ProjectError(
            f"{where}: 'outputs' must list files under highly_sensitive or moderately_sensitive"
        )
    patterns = []
    for level, entries in raw.items():
        try:
            sensitivity = Sensitivity(level)
        except ValueError:
            raise ProjectError(
                f"{where}: unknown output level {level!r} (use highly_sensitive or "
                "moderately_sensitive)"
            ) from None
        if not isinstance(entries, Mapping) or not entries:
            raise ProjectError(f"{where}: {level} must map output names to file patterns")
        for out_name, pattern in entries.items():
            if not isinstance(out_name, str) or not _OUTPUT_NAME.match(out_name):
                raise ProjectError(f"{where}: output name {out_name!r}: use letters, digits, _ -")
            if not isinstance(pattern, str):
                raise ProjectError(f"{where}: output {out_name!r} must be a file pattern")
            pattern = _relative(pattern, f"{where}: output {out_name!r}")
            if (
                PurePosixPath(pattern).parts[0] != OUTPUT_DIR
                or len(PurePosixPath(pattern).parts) < 2
            ):
                raise ProjectError(
                    f"{where}: output {out_name!r} must lie under {OUTPUT_DIR}/, e.g. "
                    f"{OUTPUT_DIR}/table.csv"
                )
            patterns.append(OutputPattern(out_name, pattern, sensitivity))
    return tuple(patterns)


def _relative(value: str, where: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value or not path.parts:
        raise ProjectError(f"{where} must be a relative path inside the project: {value!r}")
    return str(path)


def _check_outputs_overlap(actions: Iterable[Action]) -> None:
    """Two actions may not declare the same literal file: which one made it would be unclear."""
    owner: dict[str, str] = {}
    for action in actions:
        for output in action.outputs:
            if any(c in output.pattern for c in "*?["):
                continue
            if output.pattern in owner and owner[output.pattern] != action.name:
                raise ProjectError(
                    f"actions {owner[output.pattern]!r} and {action.name!r} both declare "
                    f"{output.pattern!r}: give each file one action"
                )
            owner[output.pattern] = action.name


def _ordered(actions: Mapping[str, Action]) -> list[Action]:
    ordered: dict[str, Action] = {}

    def visit(action: Action, path: tuple[str, ...]) -> None:
        if action.name in ordered:
            return
        if action.name in path:
            cycle = " → ".join((*path[path.index(action.name) :], action.name))
            raise ProjectError(f"the actions need each other in a circle: {cycle}")
        for need in action.needs:
            visit(actions[need], (*path, action.name))
        ordered[action.name] = action

    for action in actions.values():
        visit(action, ())
    return list(ordered.values())
