"""Downloads of open data: the stored file of an open dataset's distribution, served as is.

Only a distribution that holds a stored data file (``data_file``) of a published, open
(``PUBLIC``) dataset is downloadable here; a protected dataset's files never are, whatever is
asked. Every download is an audit event (who, which dataset, which file, its checksum).
Distributions described by a remote catalogue keep their own (remote) download address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import Http404
from django.urls import reverse

from datalux.audit.kinds import EventKind
from datalux.audit.log import record
from datalux.catalogue.models import Dataset, DatasetStatus, Distribution
from datalux.core.absolute import absolute
from datalux.core.storage import stored_file


def download_path(pid: str, pk: int) -> str:
    return reverse("catalogue:distribution_download", args=[pid, pk])


def download_url(dist: Distribution, *, pid: str, protected: bool, request: Any = None) -> str:
    """The address a user downloads ``dist`` from; "" when there is none (protected data)."""
    if protected:
        return ""
    if dist.data_file_id:
        return absolute(download_path(pid, dist.pk), request)
    return dist.download_url


def open_download(*, dataset: Dataset, pk: int, by: Any) -> tuple[Distribution, Path]:
    """The distribution ``pk`` of ``dataset`` and its stored file, the download audited.

    Raises Http404 (nothing recorded) unless the dataset is published and open, the
    distribution holds a stored file and that file exists under the storage root.
    """
    if dataset.status != DatasetStatus.PUBLISHED or dataset.is_protected:
        raise Http404("only published open data can be downloaded")
    dist = (
        Distribution.objects.filter(dataset=dataset, pk=pk, data_file__isnull=False)
        .select_related("data_file")
        .first()
    )
    if dist is None:
        raise Http404("this distribution has no file stored here")
    path = stored_file(dist.data_file.relative_path)
    if path is None:
        raise Http404("the stored file is missing")
    record(
        EventKind.DISTRIBUTION_DOWNLOADED,
        actor=by,
        organisation=dataset.publisher,
        obj=dist,
        details={
            "pid": dataset.pid,
            "file": path.name,
            "sha256": dist.data_file.sha256,
            "bytes": dist.data_file.size_bytes,
        },
    )
    return dist, path
