"""Citizens of the access world for the consent and opt-out tests: persons whose national
numbers are valid (so their identities can be sealed), stays of theirs stored as the hospital
stays' data version, and the data authority as the data altruism organisation."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.utils import timezone

from datalux.accounts.models import Membership
from datalux.catalogue.models import DatasetVersion
from datalux.citizens import identity
from datalux.citizens.models import CitizenIdentity, IdentitySource
from datalux.holdings.models import DataFile
from datalux.privacy.national_id import make_national_id
from tests.access.world import World
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import VariableFactory

PERSONS = 60


def numbers(n: int = PERSONS) -> list[str]:
    """Valid national numbers, one per person (born 1960-01-01 + i days)."""
    return [make_national_id(date(1960, 1, 1) + timedelta(days=i), i % 1000) for i in range(n)]


def stays() -> list[dict[str, Any]]:
    """One stay per person, all adults, all in the permitted period (2020-2024)."""
    return [
        {
            "national_id": number,
            "age": 40 + i % 40,
            "diagnosis": ["I50.0", "S72.0"][i % 2],
            "commune": "Esch",
            "admission_date": date(2021, 1 + i % 12, 1),
        }
        for i, number in enumerate(numbers())
    ]


def store_stays(world: World, version: int = 1) -> Path:
    """The stays as the hospital stays' data version ``version``."""
    if version == 1:
        VariableFactory(dataset=world.stays, name="admission_date", type="date", period=True)
    relative = f"holders/health/stays-v{version}.parquet"
    path = Path(settings.DATALUX_STORAGE) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(stays()), path)
    data_file = DataFile.objects.create(
        organisation=world.holder, table="stays", title="stays", relative_path=relative,
        rows=PERSONS, sha256="0" * 64, size_bytes=path.stat().st_size,
    )  # fmt: skip
    DatasetVersion.objects.create(dataset=world.stays, number=version, data_file=data_file)
    return path


def citizen(number: str, username: str) -> CitizenIdentity:
    """An account with the citizen role, linked to the person with ``number``."""
    user = UserFactory(username=username, email=f"{username}@example.lu")
    Membership.objects.create(user=user, organisation=None, role="citizen")
    return CitizenIdentity.objects.create(
        user=user,
        subject=identity.subject_for(number),
        sealed_number=identity.seal(number),
        source=IdentitySource.DEMO,
    )


def in_two_years() -> date:
    return timezone.localdate() + timedelta(days=730)


def give(world: World, who: Any, **fields: Any) -> Any:
    """A consent of ``who`` to scientific research on the hospital stays, for two years."""
    from datalux.citizens import choices
    from datalux.citizens.models import AltruismPurpose

    return choices.give_consent(
        **{
            "identity": who,
            "purposes": [AltruismPurpose.SCIENTIFIC_RESEARCH],
            "datasets": [world.stays],
            "organisation": world.authority,
            "valid_until": in_two_years(),
            "by": who.user,
        }
        | fields
    )
