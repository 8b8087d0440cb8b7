"""The steward's upload page (mounted under ``catalogue/``)."""

from django.urls import path

from datalux.catalogue import views_upload

app_name = "catalogue_upload"
urlpatterns = [
    path("datasets/<str:pid>/upload/", views_upload.upload, name="upload"),
]
