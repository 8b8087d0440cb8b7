"""The operator's files in deploy/ stay true: real commands, known variables, one uv version."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from datalux.cli import main
from datalux.core.config import load
from datalux.core.env import KNOWN_VARIABLES, Env

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def test_the_service_environment_is_a_valid_production_configuration() -> None:
    env = _env_file(DEPLOY / "datalux.env.example")
    assert set(env) <= set(KNOWN_VARIABLES), set(env) - set(KNOWN_VARIABLES)
    config = load(Env(env), ROOT)
    assert config.production and config.behind_proxy
    assert config.database["ENGINE"] == "django.db.backends.postgresql"


def test_every_setting_is_in_the_deployment_guide() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text() + (ROOT / ".env.example").read_text()
    assert [name for name in KNOWN_VARIABLES if name not in guide] == []


def _datalux_commands() -> list[tuple[str, list[str]]]:
    """Every ``datalux ...`` command line written in the deploy files."""
    found: list[tuple[str, list[str]]] = []
    for path in sorted(DEPLOY.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text()
        for match in re.finditer(r'\[("datalux",[^\]]*)\]', text):  # exec form (JSON list)
            found.append((path.name, [shlex.split(a)[0] for a in match.group(1).split(",")][1:]))
        for match in re.finditer(r"/opt/datalux/bin/datalux ([^'\n]*)", text):
            args = shlex.split(match.group(1))
            # A shell expansion ("$(date ...)", "$(ls ...)") stands for one argument.
            cut = next((i for i, a in enumerate(args) if "$" in a), None)
            found.append((path.name, args if cut is None else [*args[:cut], "PLACEHOLDER"]))
    return found


def _resolve(args: list[str]) -> click.Command:
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group) and rest:
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"no command {rest[0]!r} in `datalux {' '.join(args)}`"
        command, rest = sub, rest[1:]
    if rest and not isinstance(command, click.Group):
        # Parse the options for real (wrong names or values fail), without running anything.
        command.make_context(command.name or "", rest)
    return command


def test_deploy_files_name_real_commands_and_options() -> None:
    commands = _datalux_commands()
    files = {name for name, _ in commands}
    assert {"Containerfile", "compose.yaml", "datalux.service", "datalux-backup.service"} <= files
    for name, args in commands:
        try:
            _resolve(args)
        except click.UsageError as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{name}: `datalux {' '.join(args)}`: {exc}")


def test_one_uv_version_everywhere() -> None:
    makefile = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    containerfile = re.search(
        r"^ARG UV_VERSION=(\S+)$", (DEPLOY / "Containerfile").read_text(), re.M
    )
    guide = re.search(r'"uv==([^"]+)"', (ROOT / "docs" / "deploy.md").read_text())
    assert makefile and containerfile and guide
    assert makefile.group(1) == containerfile.group(1) == guide.group(1)
