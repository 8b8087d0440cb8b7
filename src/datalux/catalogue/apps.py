from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "datalux.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"

    def ready(self) -> None:
        from datalux.catalogue import signals  # noqa: F401 - connects the search index
