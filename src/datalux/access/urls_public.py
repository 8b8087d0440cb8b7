"""Filled in by the pages of this part of the access app."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
