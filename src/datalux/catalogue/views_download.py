"""The download of an open dataset's stored file (protected datasets never: 404)."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from datalux.catalogue.downloads import open_download
from datalux.catalogue.models import Dataset
from datalux.catalogue.vocabularies import MEDIA_TYPES


@require_GET
def distribution_download(request: HttpRequest, pid: str, pk: int) -> FileResponse:
    """Stream the file with its media type, size and name; anyone may, as for the dataset page."""
    dataset = get_object_or_404(Dataset.objects.select_related("publisher"), pid=pid)
    dist, path = open_download(dataset=dataset, pk=pk, by=request.user)
    media_type = dist.media_type or MEDIA_TYPES.get(dist.file_format, "application/octet-stream")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{dataset.slug}{path.suffix}",
        content_type=media_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
