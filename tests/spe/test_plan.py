"""From a decided permit to its prepared extract: the plan says exactly what the permit says.

The world's permit grants ``age`` and ``diagnosis`` of the hospital stays for 2020-2024, adults
only. The extract is prepared on DuckDB and read back with pyarrow.
"""

from __future__ import annotations

import hmac
import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from datalux.access import actions
from datalux.access.models import Permit
from datalux.catalogue.models import DatasetVersion
from datalux.dataplane.engine import connect
from datalux.dataplane.extract import PERSON_ID, ExtractError, prepare_extract, table_key
from datalux.holdings.models import DataFile
from datalux.privacy.keys import MasterKey
from datalux.spe.plan import plan_for, project_domain, table_name
from tests.access.world import World
from tests.factories.catalogue import VariableFactory

pytestmark = pytest.mark.django_db
MASTER = MasterKey(b"m" * 32)


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "national_id": f"1980010{i:06d}",
            "age": 10 + i % 70,
            "diagnosis": ["I50.0", "S72.0"][i % 2],
            "commune": "Esch",
            "admission_date": date(2018 + i % 8, 1 + i % 12, 1),
        }
        for i in range(200)
    ]


def _store(world: World) -> Path:
    VariableFactory(dataset=world.stays, name="admission_date", type="date", period=True)
    relative = "holders/health/stays-v1.parquet"
    path = Path(settings.DATALUX_STORAGE) / relative
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(_rows()), path)
    data_file = DataFile.objects.create(
        organisation=world.holder, table="stays", title="stays", relative_path=relative,
        rows=200, sha256="0" * 64, size_bytes=path.stat().st_size,
    )  # fmt: skip
    DatasetVersion.objects.create(dataset=world.stays, number=1, data_file=data_file)
    return path


def _permit(world: World) -> Permit:
    return world.approved().permit  # type: ignore[no-any-return]


def test_the_permit_is_prepared_with_exactly_its_variables_rows_and_period(
    world: World, tmp_path: Path
) -> None:
    _store(world)
    permit = _permit(world)
    plan = plan_for(permit)
    assert plan.domain == project_domain(permit)
    [table] = plan.tables
    assert table.variables == ("age", "diagnosis") and table.national_id == "national_id"
    with connect("duckdb") as backend:
        prepare_extract(
            backend, plan, tmp_path / "extract", hmac_key=MASTER.domain_keys(plan.domain).hmac_key
        )
    written = pq.read_table(tmp_path / "extract" / f"{table_name(world.stays)}.parquet")
    assert written.column_names == [PERSON_ID, "age", "diagnosis"]
    # the permit allows no linkage: the table's pseudonyms have a key of their own
    assert not permit.linkage and not plan.linked
    key = table_key(MASTER.domain_keys(plan.domain).hmac_key, plan, table)
    assert key != MASTER.domain_keys(plan.domain).hmac_key
    expected = sorted(
        (hmac.new(key, r["national_id"].encode(), "sha256").hexdigest(), r["age"], r["diagnosis"])
        for r in _rows()
        if r["age"] >= 18 and date(2020, 1, 1) <= r["admission_date"] <= date(2024, 12, 31)
    )
    got = sorted(zip(*(written.column(c).to_pylist() for c in written.column_names), strict=True))
    assert got == expected and 0 < len(got) < 200


def test_a_permit_that_is_not_active_is_not_prepared(world: World) -> None:
    _store(world)
    permit = _permit(world)
    actions.revoke_permit(permit=permit, by=world.decider, reason="Breach of the conditions.")
    permit.refresh_from_db()
    refusal = re.escape(f"permit {permit.number} is Revoked: nothing")
    with pytest.raises(ExtractError, match=refusal):
        plan_for(permit)


def test_a_dataset_without_stored_data_is_named(world: World) -> None:
    VariableFactory(dataset=world.stays, name="admission_date", type="date", period=True)
    refusal = re.escape(f"{world.stays.pid} has no stored data version")
    with pytest.raises(ExtractError, match=refusal):
        plan_for(_permit(world))


def test_a_period_needs_the_date_it_applies_to(world: World) -> None:
    _store(world)
    world.stays.variables.filter(name="admission_date").update(period=False)
    with pytest.raises(ExtractError, match="marks no date the period applies to"):
        plan_for(_permit(world))


def test_a_variable_gone_from_the_dictionary_is_named(world: World) -> None:
    _store(world)
    permit = _permit(world)
    world.stays.variables.filter(name="diagnosis").delete()
    with pytest.raises(ExtractError, match="diagnosis no longer in the data dictionary"):
        plan_for(permit)
