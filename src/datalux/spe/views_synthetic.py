"""The synthetic twins' pages: the operator asks for them, the researcher downloads them, both
read their reports. The actions are in :mod:`datalux.spe.synthetic` (every refusal audited)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from datalux.core.errors import Conflict
from datalux.spe import synthetic
from datalux.spe.views_workspace import _permit


@require_POST
def make(request: HttpRequest, number: str) -> HttpResponse:
    """Queue the making of the permit's twins (a trusted-third-party operator)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    permit = _permit(number)
    try:
        synthetic.request_synthetic_twin(permit=permit, by=request.user)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The synthetic twins of %(number)s are queued.") % {"number": permit.number},
        )
    return redirect("spe:preparation", number=permit.number)


@require_GET
@login_required
def download(request: HttpRequest, number: str, table: str) -> HttpResponse:
    """A twin's Parquet file, for an authorised person who may work with the data now."""
    permit = _permit(number)
    try:
        path = synthetic.download_twin(permit=permit, table=table, by=request.user)
    except Conflict as exc:
        raise PermissionDenied(str(exc)) from exc
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{table}.synthetic.parquet",
        content_type="application/vnd.apache.parquet",
    )
    add_never_cache_headers(response)
    return response


@require_GET
@login_required
def report(request: HttpRequest, number: str, table: str) -> HttpResponse:
    """A twin's full report (figures only), for the operators and the researchers."""
    permit = _permit(number)
    document = synthetic.report_of(permit=permit, table=table, by=request.user)
    response = JsonResponse(document, json_dumps_params={"indent": 2, "ensure_ascii": False})
    add_never_cache_headers(response)
    return response
