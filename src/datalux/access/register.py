"""The public register of permits: approved projects, and refusals counted without details.

An approved project is published with what OpenSAFELY and Findata publish: reference, title,
lay summary, organisation, the datasets the permit grants (title, PID and holder), purpose,
form of the data, the permit's number and state, the decision date and the permit's period,
and the data products published from it (results of reuse, linked to their catalogue pages).

Refused applications are never listed: the register only counts them, per year of decision
and per purpose category. No title, name, organisation or reference of a refused application
leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractYear
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from datalux.access.models import Application
from datalux.access.states import APPROVED, ApplicationState, PermitState
from datalux.access.vocabularies import DataForm, PurposeCategory
from datalux.accounts.models import Organisation
from datalux.catalogue.models import DataProduct
from datalux.core.absolute import absolute

MAX_QUERY = 200
DECISIONS = {
    ApplicationState.APPROVED: _("Approved"),
    ApplicationState.APPROVED_WITH_CONDITIONS: _("Approved with conditions"),
}
PERMIT_STATES = {
    PermitState.ACTIVE: _("active"),
    PermitState.REVOKED: _("revoked"),
    PermitState.EXPIRED: _("expired"),
    PermitState.CLOSED: _("closed"),
}


@dataclass(frozen=True)
class RegisterDataset:
    pid: str
    title: str
    holder: str
    holder_slug: str


@dataclass(frozen=True)
class RegisterProduct:
    """A data product published from the permit (its page: ``catalogue:data_product``)."""

    id: int
    title: str
    kind: str
    outputs: int = 0  # the released output files it describes (name, size and SHA-256 each)


@dataclass(frozen=True)
class RegisterEntry:
    reference: str
    title: str
    lay_summary: str
    organisation: str
    datasets: list[RegisterDataset]
    purpose_category: str
    purpose_label: str
    data_form: str
    data_form_label: str
    permit_number: str
    permit_version: int | None
    permit_state: str
    permit_state_label: str
    decision: str  # approved / approved_with_conditions
    decision_label: str
    decided_on: date | None
    starts_on: date | None
    ends_on: date | None
    data_products: list[RegisterProduct] = field(default_factory=list)


@dataclass(frozen=True)
class RefusalCount:
    """How many applications were rejected, per year of decision or per purpose category."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Refusals:
    total: int
    by_year: list[RefusalCount]
    by_purpose: list[RefusalCount]


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def approved_projects(*, q: str = "", holder: str = "", year: int | None = None) -> QuerySet:
    """Approved applications, newest decision first; ``q`` searches the published fields."""
    projects = Application.objects.filter(state__in=sorted(APPROVED), decided_at__isnull=False)
    text = q.strip()[:MAX_QUERY]
    if text:
        match = (
            Q(reference__icontains=text)
            | Q(title__icontains=text)
            | Q(lay_summary__icontains=text)
            | Q(organisation__name__icontains=text)
            | Q(permit__number__icontains=text)
            | Q(permit__datasets__dataset__pid__iexact=text)
            | Q(permit__datasets__dataset__publisher__name__icontains=text)
        )
        for code, _name in settings.LANGUAGES:
            match |= Q(**{f"permit__datasets__dataset__title__{code}__icontains": text})
        projects = projects.filter(match)
    if holder:
        projects = projects.filter(permit__datasets__dataset__publisher__slug=holder)
    if year is not None:
        projects = projects.filter(decided_at__year=year)
    return (
        Application.objects.filter(pk__in=projects.values("pk"))
        .select_related("organisation", "permit")
        .prefetch_related("permit__datasets__dataset__publisher", "datasets__dataset__publisher")
        .order_by("-decided_at", "-pk")
    )


def products_by_permit(numbers: list[str]) -> dict[str, list[RegisterProduct]]:
    """The data products published from each of these permits, oldest first (one query)."""
    found: dict[str, list[RegisterProduct]] = {}
    rows = (
        DataProduct.objects.filter(permit_number__in=[n for n in numbers if n])
        .order_by("created_at", "pk")
        .values_list("permit_number", "pk", "title", "kind", "outputs")
    )
    for number, pk, title, kind, outputs in rows:
        found.setdefault(number, []).append(
            RegisterProduct(
                id=pk,
                title=title,
                kind=kind,
                outputs=len(outputs) if isinstance(outputs, list) else 0,
            )
        )
    return found


def entry(
    application: Application, products: dict[str, list[RegisterProduct]] | None = None
) -> RegisterEntry:
    """The published facts of one approved application (the permit's datasets, as granted)."""
    permit = getattr(application, "permit", None)
    if products is None:
        products = products_by_permit([permit.number] if permit is not None else [])
    granted = permit.datasets.all() if permit is not None else application.datasets.all()
    datasets = sorted(
        (
            RegisterDataset(
                pid=d.dataset.pid,
                title=d.dataset.display_title,
                holder=d.dataset.publisher.name,
                holder_slug=d.dataset.publisher.slug,
            )
            for d in granted
        ),
        key=lambda d: d.pid,
    )
    return RegisterEntry(
        reference=application.reference,
        title=application.title,
        lay_summary=application.lay_summary,
        organisation=application.organisation.name,
        datasets=datasets,
        purpose_category=application.purpose_category,
        purpose_label=_label(PurposeCategory, application.purpose_category),
        data_form=permit.data_form if permit else application.data_form,
        data_form_label=_label(DataForm, permit.data_form if permit else application.data_form),
        permit_number=permit.number if permit else "",
        permit_version=permit.version if permit else None,
        permit_state=permit.state if permit else "",
        permit_state_label=str(PERMIT_STATES.get(permit.state, permit.state)) if permit else "",
        decision=application.state,
        decision_label=str(DECISIONS.get(application.state, application.state)),
        decided_on=timezone.localdate(application.decided_at) if application.decided_at else None,
        starts_on=permit.starts_on if permit else None,
        ends_on=permit.ends_on if permit else None,
        data_products=products.get(permit.number, []) if permit else [],
    )


def entries(projects: Any) -> list[RegisterEntry]:
    projects = list(projects)
    numbers = [a.permit.number for a in projects if getattr(a, "permit", None) is not None]
    products = products_by_permit(numbers)
    return [entry(a, products) for a in projects]


def refusals() -> Refusals:
    """Rejected applications counted per year of decision and per purpose (nothing else)."""
    rejected = Application.objects.filter(
        state=ApplicationState.REJECTED, decided_at__isnull=False
    ).order_by()
    by_year = [
        RefusalCount(key=str(row["year"]), label=str(row["year"]), count=row["n"])
        for row in rejected.annotate(year=ExtractYear("decided_at"))
        .values("year")
        .annotate(n=Count("pk"))
        .order_by("-year")
    ]
    by_purpose = [
        RefusalCount(
            key=row["purpose_category"],
            label=_label(PurposeCategory, row["purpose_category"]) or "—",
            count=row["n"],
        )
        for row in rejected.values("purpose_category")
        .annotate(n=Count("pk"))
        .order_by("-n", "purpose_category")
    ]
    return Refusals(total=rejected.count(), by_year=by_year, by_purpose=by_purpose)


def holders() -> QuerySet[Organisation]:
    """Holders of datasets granted by at least one permit on the register (for the filter)."""
    granted = Application.objects.filter(state__in=sorted(APPROVED)).values(
        "permit__datasets__dataset__publisher_id"
    )
    return Organisation.objects.filter(pk__in=granted).order_by("name")


def years() -> list[int]:
    """Years in which an approval or a refusal was decided, newest first."""
    decided = Application.objects.filter(
        state__in=[*sorted(APPROVED), ApplicationState.REJECTED], decided_at__isnull=False
    ).order_by()
    return sorted(
        {
            y
            for y in decided.annotate(year=ExtractYear("decided_at"))
            .values_list("year", flat=True)
            .distinct()
        },
        reverse=True,
    )


CSV_HEADER = [
    "reference",
    "title",
    "lay_summary",
    "organisation",
    "datasets",
    "dataset_pids",
    "holders",
    "purpose_category",
    "data_form",
    "permit_number",
    "permit_version",
    "permit_state",
    "decision",
    "decided_on",
    "starts_on",
    "ends_on",
    "released_outputs",
    "data_product_urls",
]


def product_url(product: RegisterProduct) -> str:
    """The absolute address of a data product's catalogue page."""
    return absolute(reverse("catalogue:data_product", args=[product.id]))


def csv_rows(items: list[RegisterEntry]) -> list[list[Any]]:
    """The header and one row per entry. ``released_outputs`` counts the output files released
    and published from the permit (those its data products describe: a released request is
    public only once published), ``data_product_urls`` lists their pages ("; " between)."""
    rows: list[list[Any]] = [CSV_HEADER]
    for e in items:
        rows.append(
            [
                e.reference,
                e.title,
                e.lay_summary,
                e.organisation,
                "; ".join(d.title for d in e.datasets),
                "; ".join(d.pid for d in e.datasets),
                "; ".join(sorted({d.holder for d in e.datasets})),
                e.purpose_category,
                e.data_form,
                e.permit_number,
                e.permit_version or "",
                e.permit_state,
                e.decision,
                e.decided_on.isoformat() if e.decided_on else "",
                e.starts_on.isoformat() if e.starts_on else "",
                e.ends_on.isoformat() if e.ends_on else "",
                sum(p.outputs for p in e.data_products),
                "; ".join(product_url(p) for p in e.data_products),
            ]
        )
    return rows


def refusal_csv_rows(counts: Refusals) -> list[list[Any]]:
    rows: list[list[Any]] = [["scope", "key", "label", "rejected"]]
    rows += [["year", r.key, r.label, r.count] for r in counts.by_year]
    rows += [["purpose_category", r.key, r.label, r.count] for r in counts.by_purpose]
    return rows
