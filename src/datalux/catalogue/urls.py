from django.urls import path

from datalux.catalogue import views, views_download, views_products

app_name = "catalogue"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("datasets/new/", views.dataset_create, name="dataset_create"),
    path("datasets/<str:pid>/", views.dataset_page, name="dataset"),
    path("datasets/<str:pid>/edit/", views.dataset_edit, name="dataset_edit"),
    path("datasets/<str:pid>/dictionary/", views.dataset_dictionary, name="dataset_dictionary"),
    path("datasets/<str:pid>/publish/", views.dataset_publish, name="dataset_publish"),
    path("datasets/<str:pid>/withdraw/", views.dataset_withdraw, name="dataset_withdraw"),
    path(
        "datasets/<str:pid>/distributions/<int:pk>/download",
        views_download.distribution_download,
        name="distribution_download",
    ),
    path("organisations/<slug:slug>/", views.organisation_page, name="organisation"),
    path("data-products/", views_products.data_product_list, name="data_products"),
    path("data-products/<int:pk>/", views_products.data_product_page, name="data_product"),
]
