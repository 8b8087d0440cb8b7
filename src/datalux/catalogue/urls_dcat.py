"""DCAT-AP, persistent-identifier and harvesting URLs (mounted at the site root)."""

from django.urls import path

from datalux.catalogue import views_dcat, views_harvest

app_name = "dcat"
urlpatterns = [
    path("catalogue/dcat", views_dcat.catalogue_dcat, name="catalogue"),
    path("id/dataset/<str:pid>", views_dcat.dataset_dcat, name="dataset"),
    path("id/dataset/<str:pid>/schema", views_dcat.dataset_schema, name="dataset_schema"),
    path("id/catalogue/<slug:slug>", views_dcat.catalogue_uri, name="catalogue_uri"),
    path("id/data-product/<int:pk>", views_dcat.data_product_dcat, name="data_product"),
    path("catalogue/harvest/", views_harvest.harvest_sources, name="harvest_sources"),
    path("catalogue/harvest/<int:pk>/run", views_harvest.harvest_run, name="harvest_run"),
    path("catalogue/harvest/<int:pk>/runs/", views_harvest.harvest_history, name="harvest_history"),
    path(
        "catalogue/harvest/runs/<int:pk>/confirm",
        views_harvest.harvest_run_confirm,
        name="harvest_run_confirm",
    ),
    path(
        "catalogue/harvest/runs/<int:pk>/discard",
        views_harvest.harvest_run_discard,
        name="harvest_run_discard",
    ),
]
