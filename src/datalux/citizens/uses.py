"""Who used a citizen's data: the once-only exchanges about them (the data tracker) and the
research projects whose extracts included their records (the TTP's person-use records).

Only the person's own rows are read: tracker records by the person's pseudonym (through
:func:`datalux.onceonly.tracker.records_for`, which leaves out deferred records until their
date) and :class:`~datalux.citizens.models.PersonUse` rows by the same pseudonym. What is
shown of an exchange is what the tracker record and its log entry say of the exchange itself
(body, official, items, purpose, case); never the other persons asked about in the same batch.
Nothing here is written where a project could see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from datalux.accounts.models import Organisation
from datalux.catalogue.models import Dataset, pick_language
from datalux.citizens.models import PersonUse
from datalux.onceonly.models import ExchangeLogEntry, Protocol, TrackerRecord
from datalux.onceonly.tracker import records_for

__all__ = [
    "MAX_PROJECTS",
    "Exchange",
    "Project",
    "describe_exchanges",
    "exchanges_for",
    "projects_for",
]

MAX_PROJECTS = 100  # research projects shown, newest first


@dataclass(frozen=True)
class Exchange:
    occurred_at: datetime
    body: str
    on_behalf_of: str
    protocol_reference: str
    protocol_title: str
    purpose: str
    purpose_description: str
    items: list[str]  # the items' labels in the source's dictionary (else their names)
    case_reference: str
    source: str  # the authentic source's dataset title
    holder: str


@dataclass
class Project:
    title: str
    lay_summary: str
    organisation: str
    permit_number: str
    starts_on: date
    ends_on: date
    datasets: list[str] = field(default_factory=list)
    prepared_at: datetime | None = None
    on_consent: bool = False


def exchanges_for(national_number: str, *, today: date) -> list[TrackerRecord]:
    """The person's visible tracker records on ``today``, newest first."""
    return records_for(national_number, today=today)


def describe_exchanges(records: list[TrackerRecord]) -> list[Exchange]:
    """The records (e.g. one page of them) as the citizen reads them: a few queries per page."""
    if not records:
        return []
    entries = {
        e.pk: e
        for e in ExchangeLogEntry.objects.filter(pk__in={r.entry_id for r in records}).only(
            "pk", "on_behalf_of", "case_reference"
        )
    }
    bodies = dict(
        Organisation.objects.filter(slug__in={r.consumer_slug for r in records}).values_list(
            "slug", "name"
        )
    )
    protocols: dict[tuple[str, int | None], Protocol] = {}
    for p in Protocol.objects.filter(
        reference__in={r.protocol_reference for r in records}
    ).select_related("source__dataset__publisher", "source__responsible_body"):
        protocols[(p.reference, p.version)] = p
    labels: dict[int, dict[str, str]] = {}
    described = []
    for r in records:
        entry = entries.get(r.entry_id)
        protocol = protocols.get((r.protocol_reference, r.protocol_version))
        names: dict[str, str] = {}
        source_title = holder = ""
        if protocol is not None:
            dataset = protocol.source.dataset
            if dataset.pk not in labels:
                labels[dataset.pk] = {v.name: v.display_label for v in dataset.variables.all()}
            names = labels[dataset.pk]
            source_title = dataset.display_title or dataset.slug
            holder = protocol.source.responsible_body.name
        described.append(
            Exchange(
                occurred_at=r.occurred_at,
                body=bodies.get(r.consumer_slug, r.consumer_slug),
                on_behalf_of=entry.on_behalf_of if entry is not None else "",
                protocol_reference=r.protocol_reference,
                protocol_title=protocol.title if protocol is not None else "",
                purpose=r.purpose,
                purpose_description=protocol.purpose_description if protocol is not None else "",
                items=[names.get(item) or item for item in r.items],
                case_reference=entry.case_reference if entry is not None else "",
                source=source_title,
                holder=holder,
            )
        )
    return described


def projects_for(subject: str, *, limit: int = MAX_PROJECTS) -> tuple[list[Project], bool]:
    """The research projects whose extracts included the person (one per permit, newest
    first) and whether there were more than ``limit``."""
    uses = (
        PersonUse.objects.filter(subject=subject)
        .select_related("permit__application", "permit__organisation")
        .order_by("-prepared_at", "-pk")
    )
    projects: dict[int, Project] = {}
    pids: set[str] = set()
    more = False
    for use in uses.iterator():
        project = projects.get(use.permit_id)
        if project is None:
            if len(projects) >= limit:
                more = True
                break
            permit = use.permit
            project = projects[use.permit_id] = Project(
                title=permit.application.title,
                lay_summary=permit.application.lay_summary,
                organisation=permit.organisation.name,
                permit_number=permit.number,
                starts_on=permit.starts_on,
                ends_on=permit.ends_on,
                prepared_at=use.prepared_at,
            )
        project.on_consent = project.on_consent or use.on_consent
        for pid in use.datasets:
            if pid not in project.datasets:
                project.datasets.append(pid)
        pids.update(use.datasets)
    titles = {pid: pick_language(title) or pid for pid, title in _titles(pids)}
    for project in projects.values():
        project.datasets = [titles.get(pid, pid) for pid in project.datasets]
    return list(projects.values()), more


def _titles(pids: set[str]) -> Any:
    return Dataset.objects.filter(pid__in=pids).values_list("pid", "title")
