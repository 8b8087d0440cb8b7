"""The records of processing activities (GDPR Art. 30), generated from the operations.

Every permit, every prepared extract, every exchange protocol past its draft and every use of
donated data (data altruism) is one :class:`Record`, built from the rows that govern it - the
permit and its application, the preparation's manifest, the protocol, the trusted third
party's person-use index - so nothing is typed twice and nothing can drift from what
happened. A fixed number of queries per kind (no query per object): the register of ten
thousand permits is one pass.

Who sees what (:func:`visible_records`): the data authority's staff see every record; any
other member sees the records in which one of their organisations takes part (controller,
processor, provider or recipient). The register of data-sharing cases (:func:`sharing_cases`)
is public: permits whose results were published as a data product.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext as _

from datalux.accounts.models import Organisation
from datalux.accounts.permissions import grants
from datalux.accounts.roles import OrganisationKind, Permission, Scope
from datalux.catalogue.models import pick_language

KINDS = ("permit", "extract", "protocol", "altruism")

CSV_COLUMNS = [
    "reference",
    "kind",
    "activity",
    "state",
    "controller",
    "processors",
    "purposes",
    "legal_basis",
    "data_categories",
    "special_categories",
    "data_subjects",
    "recipients",
    "transfers",
    "retention",
    "security_measures",
    "dpia_reference",
    "other_references",
    "starts_on",
    "ends_on",
    "url",
]


@dataclass
class Record:
    """One record of processing (GDPR Art. 30(1) and (2)), in the active language."""

    reference: str
    kind: str
    activity: str
    state: str
    controller: str
    processors: list[str]
    purposes: str
    legal_basis: str
    data_categories: list[str]
    special_categories: bool
    data_subjects: str
    recipients: list[str]
    transfers: str
    retention: str
    security_measures: list[str]
    dpia_reference: str = ""
    other_references: list[str] = field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None
    url: str = ""
    organisations: set[int] = field(default_factory=set, repr=False)  # who may see it

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("organisations")
        for key in ("starts_on", "ends_on"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    def csv_row(self) -> list[str]:
        data = self.as_data()
        row = []
        for column in CSV_COLUMNS:
            value = data[column]
            if isinstance(value, list):
                value = "; ".join(value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            row.append("" if value is None else str(value))
        return row


def _names(kind: str) -> list[Organisation]:
    return list(Organisation.objects.filter(kind=kind).order_by("name"))


def _joined(organisations: Iterable[Organisation]) -> list[str]:
    return [o.name for o in organisations]


def _retention_days() -> int:
    return int(getattr(settings, "DATALUX_SPE_RETENTION_DAYS", 90))


def _legal_basis(application: Any) -> str:
    parts = []
    if application.legal_basis_art6:
        parts.append(str(application.get_legal_basis_art6_display()))
    if application.legal_basis_art9:
        parts.append(str(application.get_legal_basis_art9_display()))
    return "; ".join(parts) or _("not stated")


def _variables(item: Any, labels: dict[tuple[int, str], str]) -> str:
    title = pick_language(item.dataset.title)
    names = [labels.get((item.dataset_id, v), v) for v in item.variables]
    return f"{title} ({item.dataset.publisher.name}): {', '.join(names)}" if names else title


def _labels(dataset_ids: set[int]) -> dict[tuple[int, str], str]:
    from datalux.catalogue.models import Variable

    found: dict[tuple[int, str], str] = {}
    rows = Variable.objects.filter(dataset_id__in=dataset_ids).values_list(
        "dataset_id", "name", "label"
    )
    for dataset_id, name, label in rows:
        found[(dataset_id, name)] = pick_language(label) or name
    return found


def _spe_measures(data_form: str) -> list[str]:
    measures = [
        _("processing only inside the secure processing environment (no network, no download)"),
        _("only the permitted variables, period and rows are prepared"),
        _("every access, job and release in a hash-chained audit log"),
        _("outputs released only after automatic checks and two independent output checkers"),
    ]
    if data_form == "anonymised":
        measures.insert(1, _("anonymised before preparation, with measured re-identification risk"))
    else:
        measures.insert(1, _("pseudonymised by the trusted third party with a key per project"))
    return measures


def permit_records() -> list[Record]:
    from datalux.access.models import Permit

    permits = list(
        Permit.objects.select_related("application", "organisation")
        .prefetch_related("datasets__dataset__publisher", "application__named_persons__user")
        .order_by("number")
    )
    labels = _labels({item.dataset_id for p in permits for item in p.datasets.all()})
    operators = _names(OrganisationKind.SPE_OPERATOR)
    ttps = _names(OrganisationKind.TRUSTED_THIRD_PARTY)
    retention = _retention_days()
    records = []
    for permit in permits:
        application = permit.application
        items = list(permit.datasets.all())
        holders = {item.dataset.publisher for item in items}
        named = list(application.named_persons.all())
        records.append(
            Record(
                reference=f"permit/{permit.number}",
                kind="permit",
                activity=_("Secondary use of data under permit %(number)s: %(title)s")
                % {"number": permit.number, "title": application.title},
                state=str(permit.get_state_display()),
                controller=permit.organisation.name,
                processors=_joined([*operators, *ttps]),
                purposes=(
                    f"{application.get_purpose_category_display()}: "
                    f"{application.purpose_description}".strip(": ")
                ),
                legal_basis=_legal_basis(application),
                data_categories=[_variables(item, labels) for item in items],
                special_categories=bool(application.special_categories),
                data_subjects=_("persons recorded in: %(datasets)s")
                % {"datasets": ", ".join(pick_language(i.dataset.title) for i in items)},
                recipients=[
                    _("%(count)d person(s) named on the permit, of %(organisation)s")
                    % {"count": len(named), "organisation": permit.organisation.name}
                ],
                transfers=_(
                    "none: the data never leave the secure processing environment; only "
                    "checked, non-personal results are released"
                ),
                retention=_(
                    "the extract is kept until the permit ends (%(ends)s) and deleted "
                    "%(days)d days later"
                )
                % {"ends": permit.ends_on.isoformat(), "days": retention},
                security_measures=_spe_measures(permit.data_form),
                other_references=(
                    [_("ethics approval: %(ref)s") % {"ref": application.ethics_reference}]
                    if application.ethics_reference
                    else []
                ),
                starts_on=permit.starts_on,
                ends_on=permit.ends_on,
                url=f"/access/register/?q={permit.number}#permit-{permit.number}",
                organisations={
                    permit.organisation_id,
                    *(o.pk for o in operators),
                    *(o.pk for o in ttps),
                    *(h.pk for h in holders),
                },
            )
        )
    return records


def extract_records() -> list[Record]:
    from datalux.spe.models import Preparation, PreparationState

    preparations = list(
        Preparation.objects.filter(state=PreparationState.READY)
        .select_related("permit__application", "permit__organisation")
        .order_by("permit__number", "version")
    )
    ttps = _names(OrganisationKind.TRUSTED_THIRD_PARTY)
    authorities = _names(OrganisationKind.DATA_AUTHORITY)
    retention = _retention_days()
    records = []
    for prep in preparations:
        permit = prep.permit
        tables = (prep.manifest or {}).get("tables", [])
        rows = sum(int(t.get("rows") or 0) for t in tables)
        if prep.deleted_at:
            kept = _("deleted on %(date)s") % {"date": prep.deleted_at.date().isoformat()}
        else:
            kept = _("until the permit ends (%(ends)s), deleted %(days)d days later") % {
                "ends": permit.ends_on.isoformat(),
                "days": retention,
            }
        records.append(
            Record(
                reference=f"extract/{permit.number}/v{prep.version}",
                kind="extract",
                activity=_("Preparation of the extract of permit %(number)s, version %(v)d")
                % {"number": permit.number, "v": prep.version},
                state=_("deleted") if prep.deleted_at else str(prep.get_state_display()),
                controller=", ".join(_joined(authorities)) or _("the data authority"),
                processors=_joined(ttps),
                purposes=_(
                    "making available the data permitted by permit %(number)s to its project"
                )
                % {"number": permit.number},
                legal_basis=_legal_basis(permit.application),
                data_categories=[
                    f"{t.get('name')}: {', '.join(c for c in t.get('columns', []))}" for t in tables
                ],
                special_categories=bool(permit.application.special_categories),
                data_subjects=_("%(rows)d records in %(tables)d table(s)")
                % {"rows": rows, "tables": len(tables)},
                recipients=[permit.organisation.name],
                transfers=_("none"),
                retention=kept,
                security_measures=[
                    _("national numbers replaced by project pseudonyms; no file holds them"),
                    _("persons who objected are left out"),
                    _("each table verified against the permit before release to the workspace"),
                ],
                starts_on=prep.finished_at.date() if prep.finished_at else None,
                ends_on=permit.ends_on,
                url=f"/access/register/?q={permit.number}#permit-{permit.number}",
                organisations={
                    permit.organisation_id,
                    *(o.pk for o in ttps),
                    *(o.pk for o in authorities),
                },
            )
        )
    return records


def protocol_records() -> list[Record]:
    from datalux.onceonly.models import Protocol

    protocols = list(
        Protocol.objects.exclude(state="draft")
        .select_related("source__dataset", "provider", "consumer")
        .order_by("reference", "version")
    )
    labels = _labels({p.source.dataset_id for p in protocols})
    records = []
    for protocol in protocols:
        dataset = protocol.source.dataset
        items = [labels.get((dataset.pk, i), i) for i in protocol.items]
        records.append(
            Record(
                reference=f"protocol/{protocol.reference}/v{protocol.version}",
                kind="protocol",
                activity=_("Once-only exchange %(ref)s: %(title)s")
                % {"ref": protocol.reference, "title": protocol.title},
                state=str(protocol.get_state_display()),
                controller=protocol.consumer.name,
                processors=[],
                purposes=protocol.purpose_description,
                legal_basis=protocol.legal_basis,
                data_categories=[f"{pick_language(dataset.title)}: {', '.join(items)}"],
                special_categories=False,
                data_subjects=_("persons recorded in the authentic source %(source)s")
                % {"source": pick_language(dataset.title)},
                recipients=[protocol.consumer.name],
                transfers=_("none"),
                retention=_("%(days)d days at the consumer") % {"days": protocol.retention_days},
                security_measures=[
                    _("only the protocol's items, for its purpose, by the consumer's system"),
                    _("every exchange in a signed, hash-chained log the person can see"),
                ],
                dpia_reference=protocol.dpia_reference,
                other_references=[
                    _("provider: %(name)s") % {"name": protocol.provider.name},
                ],
                starts_on=protocol.valid_from,
                ends_on=protocol.valid_until,
                url=f"/onceonly/protocols/{protocol.reference}/",
                organisations={protocol.consumer_id, protocol.provider_id},
            )
        )
    return records


def altruism_records() -> list[Record]:
    from datalux.access.models import Permit
    from datalux.citizens.models import AltruismConsent, PersonUse

    counts = dict(
        PersonUse.objects.filter(on_consent=True)
        .values_list("permit")
        .annotate(persons=Count("subject", distinct=True))
        .values_list("permit", "persons")
    )
    if not counts:
        return []
    permits = Permit.objects.filter(pk__in=counts).select_related("application", "organisation")
    organisations = {
        o.pk: o
        for o in Organisation.objects.filter(pk__in=AltruismConsent.objects.values("organisation"))
    }
    records = []
    for permit in permits.order_by("number"):
        application = permit.application
        records.append(
            Record(
                reference=f"altruism/{permit.number}",
                kind="altruism",
                activity=_("Use of donated data (data altruism) under permit %(number)s")
                % {"number": permit.number},
                state=str(permit.get_state_display()),
                controller=permit.organisation.name,
                processors=_joined(organisations.values()),
                purposes=f"{application.get_purpose_category_display()}",
                legal_basis=_legal_basis(application),
                data_categories=[pick_language(i.dataset.title) for i in permit.datasets.all()],
                special_categories=bool(application.special_categories),
                data_subjects=_("%(count)d persons who gave consent")
                % {"count": counts[permit.pk]},
                recipients=[permit.organisation.name],
                transfers=_("none"),
                retention=_("until the permit ends (%(ends)s)")
                % {"ends": permit.ends_on.isoformat()},
                security_measures=[
                    _("only persons whose consent covers the purpose are prepared"),
                    _("a withdrawn consent leaves the person out of every later preparation"),
                ],
                starts_on=permit.starts_on,
                ends_on=permit.ends_on,
                url=f"/access/register/?q={permit.number}#permit-{permit.number}",
                organisations={permit.organisation_id, *organisations},
            )
        )
    return records


def all_records() -> list[Record]:
    return [*permit_records(), *extract_records(), *protocol_records(), *altruism_records()]


def sees_everything(user: Any) -> bool:
    """The data authority's staff (and platform operators) see every record."""
    for grant in grants(user):
        if grant.role.scope is Scope.PLATFORM and (
            Permission.VIEW_AUDIT_LOG in grant.role.permissions
            or Permission.HANDLE_APPLICATIONS in grant.role.permissions
        ):
            return True
    return False


def visible_records(user: Any, records: list[Record] | None = None) -> list[Record]:
    """The records ``user`` may see (none for a user without any organisation role)."""
    records = all_records() if records is None else records
    if sees_everything(user):
        return records
    mine = {g.organisation_id for g in grants(user) if g.organisation_id is not None}
    return [r for r in records if r.organisations & mine]


@dataclass(frozen=True)
class SharingCase:
    permit: str
    title: str
    organisation: str
    datasets: list[str]
    holders: list[str]
    products: list[dict[str, str]]
    decided_on: date | None


def sharing_cases() -> list[SharingCase]:
    """Permits whose results were published as a data product (Action 2), newest first."""
    from datalux.access.models import Permit
    from datalux.catalogue.models import DataProduct

    products: dict[str, list[dict[str, str]]] = defaultdict(list)
    for pk, number, title in (
        DataProduct.objects.exclude(permit_number="")
        .order_by("created_at", "pk")
        .values_list("pk", "permit_number", "title")
    ):
        products[number].append({"title": title, "url": f"/catalogue/data-products/{pk}/"})
    permits = (
        Permit.objects.filter(number__in=products)
        .select_related("application", "organisation")
        .prefetch_related("datasets__dataset__publisher")
        .order_by("-issued_at", "-pk")
    )
    return [
        SharingCase(
            permit=p.number,
            title=p.application.title,
            organisation=p.organisation.name,
            datasets=[pick_language(i.dataset.title) for i in p.datasets.all()],
            holders=sorted({i.dataset.publisher.name for i in p.datasets.all()}),
            products=products[p.number],
            decided_on=p.issued_at.date() if p.issued_at else None,
        )
        for p in permits
    ]
