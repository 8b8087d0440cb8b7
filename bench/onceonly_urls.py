"""datalux's URLs plus the baseline of the Once Only benchmark (``bench.onceonly_site``).

``POST /bench/lookup`` takes the same JSON as ``/api/v1/onceonly/exchanges`` and does the
same token lookup and the same person lookup in the authentic source's current version, but no
protocol check, no pseudonym and no exchange-log entry (no hash, no signature, no write).
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from datalux.onceonly import exchange, lookup
from datalux.onceonly.models import AuthenticSource
from datalux.urls import urlpatterns as datalux_urls

# the one source the baseline reads (set by the benchmark's worker before it starts gunicorn)
SOURCE_PID = os.environ.get("DATALUX_BENCH_SOURCE", "")


@csrf_exempt
def lookup_view(request: HttpRequest) -> JsonResponse:
    try:
        exchange.find_token(exchange.bearer(request.headers.get("Authorization", "")))
    except exchange.Unauthenticated:
        return JsonResponse({"error": {"code": "unauthenticated"}}, status=401)
    body = json.loads(request.body)
    source = AuthenticSource.objects.only("dataset_id", "key_item").get(dataset__pid=SOURCE_PID)
    index = lookup.index(source.dataset_id, source.key_item)
    data = index.record(body["national_number"], body["items"])
    return JsonResponse({"results": [{"index": 0, "found": data is not None, "data": data}]})


urlpatterns: list[Any] = [path("bench/lookup", lookup_view), *datalux_urls]
