"""The steward's upload page: send a new version of a dataset's data, see what was wrong.

GET shows the form, the dictionary the file must match and the versions so far with their
quality KPIs; POST calls :func:`datalux.catalogue.uploads.upload_version`. A refused file
answers 422 with the report (row, line, column, problem, fix). A file over the limit is cut
off while it is being received (an upload handler stops reading it), so it never fills the
disk.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from datalux.accounts.permissions import has_permission
from datalux.accounts.roles import Permission
from datalux.catalogue.models import Dataset
from datalux.catalogue.uploads import (
    UploadRejected,
    max_upload_bytes,
    refuse_oversized,
    upload_version,
)
from datalux.core.guards import deny, require_permission
from datalux.core.uploads import SizeLimitHandler


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Data file (CSV or Parquet)"),
        help_text=gettext_lazy(
            "CSV: UTF-8, a header line with the variable names of the dictionary, "
            "comma or semicolon separated. Parquet: one column per variable."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet"}),
    )


def _steward_dataset(request: HttpRequest, pid: str) -> Dataset:
    """The dataset if visible (else 404) and the user one of its stewards (else 403, audited)."""
    queryset = Dataset.objects.visible_to(request.user).select_related("publisher")
    dataset = get_object_or_404(queryset, pid=pid)
    if not has_permission(request.user, Permission.MANAGE_HOLDINGS, dataset):
        raise deny(
            request,
            Permission.MANAGE_HOLDINGS,
            _("only stewards of the dataset's publisher can upload its data"),
        )
    return dataset


@csrf_exempt  # the CSRF check runs in _upload, after the size limit is in place
@require_http_methods(["GET", "POST"])
@require_permission(Permission.MANAGE_HOLDINGS)
def upload(request: HttpRequest, pid: str) -> HttpResponse:
    request.upload_handlers.insert(0, SizeLimitHandler(request, max_upload_bytes()))
    return _upload(request, pid)


@csrf_protect
def _upload(request: HttpRequest, pid: str) -> HttpResponse:
    dataset = _steward_dataset(request, pid)
    form = UploadForm()
    report = None
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        too_large = getattr(request, "datalux_upload_too_large", None)
        try:
            if too_large is not None:
                raise refuse_oversized(
                    dataset=dataset, filename=too_large[0], size=too_large[1], by=request.user
                )
            if form.is_valid():
                uploaded = form.cleaned_data["file"]
                version = upload_version(
                    dataset=dataset, source=uploaded, filename=uploaded.name, by=request.user
                )
                messages.success(
                    request,
                    _("Version %(n)s stored: %(rows)s rows.")
                    % {"n": version.number, "rows": version.data_file.rows},
                )
                return redirect("catalogue_upload:upload", pid=dataset.pid)
            status = 400
        except UploadRejected as exc:
            report = exc.report
            status = 413 if exc.too_large else 422
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            status = 409
        except PermissionDenied as exc:  # the dataset changed hands meanwhile
            raise deny(request, Permission.MANAGE_HOLDINGS, str(exc)) from None
    context = {
        "dataset": dataset,
        "form": form,
        "report": report,
        "variables": list(dataset.variables.order_by("position")),
        "versions": list(dataset.versions.select_related("data_file", "uploaded_by")),
        "max_upload_mb": max_upload_bytes() // (1024 * 1024),
    }
    return render(request, "catalogue/upload.html", context, status=status)
