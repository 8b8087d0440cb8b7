"""``datalux manage reset_second_factor USERNAME --reason "..." [--by OPERATOR]``.

The recovery path for a lost or broken authenticator app: after checking the person's identity
(the assistance desk's procedure), an operator removes every second-factor device of the
account. The person signs in with the password and sets up a new device (required roles are
sent to the set-up page). Audited as ``user.second_factor_reset`` with the reason.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from datalux.accounts.second_factor import reset_second_factor


class Command(BaseCommand):
    help = "Remove a user's second-factor devices (lost phone), audited with the reason."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="the account whose devices are removed")
        parser.add_argument(
            "--reason",
            required=True,
            help="why, and how the person's identity was checked (recorded in the audit chain)",
        )
        parser.add_argument("--by", default="", help="the operator's own username (recorded)")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        user = users.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}: give the exact username")
        by = None
        if options["by"]:
            by = users.filter(username=options["by"], is_active=True).first()
            if by is None:
                raise CommandError(f"no active user {options['by']!r} for --by: give yours")
        try:
            removed = reset_second_factor(user=user, by=by, reason=options["reason"])
        except ValueError as exc:
            raise CommandError(f"--reason: {exc}") from exc
        self.stdout.write(
            f"removed {removed} second-factor device(s) of {user.get_username()}; "
            "they set up a new one at their next sign-in"
        )
