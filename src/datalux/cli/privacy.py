"""``datalux privacy ...``: trusted-third-party services on files (no Django)."""

from __future__ import annotations

import click

from datalux.cli.privacy_anonymise import anonymise_command, risk_command
from datalux.cli.privacy_disclosure import budget, check_table_cmd, dp_cmd
from datalux.cli.privacy_link import link
from datalux.cli.privacy_pseudonymise import keygen, pseudonymise
from datalux.cli.privacy_synthetic import synthesise_cmd


@click.group()
def privacy() -> None:
    """Pseudonymise, link, anonymise and check disclosure risk of data files."""


# Each service registers its command here, one line each.
privacy.add_command(pseudonymise)
privacy.add_command(keygen)
privacy.add_command(check_table_cmd)
privacy.add_command(dp_cmd)
privacy.add_command(budget)
privacy.add_command(anonymise_command)
privacy.add_command(risk_command)
privacy.add_command(link)
privacy.add_command(synthesise_cmd)
