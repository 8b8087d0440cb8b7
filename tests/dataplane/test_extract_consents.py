"""A table with a consent table keeps only the persons in it (a semi-join on the national
number), after the opt-out anti-join: a permit on consent includes nobody else, and never a
person who objected. Reuses the plan and source of test_extract."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.dataplane.test_extract import PROJECT, _allowed, _plan, _prepare, _read, _rows, source

from datalux.dataplane.engine import Backend
from datalux.dataplane.extract import PERSON_ID, ExtractError, Manifest
from datalux.privacy.keys import MasterKey
from datalux.privacy.pseudonyms import pseudonym

__all__ = ["source"]
MASTER = MasterKey(b"k" * 32)


def _numbers_of(rows: list[dict]) -> list[str]:
    keys = MASTER.domain_keys(PROJECT)
    by_pseudonym = {pseudonym(r["national_id"], keys): r["national_id"] for r in _rows()}
    return [by_pseudonym[r[PERSON_ID]] for r in rows]


def _with_consents(source: Path, consents: Path | None, **plan: object) -> object:
    base = _plan(source)
    return _plan(source, tables=(replace(base.tables[0], consents=consents),), **plan)


def _table(path: Path, numbers: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"national_id": pa.array(numbers, pa.string())}), path)
    return path


def test_only_persons_with_consent_are_kept_and_an_opt_out_still_wins(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    allowed = _allowed()
    numbers = _numbers_of(allowed)
    consenting = set(numbers[:5])
    opted_out = {numbers[0]}
    consents = _table(tmp_path / "ttp" / "consents.parquet", sorted(consenting | {"x"}))
    opt_outs = _table(tmp_path / "ttp" / "opt_outs.parquet", sorted(opted_out))
    manifest: Manifest = _prepare(
        backend, _with_consents(source, consents, opt_outs=opt_outs), tmp_path / "extract"
    )
    rows = _read(tmp_path / "extract")
    assert set(_numbers_of(rows)) == consenting - opted_out
    assert rows == [r for r in _allowed(opted_out=opted_out) if _numbers_of([r])[0] in consenting]
    assert manifest.tables[0].consented_only and manifest.tables[0].opted_out_excluded


def test_an_empty_consent_table_keeps_nobody(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    consents = _table(tmp_path / "ttp" / "consents.parquet", [])
    _prepare(backend, _with_consents(source, consents), tmp_path / "extract")
    assert _read(tmp_path / "extract") == []


def test_without_a_consent_table_every_permitted_person_is_kept(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    manifest = _prepare(backend, _with_consents(source, None), tmp_path / "extract")
    assert _read(tmp_path / "extract") == _allowed() and not manifest.tables[0].consented_only


def test_consents_cannot_be_applied_to_a_table_without_national_number(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    consents = _table(tmp_path / "ttp" / "consents.parquet", ["x"])
    base = replace(_plan(source).tables[0], national_id=None, consents=consents)
    with pytest.raises(ExtractError, match="rests on the persons' consent") as refused:
        _prepare(backend, _plan(source, tables=(base,)), tmp_path / "extract")
    assert refused.value.code == "consents-inapplicable"
    assert not (tmp_path / "extract").exists()


def test_an_unreadable_consent_table_is_refused(
    backend: Backend, source: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "ttp" / "missing.parquet"
    with pytest.raises(ExtractError, match="the consent table cannot be read") as refused:
        _prepare(backend, _with_consents(source, missing), tmp_path / "extract")
    assert refused.value.code == "consents-unreadable"
