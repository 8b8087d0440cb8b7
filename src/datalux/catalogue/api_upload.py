"""API: versions of a dataset's data. Stewards upload (multipart, token or session); anyone
who may see the dataset reads its versions and their quality profile (JSON or W3C DQV).

- ``POST /catalogue/datasets/{pid}/versions`` - upload a CSV or Parquet file (field ``file``):
  201 with the new version; 422 ``upload_rejected`` with the validation report in ``details``;
  413 ``too_large`` (a file over ``DATALUX_MAX_UPLOAD_MB`` is cut off while it arrives, by
  :class:`datalux.core.uploads.UploadLimitMiddleware`, and nothing is stored); 422 ``invalid``
  without a file; 409 ``no_dictionary``; 403 for anyone but the publisher's stewards.
- ``GET /catalogue/datasets/{pid}/versions`` - the versions, newest first, with their KPIs.
- ``GET /catalogue/datasets/{pid}/versions/{n}/quality`` - the quality profile (JSON).
- ``GET /catalogue/datasets/{pid}/versions/{n}/quality.ttl`` - the same as DQV (Turtle).

No endpoint returns rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from datalux.accounts.actions import authenticate_token
from datalux.accounts.roles import Permission
from datalux.catalogue.dqv import quality_turtle
from datalux.catalogue.models import Dataset, DatasetVersion
from datalux.catalogue.uploads import UploadRejected, refuse_oversized, upload_version
from datalux.core.uploads import too_large
from datalux.dataplane.profile import timeliness

router = Router(tags=["catalogue: versions"])


def _reader(request: HttpRequest) -> Any:
    """Reads need no sign-in. A Bearer token, if sent, must be valid (401 otherwise)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        return authenticate_token(token.strip()) if scheme.lower() == "bearer" else None
    return request.user


def _user(request: HttpRequest) -> Any:
    from datalux.core.api import user_of

    return user_of(request)


def _error(status: int, code: str, message: str, details: Any = None) -> Exception:
    from datalux.core.api import ApiError

    return ApiError(status, code, message, details)


def _visible(request: HttpRequest, pid: str) -> Dataset:
    queryset = Dataset.objects.visible_to(_user(request)).select_related("publisher")
    return get_object_or_404(queryset, pid=pid)


def _version(request: HttpRequest, pid: str, number: int) -> DatasetVersion:
    dataset = _visible(request, pid)
    return get_object_or_404(dataset.versions.select_related("dataset"), number=number)


class VersionOut(Schema):
    number: int
    uploaded_at: datetime
    rows: int
    columns: int
    kpis: dict[str, Any]
    quality_url: str
    quality_ttl_url: str


def _out(version: DatasetVersion) -> dict[str, Any]:
    quality = version.published_quality
    base = f"/api/v1/catalogue/datasets/{version.dataset.pid}/versions/{version.number}"
    return {
        "number": version.number,
        "uploaded_at": version.uploaded_at,
        "rows": int(quality.get("rows", 0)),
        "columns": int(quality.get("columns", 0)),
        "kpis": {**quality.get("kpis", {}), **timeliness(quality)} if quality else {},
        "quality_url": f"{base}/quality",
        "quality_ttl_url": f"{base}/quality.ttl",
    }


@router.post("/datasets/{pid}/versions", response={201: VersionOut})
def upload(request: HttpRequest, pid: str, file: File[UploadedFile | None] = None) -> Status:
    """Upload a new version (CSV or Parquet), checked against the data dictionary."""
    from datalux.core.api import require

    dataset = _visible(request, pid)
    user = require(request, Permission.MANAGE_HOLDINGS, dataset)
    cut_off = too_large(request)
    try:
        if cut_off is not None:
            raise refuse_oversized(dataset=dataset, filename=cut_off[0], size=cut_off[1], by=user)
        if file is None:
            raise _error(
                422,
                "invalid",
                "send the data file in the multipart form field 'file'",
                [{"loc": ["file"], "msg": "Field required"}],
            )
        version = upload_version(
            dataset=dataset, source=file, filename=file.name or "upload", by=user
        )
    except UploadRejected as exc:
        if exc.too_large:
            problem = next(p for p in exc.report.errors if p.problem == "too_large")
            raise _error(413, "too_large", problem.message, exc.report.to_dict()) from None
        raise _error(
            422,
            "upload_rejected",
            "the file does not match the data dictionary: see details for each problem",
            exc.report.to_dict(),
        ) from None
    except ValidationError as exc:
        raise _error(409, "no_dictionary", " ".join(exc.messages)) from None
    return Status(201, _out(version))


@router.get("/datasets/{pid}/versions", response=list[VersionOut], auth=_reader)
def versions(request: HttpRequest, pid: str) -> list[dict[str, Any]]:
    """The versions of a dataset, newest first, with their quality KPIs."""
    dataset = _visible(request, pid)
    return [_out(v) for v in dataset.versions.select_related("dataset")]


@router.get("/datasets/{pid}/versions/{number}/quality", auth=_reader)
def quality(request: HttpRequest, pid: str, number: int) -> dict[str, Any]:
    """The quality profile of one version (timeliness as of now)."""
    profile = dict(_version(request, pid, number).published_quality)
    if profile:
        profile["kpis"] = {**profile.get("kpis", {}), **timeliness(profile)}
    return profile


@router.get("/datasets/{pid}/versions/{number}/quality.ttl", auth=_reader)
def quality_ttl(request: HttpRequest, pid: str, number: int) -> HttpResponse:
    """The quality profile of one version as W3C DQV, in Turtle."""
    version = _version(request, pid, number)
    return HttpResponse(quality_turtle(version), content_type="text/turtle; charset=utf-8")
