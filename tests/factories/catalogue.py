from __future__ import annotations

import factory

from datalux.accounts.roles import OrganisationKind
from datalux.catalogue.models import Catalogue, Dataset, DatasetStatus, Variable
from datalux.catalogue.vocabularies import AccessRights
from tests.factories.accounts import OrganisationFactory


class CatalogueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalogue
        django_get_or_create = ("slug",)

    slug = "datalux"
    title = factory.LazyFunction(lambda: {"en": "datalux national data catalogue"})
    description = factory.LazyFunction(lambda: {"en": "Every dataset, open or protected."})
    publisher = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.DATA_AUTHORITY)
    is_local = True


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    catalogue = factory.SubFactory(CatalogueFactory)
    publisher = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.DATA_HOLDER)
    slug = factory.Sequence(lambda n: f"dataset-{n}")
    title = factory.Sequence(lambda n: {"en": f"Dataset {n}", "fr": f"Jeu de données {n}"})
    description = factory.LazyFunction(lambda: {"en": "A dataset used in tests."})
    keywords = factory.LazyFunction(lambda: ["test"])
    themes = factory.LazyFunction(lambda: ["HEAL"])
    access_rights = AccessRights.RESTRICTED
    status = DatasetStatus.PUBLISHED
    contact_name = "Data steward"
    contact_email = "steward@example.lu"


class VariableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variable

    dataset = factory.SubFactory(DatasetFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"var_{n}")
    label = factory.LazyFunction(lambda: {"en": "A variable"})
    type = "string"
