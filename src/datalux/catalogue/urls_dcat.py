"""DCAT-AP and persistent-identifier URLs (mounted at the site root)."""

from django.urls import path

from datalux.catalogue import views_dcat

app_name = "dcat"
urlpatterns = [
    path("catalogue/dcat", views_dcat.catalogue_dcat, name="catalogue"),
    path("id/dataset/<str:pid>", views_dcat.dataset_dcat, name="dataset"),
    path("id/dataset/<str:pid>/schema", views_dcat.dataset_schema, name="dataset_schema"),
    path("id/catalogue/<slug:slug>", views_dcat.catalogue_uri, name="catalogue_uri"),
]
