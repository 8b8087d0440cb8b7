"""``datalux access expire|remind|show``: the data authority's jobs and records, by hand."""

from __future__ import annotations

import json
from datetime import date, datetime

import click

from datalux.cli.runtime import setup_django


@click.group()
def access() -> None:
    """Run the data authority's jobs by hand; show an application or a permit."""


@access.command()
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="expire as if today were this date (YYYY-MM-DD) [default: today]",
)
def expire(today: datetime | None) -> None:
    """Expire every active permit whose end date has passed (what the hourly job does)."""
    setup_django()
    from datalux.access.actions import expire_due_permits

    expired = expire_due_permits(today=today.date() if today else None)
    for number in expired:
        click.echo(f"expired {number}")
    click.echo(f"{len(expired)} permit(s) expired")


@access.command()
def remind() -> None:
    """Send the deadline reminders that are due (each mark once per application)."""
    setup_django()
    from datalux.access.actions import send_deadline_reminders

    sent = send_deadline_reminders()
    click.echo(f"{sent} reminder(s) sent")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@access.command()
@click.argument("reference")
def show(reference: str) -> None:
    """Print a permit's machine-readable spec (DLX-P-…) or an application's state and clock
    (DLX-A-…) as JSON."""
    setup_django()
    from datalux.access.models import Application, Permit

    permit = Permit.objects.filter(number=reference.strip()).first()
    if permit is not None:
        click.echo(json.dumps(permit.spec(), indent=2, ensure_ascii=False))
        return
    application = (
        Application.objects.select_related("procedure", "applicant", "organisation", "handler")
        .filter(reference=reference.strip())
        .first()
    )
    if application is None:
        raise click.ClickException(
            f"no application or permit {reference!r}: give a reference like DLX-A-2026-00001 "
            "or a permit number like DLX-P-2026-00001"
        )
    clock = application.clock()
    issued = Permit.objects.filter(application=application).first()
    data = {
        "application": application.reference,
        "title": application.title,
        "state": application.state,
        "procedure": application.procedure.slug,
        "applicant": application.applicant.get_username(),
        "organisation": application.organisation.name,
        "handler": application.handler.get_username() if application.handler else None,
        "received_at": _iso(application.received_at),
        "complete_at": _iso(application.complete_at),
        "decided_at": _iso(application.decided_at),
        "withdrawn_at": _iso(application.withdrawn_at),
        "clock": {
            "starts_at": _iso(clock.starts_at),
            "deadline": _iso(clock.deadline),
            "extended_days": application.extended_days,
            "days_left": clock.days_left,
            "status": clock.status,
            "reminders_sent": application.reminders_sent,
        },
        "permit": issued.number if issued else None,
    }
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
