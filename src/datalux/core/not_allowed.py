"""A GET on an address that only accepts a form's POST (publish, withdraw, submit, decide…).

Django's ``require_POST`` answers such a GET with a bare, empty 405. Someone who followed a
link, reloaded a page or typed the address should instead read that the action is done with
its button, and find the way back to the object. The status stays 405 with its ``Allow``
header; the JSON API (under ``/api/``) keeps its own answers.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse


def _api_prefix() -> str:
    try:
        return reverse("api:api-root")
    except NoReverseMatch:
        return "/api/"


def back_to(path: str) -> str:
    """The nearest page above ``path`` (``/catalogue/datasets/X/publish/`` -> ``…/X/``)."""
    parts = [p for p in path.split("/") if p]
    while parts:
        parts.pop()
        for candidate in ("/" + "/".join(parts) + "/", "/" + "/".join(parts)):
            if candidate == "/":
                continue
            try:
                match = resolve(candidate)
            except Resolver404:
                continue
            if match.url_name:
                return candidate
    return reverse("home")


class FormActionGetMiddleware:
    """Turns the bare 405 of a GET on a POST-only page into an explanation with a way back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 405
            and request.method == "GET"
            and isinstance(response, HttpResponseNotAllowed)
            and not request.path.startswith(_api_prefix())
        ):
            page = render(
                request, "core/405.html", {"back": back_to(request.path_info)}, status=405
            )
            page["Allow"] = response["Allow"]
            return page
        return response
