from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from datalux.accounts.roles import ROLES, OrganisationKind


@pytest.fixture(autouse=True)
def _storage_root(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own storage root, TTP key file and audit signing key and checkpoint
    folder; nothing is written under var/."""
    root = tmp_path / "storage"
    root.mkdir()
    settings.DATALUX_STORAGE = root
    settings.DATALUX_TTP_KEY_FILE = tmp_path / "ttp" / "master.key"
    settings.DATALUX_AUDIT_SIGNING_KEY = tmp_path / "audit" / "signing.key"
    settings.DATALUX_AUDIT_CHECKPOINT_DIR = tmp_path / "audit" / "checkpoints"
    settings.DATALUX_ONCEONLY_SIGNING_KEY = tmp_path / "onceonly" / "signing.key"
    settings.DATALUX_ONCEONLY_PSEUDONYM_KEY = tmp_path / "onceonly" / "pseudonym.key"
    return root


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the site's default language: a French or German page requested
    through the test client leaves its language active in the thread (LocaleMiddleware does not
    undo it), and the next test's texts would be French or German."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (e.g. no DCAT-AP page cached by another test)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def make_member(db: Any) -> Callable[..., Any]:
    """make_member("steward", organisation=None) -> a user holding that role.

    Without an organisation, one of a kind the role allows is created.
    """
    from tests.factories.accounts import MembershipFactory, OrganisationFactory, UserFactory

    def make(role: str, organisation: Any = None, **user_fields: Any) -> Any:
        role_def = ROLES[role]
        user = UserFactory(**user_fields)
        if role_def.organisation_kinds:
            if organisation is None:
                kind = sorted(role_def.organisation_kinds)[0]
                organisation = OrganisationFactory(kind=OrganisationKind(kind))
            MembershipFactory(user=user, organisation=organisation, role=role)
        else:
            MembershipFactory(user=user, organisation=None, role=role)
        return user

    return make
