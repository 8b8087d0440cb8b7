"""The ``datalux`` command line. Subcommands are grouped by area (demo, audit, privacy...).

Commands that need the metadata database call :func:`datalux.cli.runtime.setup_django`
first; pure-library commands (``datalux privacy ...``) never load Django.
"""

from __future__ import annotations

import click

from datalux.cli.access import access
from datalux.cli.audit import audit
from datalux.cli.backup import backup
from datalux.cli.catalogue import catalogue
from datalux.cli.citizens import citizens
from datalux.cli.demo import demo
from datalux.cli.onceonly import onceonly
from datalux.cli.outputs import outputs
from datalux.cli.platform import manage, migrate
from datalux.cli.privacy import privacy
from datalux.cli.scheduler import scheduler
from datalux.cli.serve import serve
from datalux.cli.spe import spe


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="datalux")
def main() -> None:
    """datalux: national data access and reuse platform."""


main.add_command(demo)
main.add_command(audit)
main.add_command(privacy)
main.add_command(outputs)
main.add_command(migrate)
main.add_command(manage)
main.add_command(catalogue)
main.add_command(access)
main.add_command(scheduler)
main.add_command(serve)
main.add_command(backup)
main.add_command(spe)
main.add_command(onceonly)
main.add_command(citizens)
