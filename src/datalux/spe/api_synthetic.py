"""The synthetic twins' API (``/api/v1/spe/permits/{number}/synthetic``).

``GET`` lists a permit's twins with their headline figures (epsilon and delta spent, 2-way
TVD, utility, exact copies against the holdout, the membership-inference check), the tables
refused with the reason and the budget left: for the trusted third party's operators and the
case handlers, and for the permit's authorised persons who may work with its data now (others
403, audited ``access.denied``). ``POST`` queues the making of the twins (202): trusted-third-
party operators only (403 otherwise), a token of the scope ``write``; 409 (``invalid_state``)
when the permit does not allow a twin, is not active or its extract is not ready. The twin's
file itself is downloaded from the workspace page (``/spe/workspace/{number}/synthetic/``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Router, Schema
from ninja.responses import Status

from datalux.access.models import Permit
from datalux.core.api import user_of
from datalux.spe import synthetic

router = Router(tags=["spe"])


class TwinOut(Schema):
    table: str
    permit_version: int
    rows: int
    sha256: str
    epsilon: float
    delta: float
    created_at: datetime
    created_by: str  # "" when the pipeline made it
    figures: dict[str, Any]
    report_url: str
    download_url: str


class RefusedOut(Schema):
    table: str
    code: str
    reason: str
    at: datetime


class TwinsOut(Schema):
    permit: str
    allowed: bool
    synthetic_epsilon: float | None
    spent_on_twins: float
    left_for_twins: float | None
    budget: dict[str, Any] | None
    twins: list[TwinOut]
    refused: list[RefusedOut]


def _permit(number: str) -> Permit:
    found = Permit.objects.select_related("organisation", "application").filter(number=number)
    permit = found.first()
    if permit is None:
        raise Http404
    return permit


def _listing(permit: Permit) -> dict[str, Any]:
    view = synthetic.overview(permit)
    twins = []
    for row in view["twins"]:
        twin = row["twin"]
        twins.append(
            {
                "table": twin.table,
                "permit_version": twin.permit_version,
                "rows": twin.rows,
                "sha256": twin.sha256,
                "epsilon": twin.epsilon,
                "delta": twin.delta,
                "created_at": twin.created_at,
                "created_by": twin.created_by.get_username() if twin.created_by else "",
                "figures": row["figures"],
                "report_url": reverse("spe:synthetic_report", args=[permit.number, twin.table]),
                "download_url": reverse("spe:synthetic_download", args=[permit.number, twin.table]),
            }
        )
    return {**view, "permit": permit.number, "twins": twins}


@router.get("/permits/{number}/synthetic", response=TwinsOut)
def list_twins(request: HttpRequest, number: str) -> dict[str, Any]:
    """The permit's twins with their figures, the tables refused and the budget left."""
    permit = _permit(number)
    synthetic.require_viewer(permit, user_of(request))
    return _listing(permit)


@router.post("/permits/{number}/synthetic", response={202: TwinsOut})
def make_twins(request: HttpRequest, number: str) -> Status:
    """Queue the making of the permit's twins (trusted-third-party operators)."""
    permit = _permit(number)
    synthetic.request_synthetic_twin(permit=permit, by=user_of(request))
    return Status(202, _listing(permit))
