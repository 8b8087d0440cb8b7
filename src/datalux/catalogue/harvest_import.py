"""Applying a parsed source to its records (the transaction of a harvest run).

:func:`import_graph` maps every ``dcat:Dataset`` (:mod:`datalux.catalogue.harvest_map`)
and, in this order:

1. refuses (:class:`TooManyWithdrawals`, before any write) a run that would withdraw more
   than ``DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT`` of the source's records;
2. creates, updates or keeps the source's data services and dataset series (keyed by their
   remote id in the source's catalogue; those no longer in the source are deleted);
3. creates, updates or keeps its datasets and their distributions (a distribution's data
   service and a dataset's series linked to those records), and the services' lists of the
   datasets they serve;
4. validates the touched datasets against the DCAT-AP shapes (conforming ones published);
5. withdraws the datasets no longer in the source, and deletes those withdrawn longer ago
   than ``DATALUX_HARVEST_GRACE_DAYS``.

A record whose fields all compare equal is left alone (``modified`` untouched): a second run
over an unchanged source changes nothing but ``last_harvested``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.text import slugify
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS

from datalux.accounts.models import Organisation
from datalux.catalogue.dcat import ADMS, DCAT
from datalux.catalogue.harvest_map import (
    DISTRIBUTION_FIELDS,
    Mapped,
    map_dataset,
    map_series,
    map_service,
    series_nodes,
    service_nodes,
    stable_key,
)
from datalux.catalogue.models import (
    DataService,
    Dataset,
    DatasetSeries,
    DatasetStatus,
    Distribution,
    HarvestSource,
)
from datalux.catalogue.pids import is_valid_pid
from datalux.core.absolute import base_url


class TooManyWithdrawals(Exception):
    """Raised inside the run's transaction so that nothing of it is kept."""

    def __init__(self, gone: list[str], of: int) -> None:
        super().__init__(f"{len(gone)} of {of}")
        self.gone = gone
        self.of = of


@dataclass
class HarvestReport:
    source: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    not_conforming: int = 0  # imported as drafts: DCAT-AP violations
    skipped_own: int = 0  # our own records, re-published by the remote
    skipped_invalid: int = 0
    deleted: int = 0  # withdrawn records past their grace period
    services: int = 0  # data services kept (created, updated or unchanged)
    series: int = 0  # dataset series kept
    pages: int = 0
    digest: str = ""  # SHA-256 of the pages read, in order
    problems: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "not_conforming": self.not_conforming,
            "skipped_own": self.skipped_own,
            "skipped_invalid": self.skipped_invalid,
            "deleted": self.deleted,
            "services": self.services,
            "series": self.series,
            "pages": self.pages,
            "problems": self.problems[:50],
        }

    def summary(self) -> str:
        return (
            f"{self.source}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.withdrawn} withdrawn, "
            f"{self.not_conforming} kept as drafts (DCAT-AP violations), "
            f"{self.skipped_own} of our own skipped, {self.skipped_invalid} invalid skipped"
            + (f", {self.deleted} deleted after the grace period" if self.deleted else "")
        )


def withdraw_limit_percent() -> int:
    return int(getattr(settings, "DATALUX_HARVEST_WITHDRAW_LIMIT_PERCENT", 20))


def grace_period() -> timedelta:
    return timedelta(days=int(getattr(settings, "DATALUX_HARVEST_GRACE_DAYS", 30)))


# -- loop protection --------------------------------------------------------------------------
def _identifiers(graph: Graph, node: Any) -> set[str]:
    values = {str(v) for v in graph.objects(node, DCTERMS.identifier)}
    for identifier in graph.objects(node, ADMS.identifier):
        values.update(str(v) for v in graph.objects(identifier, SKOS.notation))
    return values


def own_records(graph: Graph, nodes: list[Any]) -> set[Any]:
    """The dataset nodes that describe records of this platform (our URIs or PIDs)."""
    prefix = f"{base_url()}/id/"
    own = {n for n in nodes if isinstance(n, URIRef) and str(n).startswith(prefix)}
    candidates: dict[str, list[Any]] = {}
    for node in nodes:
        for value in _identifiers(graph, node):
            if is_valid_pid(value):
                candidates.setdefault(value, []).append(node)
    if candidates:
        ours = Dataset.objects.filter(pid__in=list(candidates)).values_list("pid", flat=True)
        for pid in ours:
            own.update(candidates[pid])
    return own


# -- datasets ---------------------------------------------------------------------------------
def _slug(source: HarvestSource, mapped: Mapped) -> str:
    digest = hashlib.sha256(mapped.remote_id.encode()).hexdigest()[:10]
    title = mapped.fields["title"].get("en") or next(iter(mapped.fields["title"].values()))
    return f"{slugify(title)[:90]}-{source.pk}-{digest}".strip("-")


_STORED_DISTRIBUTION_FIELDS = tuple(
    f"{name}_id" if name == "access_service" else name for name in DISTRIBUTION_FIELDS
)


def _distribution_key(values: dict[str, Any]) -> tuple[Any, ...]:
    """Comparable whatever the database does to JSON key order (PostgreSQL jsonb sorts)."""
    return tuple((k, json.dumps(values[k], sort_keys=True)) for k in _STORED_DISTRIBUTION_FIELDS)


def _current_distributions(dataset: Dataset) -> list[tuple[Any, ...]]:
    rows = dataset.distributions.all().values(*_STORED_DISTRIBUTION_FIELDS)
    return sorted(_distribution_key(r) for r in rows)


def _stored(mapped: Mapped, services: dict[str, DataService]) -> list[dict[str, Any]]:
    """The distributions' fields as stored: the data service as its record's id."""
    rows = []
    for values in mapped.distributions:
        row = {k: v for k, v in values.items() if k != "access_service"}
        service = services.get(values["access_service"])
        row["access_service_id"] = service.pk if service is not None else None
        rows.append(row)
    return rows


# A missing description is reported by the DCAT-AP validation (the record stays a draft).
_NOT_CHECKED = ["pid", "description"]


def _apply(
    source: HarvestSource,
    mapped: Mapped,
    existing: Dataset | None,
    links: _Links,
    now: datetime,
    report: HarvestReport,
) -> Dataset:
    publisher: Organisation = source.publisher
    fields = dict(mapped.fields)
    series = links.series.get(mapped.series)
    fields["in_series_id"] = series.pk if series is not None else None
    distributions = _stored(mapped, links.services)
    if existing is None:
        dataset = Dataset(
            catalogue=source.catalogue,
            publisher=publisher,
            slug=_slug(source, mapped),
            harvest_source=source,
            remote_id=mapped.remote_id,
            status=DatasetStatus.DRAFT,
            modified=now,
            last_harvested=now,
            **fields,
        )
        dataset.full_clean(exclude=_NOT_CHECKED)
        dataset.save()
        Distribution.objects.bulk_create(
            [Distribution(dataset=dataset, **d) for d in distributions]
        )
        report.created += 1
        return dataset
    if fields["issued"] is None:
        del fields["issued"]  # keep the date of first publication here
    changed = [k for k, v in fields.items() if getattr(existing, k) != v]
    if existing.publisher_id != publisher.pk:
        existing.publisher = publisher
        changed.append("publisher")
    new_distributions = sorted(_distribution_key(d) for d in distributions)
    distributions_changed = new_distributions != _current_distributions(existing)
    was_withdrawn = existing.status == DatasetStatus.WITHDRAWN
    for key in changed:
        if key != "publisher":
            setattr(existing, key, fields[key])
    existing.last_harvested = now
    if changed or distributions_changed or was_withdrawn:
        existing.modified = now
        if was_withdrawn:
            existing.status = DatasetStatus.DRAFT  # published again below if it conforms
            existing.withdrawn_at = None
        existing.full_clean(exclude=_NOT_CHECKED)
        existing.save()
        if distributions_changed:
            existing.distributions.all().delete()
            Distribution.objects.bulk_create(
                [Distribution(dataset=existing, **d) for d in distributions]
            )
        report.updated += 1
    else:
        existing.save(update_fields=["last_harvested"])
        report.unchanged += 1
    return existing


def _validate(datasets: list[Dataset], report: HarvestReport) -> None:
    """Validate the touched records in one SHACL run; publish those that conform."""
    from datalux.catalogue.dcat import Builder, new_graph, prefetch
    from datalux.catalogue.shacl import validate_graph

    if not datasets:
        return
    graph = new_graph()
    builder = Builder(graph)
    for rows in prefetch(datasets):
        builder.dataset(rows)
    result = validate_graph(graph)
    by_dataset: dict[str, list[dict[str, str]]] = {}
    uris = sorted((d.uri for d in datasets), key=len, reverse=True)
    for finding in result.findings:
        owner = next((u for u in uris if finding["focus"].startswith(u)), None)
        if owner is not None:
            by_dataset.setdefault(owner, []).append(finding)
    for dataset in datasets:
        findings = by_dataset.get(dataset.uri, [])
        conforms = not any(f["severity"] == "Violation" for f in findings)
        status = dataset.status
        if conforms and status == DatasetStatus.DRAFT:
            status = DatasetStatus.PUBLISHED
        elif not conforms and status == DatasetStatus.PUBLISHED:
            status = DatasetStatus.DRAFT
        if not conforms:
            report.not_conforming += 1
        if (dataset.shacl_conforms, dataset.shacl_report, dataset.status) != (
            conforms,
            findings,
            status,
        ):
            dataset.shacl_conforms = conforms
            dataset.shacl_report = findings
            if status == DatasetStatus.PUBLISHED and dataset.issued is None:
                dataset.issued = dataset.modified
            dataset.status = status
            dataset.save(update_fields=["shacl_conforms", "shacl_report", "status", "issued"])


def remote_datasets(graph: Graph) -> Iterator[Any]:
    """The dataset nodes of the graph, in a stable order (IRIs, then blank nodes)."""
    nodes = set(graph.subjects(RDF.type, DCAT.Dataset))
    yield from sorted(nodes, key=lambda n: stable_key(graph, n))


# -- data services and dataset series ---------------------------------------------------------
@dataclass
class _Links:
    """The source's service and series records by remote id (what datasets link to)."""

    services: dict[str, DataService] = field(default_factory=dict)
    series: dict[str, DatasetSeries] = field(default_factory=dict)
    serves: dict[str, set[str]] = field(default_factory=dict)  # service -> dataset remote ids


# A series' description may be missing (the export describes it by its title then).
_LINKED_NOT_CHECKED = ["catalogue", "publisher", "description", "serves_datasets"]


def _save_linked(record: Any, values: dict[str, Any], what: str, report: HarvestReport) -> bool:
    """Create or update a data service or dataset series; False (and a problem noted, the
    run going on) when the source's values are refused."""
    changed = [k for k, v in values.items() if getattr(record, k) != v]
    for key in changed:
        setattr(record, key, values[key])
    if record.pk is not None and not changed:
        return True
    try:
        record.full_clean(exclude=_LINKED_NOT_CHECKED)
    except ValidationError as exc:
        # Field names only: a validator's message may quote the harvested value.
        fields = ", ".join(sorted(exc.message_dict)) if hasattr(exc, "error_dict") else "?"
        report.problems.append(f"the {what} {record.remote_id} was refused (invalid {fields})")
        return False
    record.save()
    return True


def _apply_services(source: HarvestSource, graph: Graph, report: HarvestReport) -> _Links:
    links = _Links()
    catalogue = source.catalogue
    existing = {s.remote_id: s for s in DataService.objects.filter(catalogue=catalogue)}
    for node in service_nodes(graph):
        mapped = map_service(graph, node)
        if isinstance(mapped, str):
            report.problems.append(mapped)
            continue
        if mapped.remote_id in links.services:
            continue
        service = existing.get(mapped.remote_id) or DataService(
            catalogue=catalogue, publisher=source.publisher, remote_id=mapped.remote_id
        )
        if _save_linked(service, mapped.fields, "data service", report):
            links.services[mapped.remote_id] = service
        links.serves[mapped.remote_id] = {str(n) for n in mapped.serves}
    DataService.objects.filter(catalogue=catalogue).exclude(
        pk__in=[s.pk for s in links.services.values()]
    ).delete()
    report.services = len(links.services)
    existing_series = {s.remote_id: s for s in DatasetSeries.objects.filter(catalogue=catalogue)}
    for node in series_nodes(graph):
        found = map_series(graph, node)
        if isinstance(found, str):
            report.problems.append(found)
            continue
        remote_id, values = found
        if remote_id in links.series:
            continue
        series = existing_series.get(remote_id) or DatasetSeries(
            catalogue=catalogue, publisher=source.publisher, remote_id=remote_id
        )
        if _save_linked(series, values, "dataset series", report):
            links.series[remote_id] = series
    DatasetSeries.objects.filter(catalogue=catalogue).exclude(
        pk__in=[s.pk for s in links.series.values()]
    ).delete()
    report.series = len(links.series)
    return links


def _link_services(
    links: _Links, datasets: dict[str, Dataset], distributions: dict[str, set[str]]
) -> None:
    """Each service serves the datasets it names and those whose distributions it serves."""
    for remote_id, service in links.services.items():
        served = links.serves.get(remote_id, set()) | distributions.get(remote_id, set())
        wanted = {datasets[r].pk for r in served if r in datasets}
        current = set(service.serves_datasets.values_list("pk", flat=True))
        if wanted != current:
            service.serves_datasets.set(sorted(wanted))


# -- the import -------------------------------------------------------------------------------
def import_graph(
    source: HarvestSource, graph: Graph, report: HarvestReport, *, allow_withdrawals: bool = False
) -> None:
    """Map the graph onto the source's records (call inside a transaction).

    Raises :class:`TooManyWithdrawals` before changing anything when the records no longer in
    the graph are more than the limit's share of the source's records (unless
    ``allow_withdrawals``: an operator confirmed them).
    """
    nodes = list(remote_datasets(graph))
    own = own_records(graph, nodes)
    report.skipped_own = len(own)
    mapped_records: list[Mapped] = []
    seen_ids: set[str] = set()
    for node in nodes:
        if node in own:
            continue
        mapped = map_dataset(graph, node)
        if isinstance(mapped, str):
            report.skipped_invalid += 1
            report.problems.append(mapped)
        elif mapped.remote_id in seen_ids:
            report.problems.append(f"{mapped.remote_id} appears twice: the first one is kept")
        else:
            seen_ids.add(mapped.remote_id)
            mapped_records.append(mapped)
    existing = {
        d.remote_id: d
        for d in Dataset.objects.filter(harvest_source=source).select_related("publisher")
    }
    active = [d for d in existing.values() if d.status != DatasetStatus.WITHDRAWN]
    gone = sorted((d for d in active if d.remote_id not in seen_ids), key=lambda d: d.remote_id)
    if gone and not allow_withdrawals and len(gone) * 100 > withdraw_limit_percent() * len(active):
        raise TooManyWithdrawals([d.remote_id for d in gone], len(active))
    now = timezone.now()
    links = _apply_services(source, graph, report)
    touched: dict[str, Dataset] = {}
    served_by: dict[str, set[str]] = {}
    for mapped in mapped_records:
        # Whatever publisher the remote names (one of ours, say), the record is the source's.
        touched[mapped.remote_id] = _apply(
            source, mapped, existing.get(mapped.remote_id), links, now, report
        )
        for values in mapped.distributions:
            if values["access_service"]:
                served_by.setdefault(values["access_service"], set()).add(mapped.remote_id)
    _link_services(links, touched, served_by)
    _validate(list(touched.values()), report)
    if gone:
        Dataset.objects.filter(pk__in=[d.pk for d in gone]).update(
            status=DatasetStatus.WITHDRAWN, modified=now, withdrawn_at=now
        )
        report.withdrawn = len(gone)
    _delete_expired(source, now, report)


def _delete_expired(source: HarvestSource, now: datetime, report: HarvestReport) -> None:
    """Delete the source's records withdrawn longer ago than the grace period; a record
    something else refers to (an access application, say) stays withdrawn, with a note."""
    withdrawn = Dataset.objects.filter(harvest_source=source, status=DatasetStatus.WITHDRAWN)
    withdrawn.filter(withdrawn_at__isnull=True).update(withdrawn_at=now)  # withdrawn before
    for dataset in withdrawn.filter(withdrawn_at__lte=now - grace_period()).order_by("pk"):
        try:
            with transaction.atomic():
                dataset.delete()
        except ProtectedError:
            report.problems.append(
                f"{dataset.remote_id} has been gone from the source longer than the grace "
                "period, but other records refer to it: kept, withdrawn"
            )
        else:
            report.deleted += 1
