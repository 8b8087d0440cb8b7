"""Catalogue search: what it finds, facets, sort, pages, hostile input, visibility, reindexing."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from datalux.catalogue import actions
from datalux.catalogue.models import Dataset, DatasetStatus, Distribution
from datalux.catalogue.search import (
    FACETS,
    SearchError,
    SearchQuery,
    SearchResult,
    fold,
    rebuild_index,
    search,
    words,
)
from datalux.catalogue.vocabularies import AccessRights, Frequency
from tests.factories.accounts import OrganisationFactory
from tests.factories.catalogue import CatalogueFactory, DatasetFactory, VariableFactory

pytestmark = pytest.mark.django_db


def pids(result: SearchResult) -> set[str]:
    return {d.pid for d in result.datasets}


def find(text: str = "", user: Any = None, **kwargs: Any) -> SearchResult:
    kwargs.setdefault("page_size", 100)
    return search(user, SearchQuery(text=text, **kwargs))


@pytest.fixture
def catalogue() -> dict[str, Any]:
    CatalogueFactory()
    health = OrganisationFactory(name="Health Directorate")
    statec = OrganisationFactory(name="Statistics Office")
    now = timezone.now()
    stays = DatasetFactory(
        publisher=health,
        title={"en": "Hospital stays", "fr": "Séjours hospitaliers"},
        description={
            "en": "Every stay in a Luxembourg hospital.",
            "fr": "Les données des séjours.",
        },
        keywords=["hospital", "inpatient"],
        themes=["HEAL"],
        access_rights=AccessRights.NON_PUBLIC,
        accrual_periodicity=Frequency.ANNUAL,
        modified=now - timedelta(days=3),
    )
    VariableFactory(
        dataset=stays, name="birth_date", label={"en": "Date of birth", "fr": "Date de naissance"}
    )
    VariableFactory(dataset=stays, name="diagnosis_code", label={"en": "Main diagnosis"})
    prescriptions = DatasetFactory(
        publisher=health,
        title={"en": "Prescriptions", "fr": "Ordonnances"},
        description={"en": "Medicines dispensed by pharmacies, linked to hospital admissions."},
        keywords=["medicines", "pharmacy"],
        themes=["HEAL", "SOCI"],
        access_rights=AccessRights.RESTRICTED,
        accrual_periodicity=Frequency.MONTHLY,
        modified=now - timedelta(days=1),
    )
    VariableFactory(dataset=prescriptions, name="atc_code", label={"en": "ATC code"})
    employment = DatasetFactory(
        publisher=statec,
        title={"en": "Employment register", "de": "Beschäftigungsregister"},
        description={"en": "Jobs held by residents and cross-border workers."},
        keywords=["jobs"],
        themes=["ECON"],
        access_rights=AccessRights.PUBLIC,
        accrual_periodicity=Frequency.MONTHLY,
        modified=now - timedelta(days=2),
    )
    VariableFactory(
        dataset=employment,
        name="nace_sector",
        label={"en": "Economic sector (hospital, retail...)"},
    )
    Distribution.objects.create(dataset=employment, title={"en": "CSV"}, file_format="CSV")
    Distribution.objects.create(dataset=employment, title={"en": "Parquet"}, file_format="PARQUET")
    Distribution.objects.create(dataset=stays, title={"en": "Parquet"}, file_format="PARQUET")
    draft = DatasetFactory(
        publisher=statec,
        title={"en": "Hospital staff draft"},
        keywords=["hospital"],
        themes=["HEAL"],
        access_rights=AccessRights.PUBLIC,
        status=DatasetStatus.DRAFT,
        modified=now,
    )
    return {
        "health": health,
        "statec": statec,
        "stays": stays,
        "prescriptions": prescriptions,
        "employment": employment,
        "draft": draft,
    }


def test_folding_and_words() -> None:
    assert fold("Données ÉCOLE") == "donnees ecole"
    assert words("birth_date, Séjours! 2024") == ["birth", "date", "sejours", "2024"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hospital stays", {"stays"}),  # title (EN)
        ("séjours hospitaliers", {"stays"}),  # title (FR)
        ("sejours hospitaliers", {"stays"}),  # without accents
        ("SÉJOURS", {"stays"}),  # case
        ("ordonnances", {"prescriptions"}),  # FR title
        ("beschaftigungsregister", {"employment"}),  # DE title, umlaut folded
        ("pharmacies", {"prescriptions"}),  # description
        ("données", {"stays"}),  # FR description
        ("inpatient", {"stays"}),  # keyword
        ("birth_date", {"stays"}),  # variable name
        ("diagnosis", {"stays"}),  # part of a variable name
        ("naissance", {"stays"}),  # variable label (FR)
        ("atc", {"prescriptions"}),  # short word: exact, variable name/label
        ("hospital", {"stays", "prescriptions", "employment"}),  # title, description, label
        ("hosp", {"stays", "prescriptions", "employment"}),  # prefix of four letters
        ("medicine", {"prescriptions"}),  # prefix finds the plural
        ("hospital jobs", {"employment"}),  # every word must match
        ("nothing-like-this", set()),
    ],
)
def test_finds_by_every_field(catalogue: dict[str, Any], text: str, expected: set[str]) -> None:
    result = find(text)
    assert pids(result) == {catalogue[k].pid for k in expected}
    assert result.total == len(expected)


def test_finds_by_pid(catalogue: dict[str, Any]) -> None:
    assert pids(find(catalogue["employment"].pid)) == {catalogue["employment"].pid}


def test_no_text_lists_every_visible_dataset_newest_first(catalogue: dict[str, Any]) -> None:
    result = find("")
    assert [d.pid for d in result.datasets] == [
        catalogue[k].pid for k in ("prescriptions", "employment", "stays")
    ]
    assert result.sort == "modified"


def test_relevance_puts_title_matches_first(catalogue: dict[str, Any]) -> None:
    result = find("hospital", sort="relevance")
    order = [d.pid for d in result.datasets]
    # "Hospital stays" has the word in its title and keywords; the others only in the
    # description (prescriptions) or a variable label (employment).
    assert order[0] == catalogue["stays"].pid
    assert order.index(catalogue["prescriptions"].pid) < order.index(catalogue["employment"].pid)


def test_sort_by_modified(catalogue: dict[str, Any]) -> None:
    result = find("hospital", sort="modified")
    assert [d.pid for d in result.datasets] == [
        catalogue[k].pid for k in ("prescriptions", "employment", "stays")
    ]


def facet(result: SearchResult, name: str) -> dict[str, int]:
    return {v.value: v.count for f in result.facets if f.name == name for v in f.values}


def test_facets_are_counted_over_the_matching_set(catalogue: dict[str, Any]) -> None:
    result = find("hospital")
    matched = [catalogue[k] for k in ("stays", "prescriptions", "employment")]
    assert [f.name for f in result.facets] == list(FACETS)
    assert facet(result, "theme") == dict(Counter(t for d in matched for t in d.themes))
    assert facet(result, "keyword") == dict(Counter(k for d in matched for k in d.keywords))
    assert facet(result, "access_rights") == dict(Counter(d.access_rights for d in matched))
    assert facet(result, "frequency") == dict(Counter(d.accrual_periodicity for d in matched))
    assert facet(result, "publisher") == {
        catalogue["health"].slug: 2,
        catalogue["statec"].slug: 1,
    }
    assert facet(result, "format") == {"PARQUET": 2, "CSV": 1}

    narrower = find("pharmacies")
    assert facet(narrower, "theme") == {"HEAL": 1, "SOCI": 1}
    assert facet(narrower, "format") == {}


def test_facet_labels(catalogue: dict[str, Any]) -> None:
    result = find("")
    labels = {(f.name, v.value): v.label for f in result.facets for v in f.values}
    assert labels[("theme", "HEAL")] == "Health"
    assert labels[("publisher", catalogue["health"].slug)] == "Health Directorate"
    assert labels[("access_rights", "NON_PUBLIC")] == "Non-public"
    assert labels[("frequency", "MONTHLY")] == "Monthly"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"theme": ["SOCI"]}, {"prescriptions"}),
        ({"theme": ["SOCI", "ECON"]}, {"prescriptions", "employment"}),  # OR inside a facet
        ({"keyword": ["inpatient"]}, {"stays"}),
        ({"access_rights": ["PUBLIC"]}, {"employment"}),
        ({"format": ["PARQUET"]}, {"stays", "employment"}),
        ({"frequency": ["MONTHLY"]}, {"prescriptions", "employment"}),
        ({"frequency": ["MONTHLY"], "theme": ["HEAL"]}, {"prescriptions"}),  # AND across facets
        ({"theme": ["TRAN"]}, set()),
    ],
)
def test_facet_filters(
    catalogue: dict[str, Any], filters: dict[str, list[str]], expected: set[str]
) -> None:
    result = find("", filters=filters)
    assert pids(result) == {catalogue[k].pid for k in expected}
    assert result.total == len(expected)


def test_publisher_filter_and_selected_values_stay_visible(catalogue: dict[str, Any]) -> None:
    slug = catalogue["statec"].slug
    result = find("pharmacies", filters={"publisher": [slug]})
    assert result.total == 0
    (value,) = [v for f in result.facets if f.name == "publisher" for v in f.values]
    assert (value.value, value.count, value.selected, value.label) == (
        slug,
        0,
        True,
        "Statistics Office",
    )
    assert pids(find("", filters={"publisher": [slug]})) == {catalogue["employment"].pid}


def test_text_and_filters_together(catalogue: dict[str, Any]) -> None:
    result = find("hospital", filters={"theme": ["HEAL"]})
    assert pids(result) == {catalogue["stays"].pid, catalogue["prescriptions"].pid}
    assert facet(result, "theme") == {"HEAL": 2, "SOCI": 1}


def test_pages(catalogue: dict[str, Any]) -> None:
    health = catalogue["health"]
    for n in range(7):
        DatasetFactory(publisher=health, title={"en": f"Cancer registry extract {n}"}, keywords=[])
    seen: list[str] = []
    for page in (1, 2, 3):
        result = find("cancer", page=page, page_size=3)
        assert result.total == 7
        assert result.pages == 3
        assert result.has_previous == (page > 1)
        assert result.has_next == (page < 3)
        seen += [d.pid for d in result.datasets]
    assert len(seen) == 7 == len(set(seen))
    assert find("cancer", page=4, page_size=3).datasets == []


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "*",
        "AND OR NEAR(",
        "'; DROP TABLE catalogue_dataset; --",
        "title:hospital",
        "hospital*",
        "(",
        ")",
        "^",
        "-",
        "NOT",
        "\\",
        "%",
        "_",
        "\x00",
        "a" * 5000,
        " ".join(["hospital"] * 100),
        "🙂",
        "OR",
        "hospital AND",
        "NEAR(hospital stays, 2)",
        "'",
        "''",
        "{}",
        "::",
        ":*",
    ],
)
def test_hostile_queries_do_not_break_the_search(catalogue: dict[str, Any], text: str) -> None:
    result = find(text)
    assert isinstance(result, SearchResult)
    assert result.total == len(result.datasets)
    assert Dataset.objects.count() == 4  # nothing was dropped


def test_operators_are_plain_words(catalogue: dict[str, Any]) -> None:
    # "hospital OR jobs" is three words that must all match, not a disjunction
    assert pids(find("hospital OR jobs")) == set()
    assert pids(find("hospital* stays")) == {catalogue["stays"].pid}
    assert pids(find("NEAR(hospital stays)")) == set()  # near is a word here


def test_bad_queries_are_refused_with_a_clear_error() -> None:
    with pytest.raises(SearchError, match="sort order"):
        SearchQuery(sort="title")
    with pytest.raises(SearchError, match="from 1"):
        SearchQuery(page=0)
    with pytest.raises(SearchError, match="page size"):
        SearchQuery(page_size=1000)
    with pytest.raises(SearchError, match="facet"):
        SearchQuery(filters={"colour": ["red"]})


def test_drafts_of_other_holders_never_appear(catalogue: dict[str, Any], make_member: Any) -> None:
    draft = catalogue["draft"]
    assert draft.pid not in pids(find("hospital"))  # anonymous
    outsider = make_member("steward")  # steward of another holder
    assert draft.pid not in pids(find("hospital", user=outsider))
    assert draft.pid not in pids(find("", user=outsider))
    assert facet(find("hospital", user=outsider), "publisher") == {
        catalogue["health"].slug: 2,
        catalogue["statec"].slug: 1,
    }
    handler = make_member("handler")
    assert draft.pid not in pids(find("hospital", user=handler))
    owner = make_member("steward", organisation=catalogue["statec"])
    assert draft.pid in pids(find("hospital", user=owner))
    assert facet(find("staff", user=owner), "publisher") == {catalogue["statec"].slug: 1}


def test_reindex_after_update_dictionary_withdraw_and_delete(
    catalogue: dict[str, Any], make_member: Any
) -> None:
    stays = catalogue["stays"]
    steward = make_member("steward", organisation=catalogue["health"])
    actions.update_dataset(dataset=stays, by=steward, title={"en": "Inpatient episodes"})
    assert stays.pid not in pids(find("stays"))
    assert pids(find("episodes")) == {stays.pid}

    actions.set_dictionary(
        dataset=stays,
        by=steward,
        table_schema={"fields": [{"name": "ward_code", "labels": {"fr": "Code du service"}}]},
    )
    assert pids(find("ward")) == {stays.pid}
    assert pids(find("service")) == {stays.pid}
    assert stays.pid not in pids(find("naissance"))

    stays.variables.get(name="ward_code").delete()
    assert pids(find("ward")) == set()

    actions.withdraw_dataset(dataset=stays, by=steward)
    assert pids(find("episodes")) == set()  # public: gone
    assert pids(find("episodes", user=steward)) == {stays.pid}  # its steward still finds it

    employment = catalogue["employment"]
    employment.distributions.all().delete()
    employment.delete()
    assert pids(find("jobs")) == set()


def test_rebuild_index(catalogue: dict[str, Any]) -> None:
    Dataset.objects.filter(pk=catalogue["stays"].pk).update(title={"en": "Renamed quietly"})
    assert pids(find("quietly")) == set()  # update() sends no signal
    assert rebuild_index() == 4
    assert pids(find("quietly")) == {catalogue["stays"].pid}


def test_facets_follow_changes_made_after_they_were_counted(
    catalogue: dict[str, Any], make_member: Any
) -> None:
    assert facet(find(""), "format") == {"PARQUET": 2, "CSV": 1}
    Distribution.objects.create(dataset=catalogue["prescriptions"], title={}, file_format="JSON")
    assert facet(find(""), "format") == {"PARQUET": 2, "CSV": 1, "JSON": 1}
    catalogue["employment"].distributions.filter(file_format="CSV").delete()
    assert facet(find(""), "format") == {"PARQUET": 2, "JSON": 1}
    steward = make_member("steward", organisation=catalogue["health"])
    actions.update_dataset(dataset=catalogue["stays"], by=steward, themes=["TRAN"])
    assert facet(find(""), "theme") == {"HEAL": 1, "SOCI": 1, "ECON": 1, "TRAN": 1}
    # a dataset written without signals is found, and counted, all the same
    Dataset.objects.bulk_create(
        [Dataset(catalogue=catalogue["stays"].catalogue, publisher=catalogue["statec"],
                 slug="quiet", title={"en": "Quiet"}, themes=["TRAN"],
                 access_rights=AccessRights.PUBLIC, status=DatasetStatus.PUBLISHED)]
    )  # fmt: skip
    assert facet(find(""), "theme")["TRAN"] == 2
