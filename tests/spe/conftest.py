"""The access world of tests/access/ (a decided permit on the hospital stays) and an operator
of the trusted third party."""

from typing import Any

import pytest

from datalux.accounts.roles import OrganisationKind
from tests.access.conftest import world
from tests.access.world import _member
from tests.factories.accounts import OrganisationFactory

__all__ = ["operator", "world"]


@pytest.fixture
def operator() -> Any:
    ttp = OrganisationFactory(name="TTP", kind=OrganisationKind.TRUSTED_THIRD_PARTY)
    return _member("ttp_operator", ttp, "tina")
