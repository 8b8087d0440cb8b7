"""The extract pages (``spe:<name>``)."""

from django.urls import URLPattern, path

from datalux.spe import views

app_name = "spe"
urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("<str:number>/", views.preparation, name="preparation"),
    path("<str:number>/prepare/", views.prepare, name="prepare"),
]
