"""API: the data files registered to holders (metadata only, never rows)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from datalux.accounts.roles import Permission
from datalux.holdings.models import DataFile

router = Router(tags=["holdings"])


class DataFileOut(Schema):
    id: int
    organisation_id: int
    table: str
    version: int
    title: str
    rows: int
    columns: list[dict]
    sha256: str
    registered_at: datetime


@router.get("/files", response=list[DataFileOut])
def files(request: HttpRequest):  # type: ignore[no-untyped-def]
    from datalux.core.api import require

    user = require(request, Permission.VIEW_HOLDINGS)
    return DataFile.objects.restrict(user, Permission.VIEW_HOLDINGS).select_related("organisation")
