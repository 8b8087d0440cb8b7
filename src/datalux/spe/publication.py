"""Publication of a project's results: released files, the exact code versions that produced
them and a results summary become a data product in the catalogue (Action 13 of the data
strategy), linked to the permit's datasets and to the permit itself.

Only released files are described (their names, sizes and SHA-256, with the researcher's
description of what they show); the code is described by its versions' fingerprints and file
lists, kept in the workspace as submitted. A named person of the permit publishes, whatever
the permit's state now (publication usually follows the end of the project).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from datalux.access.actions.permits import NoAccess
from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import DataProduct, DataProductKind
from datalux.core.errors import Conflict
from datalux.spe.models import CodeVersion, ReleaseRequest
from datalux.spe.release_states import ReleaseAction, check_release

MIN_SUMMARY = 40


def _code_versions(request: ReleaseRequest) -> list[dict[str, Any]]:
    ids = request.files.values_list("job__code_version_id", flat=True).distinct()
    return [
        {
            "number": v.number,
            "sha256": v.sha256,
            "files": [{"path": f["path"], "sha256": f["sha256"]} for f in v.files],
        }
        for v in CodeVersion.objects.filter(pk__in=ids).order_by("number")
    ]


def publish(*, request: ReleaseRequest, by: Any, summary: str, licence: str = "") -> DataProduct:
    """Publish a released request as a data product (once)."""
    permit = request.workspace.permit
    if (
        not getattr(by, "is_authenticated", False)
        or not permit.application.named_persons.filter(user=by).exists()
    ):
        raise NoAccess(
            _("only the named persons of permit %(number)s publish its results")
            % {"number": permit.number}
        )
    summary = summary.strip() or request.summary.strip()
    if len(summary) < MIN_SUMMARY:
        raise Conflict(
            _(
                "write a results summary of at least %(n)s characters: the methods, what the "
                "results show and their limits"
            )
            % {"n": MIN_SUMMARY}
        )
    with transaction.atomic():
        request = ReleaseRequest.objects.select_for_update().get(pk=request.pk)
        check_release(request.state, ReleaseAction.PUBLISH)
        if request.data_product_id:
            raise Conflict(_("this release is published already"))
        files = list(request.files.all())
        product = DataProduct.objects.create(
            kind=DataProductKind.RESULT,
            title=request.title,
            description=summary,
            licence=licence.strip()[:32],
            organisation=permit.organisation,
            permit_number=permit.number,
            code_versions=_code_versions(request),
            outputs=[
                {
                    "name": f.filename,
                    "sha256": f.released_sha256,
                    "size": f.size,
                    "description": f.description,
                }
                for f in files
            ],
        )
        product.datasets.set([d.dataset for d in permit.datasets.select_related("dataset")])
        request.data_product, request.published_at = product, timezone.now()
        request.summary = summary
        request.save(update_fields=["data_product", "published_at", "summary"])
        record(
            EventKind.RELEASE_PUBLISHED,
            actor=by,
            organisation=permit.organisation,
            obj=request,
            details={
                "permit": permit.number,
                "request": request.pk,
                "data_product": product.pk,
                "files": [f.filename for f in files],
            },
        )
    return product
