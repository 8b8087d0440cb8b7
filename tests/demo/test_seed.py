"""The demo seed: organisations, users with roles, holder files; idempotent; bad sizes refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from django.test import Client

from datalux.accounts.models import Membership, Organisation, User
from datalux.accounts.roles import ROLES, OrganisationKind
from datalux.audit.kinds import EventKind
from datalux.audit.log import verify
from datalux.audit.models import AuditEvent
from datalux.catalogue.models import Dataset
from datalux.cli import main
from datalux.demo.seed import DEMO_PASSWORD, DemoError, seed_demo
from datalux.holdings.models import DataFile
from datalux.privacy.national_id import is_valid_national_id

pytestmark = pytest.mark.django_db


def test_seed_creates_every_role_and_registers_holder_files(_storage_root: Path) -> None:
    outcome = seed_demo(persons=300, seed=7, echo=lambda _: None)
    assert outcome.created
    assert set(Membership.objects.values_list("role", flat=True)) == set(ROLES)
    holders = Organisation.objects.filter(kind=OrganisationKind.DATA_HOLDER)
    assert holders.count() >= 4
    files = DataFile.objects.all()
    assert {f.organisation for f in files} == set(holders)
    for data_file in files:
        assert data_file.path.is_file()
        assert data_file.path.is_relative_to(_storage_root)
        assert pq.read_metadata(data_file.path).num_rows == data_file.rows
    register = Dataset.objects.get(slug="population_register").versions.get().data_file
    ids = pq.read_table(register.path, columns=["national_id"]).column(0).to_pylist()
    assert len(ids) == 300 and all(is_valid_national_id(i) for i in ids)
    assert AuditEvent.objects.filter(kind=EventKind.DATAFILE_REGISTERED).count() == files.count()
    assert AuditEvent.objects.filter(kind=EventKind.DEMO_SEEDED).count() == 1
    assert verify().ok


def test_seed_again_reuses_the_data_and_refuses_another_size() -> None:
    seed_demo(persons=200, seed=3, echo=lambda _: None)
    files, events = DataFile.objects.count(), AuditEvent.objects.count()
    again = seed_demo(echo=lambda _: None)
    assert not again.created and (again.persons, again.seed) == (200, 3)
    assert DataFile.objects.count() == files and AuditEvent.objects.count() == events
    with pytest.raises(DemoError, match="already seeded with 200 persons"):
        seed_demo(persons=500, seed=3, echo=lambda _: None)
    assert DataFile.objects.count() == files


@pytest.mark.parametrize("persons", ["0", "-5"])
def test_cli_refuses_zero_or_negative_persons(persons: str) -> None:
    result = CliRunner().invoke(main, ["demo", "seed", "--persons", persons])
    assert result.exit_code == 2
    assert "at least 1" in result.output
    assert not User.objects.exists() and not DataFile.objects.exists()


def test_demo_logins_work(client: Client, settings: Any) -> None:
    seed_demo(persons=100, seed=1, echo=lambda _: None)
    # through the sign-in page: Client.login() gives the throttling backend no request
    signed_in = client.post("/accounts/login/", {"username": "decider", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    response = client.get("/accounts/workspace/decider/")
    assert response.status_code == 200
    assert client.get("/accounts/workspace/steward/").status_code == 403
