"""Keep the search index (catalogue/search.py) in step with datasets and their variables.

Saving a dataset or one of its variables rewrites the dataset's index document in the same
transaction; deleting a dataset removes it. Adding or removing a distribution changes only the
format facet: it moves the token that tells every process to rebuild its facet table.
Bulk inserts send no signal: the code doing them calls ``search.reindex_dataset``
(``actions.set_dictionary``) or ``search.rebuild_index``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from datalux.catalogue import search
from datalux.catalogue.models import Dataset, Distribution, Variable


@receiver(post_save, sender=Dataset, dispatch_uid="catalogue_search_dataset_saved")
def dataset_saved(sender: Any, instance: Dataset, **kwargs: Any) -> None:
    search.reindex_dataset(instance)


@receiver(post_delete, sender=Dataset, dispatch_uid="catalogue_search_dataset_deleted")
def dataset_deleted(sender: Any, instance: Dataset, **kwargs: Any) -> None:
    search.remove_dataset(instance.pk)


@receiver(post_save, sender=Variable, dispatch_uid="catalogue_search_variable_saved")
@receiver(post_delete, sender=Variable, dispatch_uid="catalogue_search_variable_deleted")
def variable_changed(sender: Any, instance: Variable, **kwargs: Any) -> None:
    search.reindex_dataset(instance.dataset_id)


@receiver(post_save, sender=Distribution, dispatch_uid="catalogue_search_distribution_saved")
@receiver(post_delete, sender=Distribution, dispatch_uid="catalogue_search_distribution_deleted")
def distribution_changed(sender: Any, instance: Distribution, **kwargs: Any) -> None:
    search.touch()
