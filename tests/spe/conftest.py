"""The access world of tests/access/ (a decided permit on the hospital stays) and an operator
of the trusted third party."""

from typing import Any

import pytest
from django.conf import settings

from datalux.access import actions
from datalux.accounts.roles import OrganisationKind
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from tests.access.conftest import world
from tests.access.world import World, _member
from tests.factories.accounts import OrganisationFactory

__all__ = ["checkers", "operator", "permit", "workspace_key", "world"]


@pytest.fixture
def operator() -> Any:
    ttp = OrganisationFactory(name="TTP", kind=OrganisationKind.TRUSTED_THIRD_PARTY)
    return _member("ttp_operator", ttp, "tina")


@pytest.fixture
def workspace_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trusted third party's master key from the environment (no key file)."""
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"w" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


@pytest.fixture
def permit(world: World, workspace_key: None) -> Any:
    """An active permit on the hospital stays, its extract prepared, its terms accepted."""
    from tests.spe.test_plan import _permit, _store

    _store(world)
    permit = _permit(world)
    preparation = jobs.request_preparation(permit, enqueue=False)
    jobs.run_preparation(preparation.pk)
    actions.accept_terms(application=permit.application, by=world.applicant)
    return permit


@pytest.fixture
def checkers() -> tuple[Any, Any, Any]:
    """Three output checkers of the secure-processing operator."""
    operator = OrganisationFactory(name="SPE operator", kind=OrganisationKind.SPE_OPERATOR)
    return tuple(_member("output_checker", operator, name) for name in ("olga", "oscar", "otto"))  # type: ignore[return-value]
