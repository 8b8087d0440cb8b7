"""The Once Only pages (``onceonly:<name>``)."""

from django.urls import URLPattern, path

from datalux.onceonly import views

app_name = "onceonly"
urlpatterns: list[URLPattern] = [
    path("operations/", views.operations, name="operations"),
    path("protocols/", views.protocols, name="protocols"),
    path("protocols/<str:reference>/", views.protocol, name="protocol"),
]
