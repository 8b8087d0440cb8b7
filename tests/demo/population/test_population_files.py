"""Determinism, refusals before writing, and all-or-nothing replacement of the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from datalux.demo import population
from datalux.demo.population import writer
from tests.demo.population.conftest import file_digests


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = population.generate(tmp_path / "a", persons=1_500, seed=3, chunk_size=600)
    b = population.generate(tmp_path / "b", persons=1_500, seed=3, chunk_size=600)
    first, second = file_digests(tmp_path / "a"), file_digests(tmp_path / "b")
    assert first == second
    assert len(first) == len(a.tables) + len(a.truth_files) + 1  # + manifest
    assert [t.rows for t in a.tables] == [t.rows for t in b.tables]


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    population.generate(tmp_path / "a", persons=800, seed=1)
    population.generate(tmp_path / "b", persons=800, seed=2)
    register = "population_register/population_register.parquet"
    assert file_digests(tmp_path / "a")[register] != file_digests(tmp_path / "b")[register]


@pytest.mark.parametrize("persons", [0, -5])
def test_no_persons_is_refused_before_writing(tmp_path: Path, persons: int) -> None:
    fresh = tmp_path / "fresh"
    with pytest.raises(population.PopulationError, match="at least 1 person") as caught:
        population.generate(fresh, persons=persons, seed=1)
    assert isinstance(caught.value, ValueError)
    assert not fresh.exists()

    existing = tmp_path / "existing"
    population.generate(existing, persons=50, seed=1)
    before = file_digests(existing)
    with pytest.raises(population.PopulationError):
        population.generate(existing, persons=persons, seed=1)
    assert file_digests(existing) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"persons": "10", "seed": 1}, "whole number"),
        ({"persons": 2.5, "seed": 1}, "whole number"),
        ({"persons": True, "seed": 1}, "whole number"),
        ({"persons": 10, "seed": -1}, "seed"),
        ({"persons": 10, "seed": 1, "chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(population.PopulationError, match=message):
        population.generate(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_out_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("keep")
    with pytest.raises(population.PopulationError, match="not a folder"):
        population.generate(target, persons=10, seed=1)
    assert target.read_text() == "keep"


def _fail_on(monkeypatch: pytest.MonkeyPatch, file_name: str, after: int = 0) -> None:
    """Make the writer of one file raise on its (after+1)-th non-empty write."""
    original = writer.ParquetSink.write
    calls = {"n": 0}

    def write(self: writer.ParquetSink, table: object) -> None:
        if self.final.name == file_name:
            if calls["n"] >= after:
                raise OSError("disk full (simulated)")
            calls["n"] += 1
        original(self, table)  # type: ignore[arg-type]

    monkeypatch.setattr(writer.ParquetSink, "write", write)


def test_interrupted_write_keeps_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    population.generate(out, persons=900, seed=5, chunk_size=300)
    before = file_digests(out)
    _fail_on(monkeypatch, "prescriptions.parquet", after=1)  # fails in the second chunk
    with pytest.raises(OSError, match="simulated"):
        population.generate(out, persons=1_200, seed=6, chunk_size=300)
    assert file_digests(out) == before  # same files, same bytes, no temporary left over


def test_interrupted_first_run_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "deep" / "out"
    _fail_on(monkeypatch, "employment_spells.parquet")
    with pytest.raises(OSError, match="simulated"):
        population.generate(out, persons=500, seed=5)
    assert not (tmp_path / "deep").exists()


def test_error_while_drawing_keeps_the_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    population.generate(out, persons=300, seed=5)
    before = file_digests(out)
    from datalux.demo.population import generator

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug while drawing (simulated)")

    monkeypatch.setattr(generator, "employment_spells", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        population.generate(out, persons=300, seed=7)
    assert file_digests(out) == before


def test_a_second_run_replaces_the_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    population.generate(out, persons=300, seed=5)
    result = population.generate(out, persons=400, seed=5)
    assert result.table("population_register").rows == 400
    names = {p.name for p in out.rglob("*") if p.is_file()}
    assert not any(n.startswith(".") for n in names)
