"""A table without national numbers (the school register) linked by the trusted third party to
one that has them (the population register), on the demo's synthetic population: the same
person gets the same pseudonym in both, the truth table measures the linkage, nothing of the
identifiers reaches the extract, and a rerun writes the same files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from datalux.dataplane.engine import connect
from datalux.dataplane.extract import (
    ExtractPlan,
    LinkPlan,
    Manifest,
    TablePlan,
    prepare_extract,
)
from datalux.dataplane.hashing import hmac_sha256_hex
from datalux.demo.population.generator import GenerationResult, generate

KEY = b"k" * 32
COMPARED = (
    ("given_name", "given_name", "given_name"),
    ("surname", "surname", "surname"),
    ("birth_date", "birth_date", "date"),
    ("sex", "sex", "categorical"),
    ("postcode", "postcode", "postcode"),
    ("commune", "commune", "city"),
)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> GenerationResult:
    return generate(tmp_path_factory.mktemp("population"), persons=3000, seed=11)


def _plan(population: GenerationResult, *, linked: bool = True) -> ExtractPlan:
    register = population.table("population_register")
    school = population.table("school_enrolments")
    identifiers = ("given_name", "surname", "street_address", "birth_date", "postcode")
    return ExtractPlan(
        tables=(
            TablePlan(
                name="register", source=register.path, variables=("sex", "commune"),
                national_id="national_id",
                direct_identifiers=("given_name", "surname", "street_address"),
            ),
            TablePlan(
                name="school", source=school.path, variables=("level", "school"),
                direct_identifiers=identifiers,
                link=LinkPlan(
                    partner=register.path, partner_name="register",
                    partner_national_id="national_id", record_id="record_id",
                    columns=COMPARED,
                ),
            ),
        ),
        domain="project:test",
        linked=linked,
    )  # fmt: skip


def test_the_school_register_is_linked_to_the_population_register(
    population: GenerationResult, tmp_path: Path
) -> None:
    steps: list[tuple[str, str]] = []
    with connect("duckdb") as backend:
        manifest = prepare_extract(
            backend, _plan(population), tmp_path / "v1", hmac_key=KEY,
            progress=lambda step, table: steps.append((step, table)),
        )  # fmt: skip
    assert ("linking", "school") in steps and ("linking", "register") not in steps
    school = pq.read_table(tmp_path / "v1" / "school.parquet")
    register = pq.read_table(tmp_path / "v1" / "register.parquet")
    assert school.column_names == ["person_id", "level", "school"]
    [summary] = [t.linkage for t in manifest.tables if t.name == "school"]
    assert summary["method"] == "probabilistic" and summary["partner"] == "register"
    assert summary["records"] == school.num_rows == summary["linked"] + summary["unlinked"]

    # measured against the generator's truth (record -> national number)
    truth = pq.read_table(population.table("school_enrolments").truth_path)
    source = pq.read_table(population.table("school_enrolments").path)
    expected = pseudonyms(truth.column("national_id").to_pylist(), tmp_path)
    by_record = dict(zip(truth.column("record_id").to_pylist(), expected, strict=True))
    written = set(school.column("person_id").drop_null().to_pylist())
    in_register = set(register.column("person_id").to_pylist())
    assert written <= in_register  # every linked pupil is a person of the register table
    true_ids = {by_record[r] for r in source.column("record_id").to_pylist()} & in_register
    correct = written & true_ids
    precision, recall = len(correct) / len(written), len(correct) / len(true_ids)
    assert precision > 0.97 and recall > 0.9, (precision, recall)

    # the report is kept with the extract and holds counts, not values
    report = (tmp_path / "v1" / summary["report"]).read_text()
    for value in source.column("surname").drop_null().to_pylist()[:50]:
        assert f'"{value}"' not in report
    assert Manifest.read(tmp_path / "v1").tables[1].linkage == summary
    # no national number of the register's source is a pseudonym, nothing is left beside it
    assert not set(truth.column("national_id").to_pylist()) & written
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    with connect("duckdb") as backend:
        again = prepare_extract(backend, _plan(population), tmp_path / "v2", hmac_key=KEY)
    assert [t.sha256 for t in again.tables] == [t.sha256 for t in manifest.tables]


def pseudonyms(values: list[str], tmp_path: Path) -> list[str]:
    """The pseudonyms the extract gives these national numbers (computed by the engine)."""
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"nid": pa.array(values, pa.string())}), path)
    with connect("duckdb") as backend:
        table = backend.register_parquet("ids", path)
        out = backend.to_arrow(table.select(p=hmac_sha256_hex(table["nid"], KEY)))
    path.unlink()
    return out.column("p").to_pylist()  # type: ignore[no-any-return]


def test_without_linkage_the_tables_cannot_be_joined(
    population: GenerationResult, tmp_path: Path
) -> None:
    plan = _plan(population, linked=False)
    plan = ExtractPlan(tables=plan.tables[:1], domain=plan.domain, linked=False)
    with connect("duckdb") as backend:
        own = prepare_extract(backend, plan, tmp_path / "own", hmac_key=KEY)
        prepare_extract(
            backend, ExtractPlan(tables=plan.tables, domain=plan.domain), tmp_path / "shared",
            hmac_key=KEY,
        )  # fmt: skip
    a = pq.read_table(tmp_path / "own" / "register.parquet").column("person_id")
    b = pq.read_table(tmp_path / "shared" / "register.parquet").column("person_id")
    assert not set(a.to_pylist()) & set(b.to_pylist())  # another key per table
    assert own.tables[0].linkage == {} and pc.count(a).as_py() == len(a)


KILLED = r"""
import sys, time
from pathlib import Path
from datalux.dataplane.engine import connect
from datalux.dataplane.extract import ExtractPlan, LinkPlan, TablePlan, prepare_extract

register, school, out, marker = (Path(a) for a in sys.argv[1:5])
compared = tuple(tuple(c.split(":")) for c in sys.argv[5].split(","))
plan = ExtractPlan(tables=(
    TablePlan(name="register", source=register, variables=("sex",), national_id="national_id"),
    TablePlan(name="school", source=school, variables=("level",),
              direct_identifiers=("given_name", "surname", "birth_date", "postcode"),
              link=LinkPlan(partner=register, partner_name="register",
                            partner_national_id="national_id", record_id="record_id",
                            columns=compared)),
), domain="project:test")

def progress(step, table):
    if (step, table) == ("pseudonymising", "school"):  # linked: the mapping is on disk
        marker.write_text(step)
        time.sleep(120)

with connect("duckdb") as backend:
    prepare_extract(backend, plan, out, hmac_key=b"k" * 32, progress=progress)
"""


def test_a_worker_killed_after_linking_leaves_nothing_visible(
    population: GenerationResult, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    register = population.table("population_register").path
    school = population.table("school_enrolments").path
    out, marker = tmp_path / "spe" / "v1", tmp_path / "reached"
    compared = ",".join(":".join(c) for c in COMPARED[:4])
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLED, str(register), str(school), str(out), str(marker),
         compared], env={**os.environ},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert not out.exists()  # nothing visible
    left = sorted(p.name for p in out.parent.iterdir())
    # the staging folder and the private linkage folder (national numbers), both hidden and
    # both matched by the cleanup of the next run (spe.prepare: ".v1.partial-*")
    assert len(left) == 2 and all(name.startswith(".v1.partial-") for name in left), left
    [linking] = [p for p in out.parent.iterdir() if p.name.endswith("-linking")]
    assert linking.stat().st_mode & 0o077 == 0  # readable by the TTP's process owner only
