"""The demo's citizens: three accounts linked to persons of the demo population.

Each is a living person of the population register (the demo's authentic source) chosen
among the persons of the demo's exchange history (:mod:`datalux.demo.onceonly`), so the
citizen's pages have something to show:

* ``citizen``: a family-allowance claimant whose address the benefits fund checked (and who
  is the person of the refused attempt, which leaves no trace in their data tracker);
* ``citizen2``: one of the taxpayers of the tax administration's yearly batch;
* ``citizen3``: the person of the file under investigation, whose record stays hidden until
  its date (the page shows no exchange, and nothing says one is hidden).

Idempotent: an account linked already is left as it is. The accounts themselves (password,
citizen role) are made with the other demo users (:data:`datalux.demo.seed.OTHER_USERS`).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow.parquet as pq

from datalux.accounts.models import User
from datalux.catalogue.models import Dataset
from datalux.citizens.actions_identity import IdentityConflict, link_identity
from datalux.citizens.models import CitizenIdentity, IdentitySource

__all__ = ["CITIZENS", "seed_citizens"]

# (username, position in the exchange history's sample of persons)
CITIZENS: list[tuple[str, int]] = [("citizen", 0), ("citizen2", 25), ("citizen3", 37)]


def seed_citizens(echo: Callable[[str], None]) -> int:
    """Link each demo citizen to their person; return how many were linked now."""
    from datalux.demo.onceonly import PROVIDER, REGISTER, _persons

    dataset = Dataset.objects.filter(slug=REGISTER, publisher__name=PROVIDER).first()
    if dataset is None or not dataset.versions.exists():
        echo("Citizens: no population register to find the demo citizens in; skipped")
        return 0
    pending = [
        (username, position)
        for username, position in CITIZENS
        if User.objects.filter(username=username).exists()
        and not CitizenIdentity.objects.filter(user__username=username).exists()
    ]
    if not pending:
        echo("Citizens: the demo citizens are linked to their persons already")
        return 0
    sample = _persons(dataset)  # the exchange history's persons, in the same order
    names = _names(dataset, {sample[p] for _u, p in pending if p < len(sample)})
    linked = 0
    for username, position in pending:
        if position >= len(sample):
            echo(f"Citizens: the population is too small to give {username} a person; skipped")
            continue
        user = User.objects.get(username=username)
        number = sample[position]
        try:
            link_identity(user=user, national_number=number, source=str(IdentitySource.DEMO))
        except IdentityConflict as exc:
            echo(f"Citizens: {username} not linked ({exc})")
            continue
        name = names.get(number)
        if name:
            user.display_name = name
            user.save(update_fields=["display_name"])
        echo(f"Citizens: {username} is {name or 'a person of the demo population'}")
        linked += 1
    return linked


def _names(dataset: Dataset, numbers: set[str]) -> dict[str, str]:
    """Given name and surname of each of ``numbers`` in the register's current version."""
    version = dataset.versions.order_by("-number").select_related("data_file").first()
    assert version is not None
    table = pq.read_table(version.data_file.path, columns=["national_id", "given_name", "surname"])
    found: dict[str, str] = {}
    for number, given, surname in zip(*(c.to_pylist() for c in table.columns), strict=True):
        if number in numbers:
            found[number] = f"{given} {surname}".strip()
    return found
