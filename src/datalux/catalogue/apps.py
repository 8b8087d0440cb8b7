from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "datalux.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"
