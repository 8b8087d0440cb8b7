"""``datalux privacy ...``: trusted-third-party services on files (no Django)."""

from __future__ import annotations

import click


@click.group()
def privacy() -> None:
    """Pseudonymise, link, anonymise and check disclosure risk of data files."""


# Each service registers its command here, one line each.
