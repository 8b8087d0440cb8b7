"""Every model change has its migration (a missing one breaks `datalux migrate` on upgrade)."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    try:
        call_command("makemigrations", check=True, dry_run=True, verbosity=0)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(
            f"a model change has no migration (exit {exc.code}): "
            "run `datalux manage makemigrations`"
        )
