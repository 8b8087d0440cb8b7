"""The public API of the data authority: the permit register and the metrics.

Both are open to everyone (no token, no session): they publish approved projects and aggregate
figures, and count refusals without any detail about them.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from datalux.access import metrics as authority
from datalux.access import register

router = Router(tags=["access: public"])

MAX_PAGE_SIZE = 100


class RegisterDatasetOut(Schema):
    pid: str
    title: str
    holder: str
    holder_slug: str


class RegisterProductOut(Schema):
    id: int
    title: str
    kind: str


class RegisterEntryOut(Schema):
    reference: str
    title: str
    lay_summary: str
    organisation: str
    datasets: list[RegisterDatasetOut]
    purpose_category: str
    data_form: str
    permit_number: str
    permit_version: int | None
    permit_state: str
    decision: str
    decided_on: date | None
    starts_on: date | None
    ends_on: date | None
    data_products: list[RegisterProductOut] = Field(
        description="The data products published from the permit (results of reuse)."
    )


class RefusalCountOut(Schema):
    key: str
    label: str
    count: int


class RefusalsOut(Schema):
    total: int
    by_year: list[RefusalCountOut]
    by_purpose: list[RefusalCountOut]


class RegisterOut(Schema):
    total: int
    page: int
    page_size: int
    pages: int
    items: list[RegisterEntryOut]
    refusals: RefusalsOut


class RegisterParams(Schema):
    q: str = Field("", max_length=register.MAX_QUERY, description="Words to find.")
    holder: str = Field("", max_length=80, description="Slug of a data holder.")
    year: int | None = Field(None, ge=1900, le=9999, description="Year of the decision.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


@router.get("/register", response=RegisterOut, auth=None)
def permit_register(request: HttpRequest, params: Query[RegisterParams]) -> dict[str, Any]:
    """Approved projects (newest decision first) and the refusals, counted without details."""
    projects = register.approved_projects(q=params.q, holder=params.holder, year=params.year)
    total = projects.count()
    start = (params.page - 1) * params.page_size
    items = register.entries(projects[start : start + params.page_size])
    return {
        "total": total,
        "page": params.page,
        "page_size": params.page_size,
        "pages": math.ceil(total / params.page_size) if total else 0,
        "items": items,
        "refusals": register.refusals(),
    }


class FiguresOut(Schema):
    key: str
    label: str
    received: int
    decided: int
    approved: int
    rejected: int
    approval_rate: float | None
    median_days_to_decision: float | None
    p90_days_to_decision: float | None
    decided_in_time: int
    in_time_share: float | None
    returned: int
    return_share: float | None
    accessed: int
    median_days_to_access: float | None
    p90_days_to_access: float | None
    withdrawn: int


class TallyOut(Schema):
    key: str
    label: str
    count: int


class OutputCheckingOut(Schema):
    """Release requests (issue 13): by state, hours from first submission to release or
    rejection, share released after one review round, and why requests did not go through."""

    total: int
    by_state: list[TallyOut]
    decided: int
    released: int
    rejected: int
    median_hours_to_decision: float | None
    p90_hours_to_decision: float | None
    approved_first_review: int
    first_review_share: float | None
    refused_submissions: int
    returned_rounds: int
    by_reason: list[TallyOut]


class MetricsOut(Schema):
    overall: FiguresOut
    by_year: list[FiguresOut]
    by_dataset: list[FiguresOut]
    by_holder: list[FiguresOut]
    output_checking: OutputCheckingOut


@router.get("/metrics", response=MetricsOut, auth=None)
def metrics(request: HttpRequest) -> dict[str, Any]:
    """Received, decided, approval rate, days to decision and to access (median, 90th
    percentile by nearest rank), share decided within the deadline, returns, withdrawals:
    overall, per year of receipt, per dataset and per holder; and output checking (release
    requests by state, hours to release or rejection, share approved at the first review,
    reasons). Shares are between 0 and 1."""
    from datalux.spe.release_metrics import release_metrics

    figures = authority.authority_metrics().as_dict()
    return figures | {"output_checking": release_metrics().as_dict()}
