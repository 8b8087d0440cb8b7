"""``datalux catalogue export`` and ``datalux catalogue harvest``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rdflib import RDF

from datalux.catalogue import dcat
from datalux.catalogue.harvest import register_source
from datalux.catalogue.models import Dataset
from datalux.cli import main
from tests.catalogue.dcat_fixtures import build_demo
from tests.catalogue.test_harvest import PREFIXES, RIVERS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["turtle", "xml", "json-ld"])
def test_export_prints_the_whole_catalogue(fmt: str) -> None:
    demo = build_demo()
    result = CliRunner().invoke(main, ["catalogue", "export", "--format", fmt])
    assert result.exit_code == 0, result.output
    graph = dcat.parse(result.stdout_bytes, fmt)
    datasets = {str(s) for s in graph.subjects(RDF.type, dcat.DCAT.Dataset)}
    assert datasets == {demo.open_data.uri, demo.protected.uri, demo.harvested.uri}


def test_export_to_a_file_replaces_it_whole(tmp_path: Path) -> None:
    build_demo()
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "catalogue.ttl"
    target.write_text("old content")
    result = CliRunner().invoke(main, ["catalogue", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert len(dcat.parse(target.read_bytes(), "turtle")) > 100
    assert [p.name for p in folder.iterdir()] == ["catalogue.ttl"]  # no temporary left
    assert target.stat().st_mode & 0o044  # readable by others, like any exported file
    missing = CliRunner().invoke(
        main, ["catalogue", "export", "--output", str(tmp_path / "no" / "x")]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    bad = CliRunner().invoke(main, ["catalogue", "export", "--format", "csv"])
    assert bad.exit_code == 2


def test_harvest_by_name_and_clear_failures(
    tmp_path: Path, make_member: Any, settings: Any
) -> None:
    settings.DATALUX_HARVEST_FILE_DIR = tmp_path  # the only folder local files come from
    build_demo()
    path = tmp_path / "remote.ttl"
    path.write_text(PREFIXES + RIVERS)
    holder = make_member("steward").memberships.get().organisation
    register_source(name="remote", url=str(path), publisher=holder)
    ok = CliRunner().invoke(main, ["catalogue", "harvest", "remote"])
    assert ok.exit_code == 0, ok.output
    assert "1 created" in ok.output
    assert Dataset.objects.filter(remote_id__endswith="/rivers").count() == 1
    by_url = CliRunner().invoke(main, ["catalogue", "harvest", str(path)])
    assert by_url.exit_code == 0 and "1 unchanged" in by_url.output
    unknown = CliRunner().invoke(main, ["catalogue", "harvest", "nope"])
    assert unknown.exit_code == 1
    assert "no harvest source named 'nope'" in unknown.output and "remote" in unknown.output
    path.write_text(PREFIXES + "<a> <b> .")
    broken = CliRunner().invoke(main, ["catalogue", "harvest", "remote"])
    assert broken.exit_code == 1
    assert "not valid Turtle at line 7" in broken.output and "Traceback" not in broken.output
