"""Upload helpers shared by the apps that accept files.

:class:`UploadLimitMiddleware` puts a :class:`SizeLimitHandler` of ``DATALUX_MAX_UPLOAD_MB`` in
front of every multipart request before anything reads its body (the CSRF check, the API's
session authentication, a view), so a file over the limit is cut off while it arrives and never
reaches the disk, on the pages and the API alike. A view with a lower limit of its own (an
application's attachments) inserts its handler in front of this one. The request then carries
``datalux_upload_too_large = (file name, bytes received)`` for the view to answer with its
refusal (413).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse


class SizeLimitHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes ``limit`` bytes; the view then answers
    with a ``too_large`` report instead of storing gigabytes first."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.datalux_upload_too_large = (  # type: ignore[attr-defined]
                self.file_name or "upload",
                self.received,
            )
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def max_upload_bytes() -> int:
    """The site-wide upload limit: ``DATALUX_MAX_UPLOAD_MB`` mebibytes."""
    return int(settings.DATALUX_MAX_UPLOAD_MB) * 1024 * 1024


def too_large(request: HttpRequest) -> tuple[str, int] | None:
    """``(file name, bytes received)`` when an upload of ``request`` was cut off, else None."""
    return getattr(request, "datalux_upload_too_large", None)


class UploadLimitMiddleware:
    """Every multipart request reads its files through a :class:`SizeLimitHandler`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.content_type == "multipart/form-data":
            request.upload_handlers.insert(0, SizeLimitHandler(request, max_upload_bytes()))
        return self.get_response(request)
