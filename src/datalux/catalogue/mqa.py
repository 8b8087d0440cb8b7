"""The data.europa.eu Metadata Quality Assessment (MQA) score, per dataset and per catalogue.

Source: data.europa.eu, *Metadata Quality Assessment methodology*
(https://data.europa.eu/mqa/methodology, and the data provider manual's "Metadata quality
dashboard" page, https://dataeuropa.gitlab.io/data-provider-manual/metadata-quality-dashboard/).
Its indicators, weights and ratings, as read there (the table :data:`INDICATORS` is that table):

* Findability (100): keywords ``dcat:keyword`` 30, categories ``dcat:theme`` 30, geo search
  ``dct:spatial`` 20, time-based search ``dct:temporal`` 20 - on the dataset;
* Accessibility (100): access URL accessible 50, download URL exists 20, download URL
  accessible 30 - on the distributions;
* Interoperability (110): format ``dct:format`` 20, media type ``dcat:mediaType`` 10, format or
  media type from a controlled vocabulary 10, non-proprietary format 20, machine-readable format
  20 - on the distributions; DCAT-AP compliance (SHACL) 30 - on the dataset;
* Reusability (75): licence ``dct:license`` 20, licence from a vocabulary 10 - on the
  distributions; access restrictions ``dct:accessRights`` 10, from the EU vocabulary 5, contact
  point 20, publisher 10 - on the dataset;
* Contextuality (20): rights ``dct:rights`` 5, file size ``dcat:byteSize`` 5, date of issue
  ``dct:issued`` 5, modification date ``dct:modified`` 5 - on the distributions;
* 405 points in all; rating Excellent 351-405, Good 221-350, Sufficient 121-220, Bad 0-120.

How distribution-level indicators aggregate (our reading of the methodology): a dataset earns
an indicator's points in proportion to the share of its distributions that meet it (2 of 4
distributions with a licence: 10 of 20 points; no distribution: none); a catalogue earns, for
each indicator, the share of *its* datasets (dataset-level indicators) or of all its
distributions (distribution-level indicators) that meet it, times the points. Scores are shown
rounded to whole points; the rating is that of the rounded score.

What we measure, and how it differs from the live MQA:

* the score is computed from the triples the DCAT-AP export produces
  (:class:`datalux.catalogue.dcat.Builder`), so it measures what harvesters see;
* "accessible" means the URL answers. No URL is fetched (no network): an address on this
  platform counts as accessible when Django's ``resolve()`` resolves its path; any other
  address is *unknown* and earns no points (the live MQA would fetch it);
* DCAT-AP compliance is the platform's SHACL validation against the official 3.0.1 shapes
  (:mod:`datalux.catalogue.shacl`): the result stored at the record's last publication check
  (``Dataset.shacl_conforms``), or a fresh validation where asked (``validate=True``).

The catalogue's score covers the platform's own catalogue (records of harvested catalogues
are scored where they are published); it is built in chunks of datasets, one pass over each
chunk's triples, with no SPARQL.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from rdflib import URIRef

from datalux.catalogue import dcat
from datalux.catalogue import vocabularies as vocab
from datalux.catalogue.dcat import DCAT, DCT, Builder, DatasetRows, TripleList
from datalux.core.absolute import base_url

MAX_POINTS = 405
CHUNK = 1000  # datasets built and scored at a time in the catalogue score


class Dimension(StrEnum):
    FINDABILITY = "findability"
    ACCESSIBILITY = "accessibility"
    INTEROPERABILITY = "interoperability"
    REUSABILITY = "reusability"
    CONTEXTUALITY = "contextuality"


DIMENSION_LABELS: dict[Dimension, Promise] = {
    Dimension.FINDABILITY: _("Findability"),
    Dimension.ACCESSIBILITY: _("Accessibility"),
    Dimension.INTEROPERABILITY: _("Interoperability"),
    Dimension.REUSABILITY: _("Reusability"),
    Dimension.CONTEXTUALITY: _("Contextuality"),
}


class Level(StrEnum):
    DATASET = "dataset"
    DISTRIBUTION = "distribution"


@dataclass(frozen=True)
class Indicator:
    """One MQA indicator: where it is read, what it is worth, and how a steward earns it."""

    key: str
    dimension: Dimension
    property: str  # the DCAT-AP property MQA reads
    points: int
    level: Level
    description: Promise
    fix: Promise


D, R = Level.DATASET, Level.DISTRIBUTION
F, A, I, U, C = (  # noqa: E741 - one letter per dimension, as in the methodology's table
    Dimension.FINDABILITY,
    Dimension.ACCESSIBILITY,
    Dimension.INTEROPERABILITY,
    Dimension.REUSABILITY,
    Dimension.CONTEXTUALITY,
)

INDICATORS: tuple[Indicator, ...] = (
    Indicator("keywords", F, "dcat:keyword", 30, D, _("Keywords are given."),
              _("Add keywords that people would search for.")),
    Indicator("themes", F, "dcat:theme", 30, D, _("Themes (EU data themes) are given."),
              _("Choose at least one EU data theme.")),
    Indicator("spatial", F, "dct:spatial", 20, D, _("The spatial coverage is given."),
              _("Give the area covered (Luxembourg, or the communes) as an EU or GeoNames "
                "place.")),
    Indicator("temporal", F, "dct:temporal", 20, D, _("The temporal coverage is given."),
              _("Give the period the data cover (start and end dates).")),
    Indicator("access_url_accessible", A, "dcat:accessURL", 50, R,
              _("The access URL of each distribution answers."),
              _("Give each distribution an access URL that works: a page of this platform, or "
                "an address outside it (not checked here, so it earns no points).")),
    Indicator("download_url", A, "dcat:downloadURL", 20, R,
              _("Each distribution has a download URL."),
              _("Upload the file (open data) so that it can be downloaded; protected data "
                "never have a download URL and lose these points.")),
    Indicator("download_url_accessible", A, "dcat:downloadURL", 30, R,
              _("The download URL of each distribution answers."),
              _("Serve the file from this platform (upload it), or give a download address "
                "that works (outside addresses are not checked here and earn no points).")),
    Indicator("format", I, "dct:format", 20, R, _("Each distribution states its format."),
              _("Choose the file format of each distribution.")),
    Indicator("media_type", I, "dcat:mediaType", 10, R,
              _("Each distribution states its media type."),
              _("Give the IANA media type of each distribution (e.g. text/csv).")),
    Indicator("format_vocabulary", I, "dct:format, dcat:mediaType", 10, R,
              _("Format or media type come from a controlled vocabulary."),
              _("Use a format of the EU file-type table or an IANA media type.")),
    Indicator("non_proprietary", I, "dct:format", 20, R,
              _("The format is non-proprietary."),
              _("Offer the data in an open format as well (CSV, Parquet, JSON...).")),
    Indicator("machine_readable", I, "dct:format", 20, R,
              _("The format is machine-readable."),
              _("Offer the data in a machine-readable format (CSV, Parquet, JSON...).")),
    Indicator("dcat_ap", I, "SHACL validation", 30, D,
              _("The record conforms to DCAT-AP 3.0.1 (no SHACL violation)."),
              _("Use 'Check and publish' and fix the DCAT-AP findings listed.")),
    Indicator("licence", U, "dct:license", 20, R, _("Each distribution has a licence."),
              _("Choose a licence for the dataset or for each distribution.")),
    Indicator("licence_vocabulary", U, "dct:license", 10, R,
              _("The licence comes from the EU licence vocabulary."),
              _("Choose one of the licences offered (EU licence vocabulary).")),
    Indicator("access_rights", U, "dct:accessRights", 10, D, _("Access rights are given."),
              _("Set the access rights (public, restricted, non-public).")),
    Indicator("access_rights_vocabulary", U, "dct:accessRights", 5, D,
              _("Access rights come from the EU access-right vocabulary."),
              _("Set the access rights from the list offered (EU vocabulary).")),
    Indicator("contact_point", U, "dcat:contactPoint", 20, D, _("A contact point is given."),
              _("Give a contact name and e-mail address.")),
    Indicator("publisher", U, "dct:publisher", 10, D, _("The publisher is given."),
              _("Every record here has its holder as publisher: check the record.")),
    Indicator("rights", C, "dct:rights", 5, R, _("Each distribution states its rights."),
              _("Describe the conditions for reuse.")),
    Indicator("byte_size", C, "dcat:byteSize", 5, R,
              _("Each distribution gives its size in bytes."),
              _("Upload the file, or give its size in bytes.")),
    Indicator("issued", C, "dct:issued", 5, R,
              _("Each distribution gives its date of issue."),
              _("Give each distribution its date of issue.")),
    Indicator("modified", C, "dct:modified", 5, R,
              _("Each distribution gives its modification date."),
              _("Give each distribution the date its data last changed.")),
)  # fmt: skip
BY_KEY = {indicator.key: indicator for indicator in INDICATORS}


class Rating(StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    SUFFICIENT = "sufficient"
    BAD = "bad"


RATING_LABELS: dict[Rating, Promise] = {
    Rating.EXCELLENT: _("Excellent"),
    Rating.GOOD: _("Good"),
    Rating.SUFFICIENT: _("Sufficient"),
    Rating.BAD: _("Bad"),
}
# The lowest score of each rating, best first.
RATING_FLOORS: tuple[tuple[int, Rating], ...] = (
    (351, Rating.EXCELLENT),
    (221, Rating.GOOD),
    (121, Rating.SUFFICIENT),
    (0, Rating.BAD),
)


def rating(points: int) -> Rating:
    """The MQA rating of a score (whole points, 0-405)."""
    if not 0 <= points <= MAX_POINTS:
        raise ValueError(f"an MQA score is between 0 and {MAX_POINTS}, not {points}")
    return next(r for floor, r in RATING_FLOORS if points >= floor)


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class IndicatorResult:
    """How many of the things an indicator is read on meet it (datasets or distributions)."""

    indicator: Indicator
    met: int
    of: int

    @property
    def share(self) -> float:
        return self.met / self.of if self.of else 0.0

    @property
    def points(self) -> float:
        return self.indicator.points * self.share

    @property
    def lost(self) -> float:
        return self.indicator.points - self.points


@dataclass(frozen=True)
class DimensionResult:
    dimension: Dimension
    points: float
    max_points: int

    @property
    def label(self) -> str:
        return str(DIMENSION_LABELS[self.dimension])

    @property
    def rounded(self) -> int:
        return round(self.points)


@dataclass(frozen=True)
class Score:
    """An MQA score: every indicator's result, the total, the rating, the points per dimension."""

    results: list[IndicatorResult]
    datasets: int = 1
    distributions: int = 0

    @property
    def points(self) -> int:
        return round(sum(r.points for r in self.results))

    @property
    def max_points(self) -> int:
        return MAX_POINTS

    @property
    def rating(self) -> Rating:
        return rating(self.points)

    @property
    def rating_label(self) -> str:
        return str(RATING_LABELS[self.rating])

    @property
    def dimensions(self) -> list[DimensionResult]:
        points: dict[Dimension, float] = defaultdict(float)
        totals: dict[Dimension, int] = defaultdict(int)
        for r in self.results:
            points[r.indicator.dimension] += r.points
            totals[r.indicator.dimension] += r.indicator.points
        return [DimensionResult(d, points[d], totals[d]) for d in Dimension]

    @property
    def losing(self) -> list[IndicatorResult]:
        """The indicators that lose points, the costliest first."""
        losing = [r for r in self.results if r.lost > 1e-9]
        return sorted(losing, key=lambda r: -r.lost)

    def result(self, key: str) -> IndicatorResult:
        return next(r for r in self.results if r.indicator.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "max_points": MAX_POINTS,
            "rating": str(self.rating),
            "rating_label": self.rating_label,
            "datasets": self.datasets,
            "distributions": self.distributions,
            "dimensions": [
                {
                    "dimension": str(d.dimension),
                    "label": d.label,
                    "points": round(d.points, 1),
                    "max_points": d.max_points,
                }
                for d in self.dimensions
            ],
            "indicators": [
                {
                    "key": r.indicator.key,
                    "dimension": str(r.indicator.dimension),
                    "property": r.indicator.property,
                    "level": str(r.indicator.level),
                    "max_points": r.indicator.points,
                    "points": round(r.points, 1),
                    "met": r.met,
                    "of": r.of,
                    "description": str(r.indicator.description),
                    "fix": str(r.indicator.fix) if r.lost > 1e-9 else "",
                }
                for r in self.results
            ],
        }


# ---------------------------------------------------------------------------------------------
# Reading the exported triples

LICENCE_VOCABULARY = f"{vocab.EU_AUTHORITY}/licence/"
ACCESS_RIGHT_VOCABULARY = f"{vocab.EU_AUTHORITY}/access-right/"
FILE_TYPE_VOCABULARY = vocab.file_type_uri("")
_KNOWN_LICENCES = frozenset(vocab.LICENCES.values())
_ACCESS_RIGHTS = frozenset(vocab.access_rights_uri(code) for code in vocab.AccessRights.values)
_FILE_TYPES = frozenset(vocab.file_type_uri(code) for code in vocab.FileType.values) | frozenset(
    vocab.file_type_uri(code)
    for code in vocab.MACHINE_READABLE_FORMATS | vocab.NON_PROPRIETARY_FORMATS
)
_MACHINE_READABLE = frozenset(vocab.file_type_uri(c) for c in vocab.MACHINE_READABLE_FORMATS)
_NON_PROPRIETARY = frozenset(vocab.file_type_uri(c) for c in vocab.NON_PROPRIETARY_FORMATS)


class _Resolver:
    """Whether an address answers, without fetching it: ours if its path resolves, else unknown."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self._seen: dict[str, bool] = {}

    def accessible(self, url: str) -> bool:
        known = self._seen.get(url)
        if known is None:
            known = self._seen[url] = self._resolve(url)
        return known

    def _resolve(self, url: str) -> bool:
        if not url.startswith(self.base + "/"):
            return False  # outside this platform: not fetched, so unknown (no points)
        path = urlsplit(url).path
        prefix = urlsplit(self.base).path
        try:
            resolve(path[len(prefix) :] if prefix and path.startswith(prefix) else path)
        except Resolver404:
            return False
        return True


def _index(triples: Iterable[tuple[Any, Any, Any]]) -> dict[Any, dict[Any, list[Any]]]:
    """subject -> predicate -> objects, in one pass over the triples."""
    index: dict[Any, dict[Any, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in triples:
        index[s][p].append(o)
    return index


def _dataset_checks(props: dict[Any, list[Any]], conforms: bool | None) -> dict[str, bool]:
    rights = [str(o) for o in props.get(DCT.accessRights, ())]
    return {
        "keywords": bool(props.get(DCAT.keyword)),
        "themes": bool(props.get(DCAT.theme)),
        "spatial": bool(props.get(DCT.spatial)),
        "temporal": bool(props.get(DCT.temporal)),
        "dcat_ap": conforms is True,
        "access_rights": bool(rights),
        "access_rights_vocabulary": bool(rights) and all(r in _ACCESS_RIGHTS for r in rights),
        "contact_point": bool(props.get(DCAT.contactPoint)),
        "publisher": bool(props.get(DCT.publisher)),
    }


def _distribution_checks(props: dict[Any, list[Any]], resolver: _Resolver) -> dict[str, bool]:
    access = [str(o) for o in props.get(DCAT.accessURL, ())]
    download = [str(o) for o in props.get(DCAT.downloadURL, ())]
    formats = [str(o) for o in props.get(DCT.format, ())]
    media = [str(o) for o in props.get(DCAT.mediaType, ())]
    licences = [str(o) for o in props.get(DCT.license, ())]
    return {
        "access_url_accessible": bool(access) and all(map(resolver.accessible, access)),
        "download_url": bool(download),
        "download_url_accessible": bool(download) and all(map(resolver.accessible, download)),
        "format": bool(formats),
        "media_type": bool(media),
        "format_vocabulary": any(f in _FILE_TYPES for f in formats)
        or any(m.startswith(dcat.IANA_MEDIA_TYPES) for m in media),
        "non_proprietary": any(f in _NON_PROPRIETARY for f in formats),
        "machine_readable": any(f in _MACHINE_READABLE for f in formats),
        "licence": bool(licences),
        "licence_vocabulary": bool(licences)
        and all(lic in _KNOWN_LICENCES or lic.startswith(LICENCE_VOCABULARY) for lic in licences),
        "rights": bool(props.get(DCT.rights)),
        "byte_size": bool(props.get(DCAT.byteSize)),
        "issued": bool(props.get(DCT.issued)),
        "modified": bool(props.get(DCT.modified)),
    }


@dataclass
class _Tally:
    """Counts per indicator (met, of), added up over datasets or over a whole catalogue."""

    met: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    of: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    datasets: int = 0
    distributions: int = 0

    def add(self, checks: dict[str, bool]) -> None:
        for key, ok in checks.items():
            self.of[key] += 1
            self.met[key] += ok

    def score(self) -> Score:
        results = [IndicatorResult(i, self.met[i.key], self.of[i.key]) for i in INDICATORS]
        return Score(results, datasets=self.datasets, distributions=self.distributions)


def _tally(
    index: dict[Any, dict[Any, list[Any]]], node: Any, conforms: bool | None, resolver: _Resolver
) -> _Tally:
    """The counts of one dataset (its node in the index) and its distributions."""
    props = index.get(node, {})
    tally = _Tally(datasets=1)
    tally.add(_dataset_checks(props, conforms))
    for dist in props.get(DCAT.distribution, ()):
        tally.distributions += 1
        tally.add(_distribution_checks(index.get(dist, {}), resolver))
    for indicator in INDICATORS:  # a dataset without distribution: 0 of 1
        if indicator.level is Level.DISTRIBUTION and not tally.of[indicator.key]:
            tally.of[indicator.key] = 1
    return tally


def _score_rows(
    rows: Sequence[DatasetRows],
    builder: Builder,
    resolver: _Resolver,
    conforms: dict[int, bool | None],
    each: Any,
) -> None:
    """Build the rows' DCAT-AP triples and tally them (``each(dataset, tally)`` per dataset)."""
    triples = builder.graph
    assert isinstance(triples, TripleList)
    triples.clear()
    nodes = [(row, builder.dataset(row)) for row in rows]
    index = _index(triples)
    for row, node in nodes:
        each(row.dataset, _tally(index, node, conforms.get(row.dataset.pk), resolver))


# ---------------------------------------------------------------------------------------------
# Public entry points


def score_triples(
    triples: Iterable[tuple[Any, Any, Any]],
    dataset: str,
    *,
    conforms: bool | None,
    base: str | None = None,
) -> Score:
    """The MQA score of the dataset ``dataset`` (its IRI) described by any DCAT-AP triples.

    ``conforms`` is the SHACL verdict on the record; ``base`` the platform's own address
    (addresses under it are checked with ``resolve()``; default: the export's base).
    """
    resolver = _Resolver(base if base is not None else base_url())
    return _tally(_index(triples), URIRef(dataset), conforms, resolver).score()


def dataset_score(dataset: Any, *, validate: bool = False) -> Score:
    """The MQA score of one dataset record (drafts too), from its DCAT-AP description.

    ``validate=True`` runs the SHACL validation now instead of reading the stored result of the
    last publication check.
    """
    conforms = dataset.shacl_conforms
    if validate:
        from datalux.catalogue.shacl import validate_dataset

        conforms = validate_dataset(dataset).conforms
    builder = Builder(TripleList())
    scores: list[Score] = []
    _score_rows(
        dcat.prefetch([dataset]),
        builder,
        _Resolver(builder.base),
        {dataset.pk: conforms},
        each=lambda _ds, tally: scores.append(tally.score()),
    )
    return scores[0]


def published_score() -> Score:
    """:func:`catalogue_score` of the platform's catalogue, kept in the cache until a record
    changes (for the public metrics page and API: the score of 10,000 datasets takes seconds).

    The cache key is a fingerprint of the published records - count, newest change, SHACL
    verdicts, distributions - and of the export's base address.
    """
    from django.core.cache import cache
    from django.db.models import Count, Max, Q

    from datalux.catalogue.models import Distribution

    published = dcat.published_datasets().filter(catalogue__is_local=True).order_by()
    fingerprint = (
        base_url(),
        published.aggregate(
            n=Count("pk"), top=Max("pk"), latest=Max("modified"),
            conforms=Count("pk", filter=Q(shacl_conforms=True)),
        ),
        Distribution.objects.filter(dataset__in=published).aggregate(
            n=Count("pk"), top=Max("pk"), latest=Max("modified"), issued=Max("issued"),
        ),
    )  # fmt: skip
    key = "datalux.mqa." + hashlib.sha256(repr(fingerprint).encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        score = catalogue_score()
        cached = (
            {r.indicator.key: (r.met, r.of) for r in score.results},
            score.datasets,
            score.distributions,
        )
        cache.set(key, cached, timeout=24 * 3600)
    counts, datasets, distributions = cached
    results = [IndicatorResult(i, *counts[i.key]) for i in INDICATORS]
    return Score(results, datasets=datasets, distributions=distributions)


def catalogue_score(catalogue: Any = None) -> Score:
    """The MQA score of a catalogue's published datasets (default: the platform's own).

    Dataset-level indicators count datasets, distribution-level ones all the catalogue's
    distributions; a dataset without distribution counts as one distribution meeting nothing.
    """
    from datalux.catalogue.models import Catalogue

    if catalogue is None:
        catalogue = Catalogue.objects.filter(is_local=True).order_by("pk").first()
    total = _Tally(datasets=0)
    if catalogue is None:
        return total.score()
    queryset = dcat.published_datasets().filter(catalogue=catalogue)
    builder = Builder(TripleList())
    resolver = _Resolver(builder.base)

    def add(_dataset: Any, tally: _Tally) -> None:
        total.datasets += 1
        total.distributions += tally.distributions
        for key, n in tally.of.items():
            total.of[key] += n
            total.met[key] += tally.met[key]

    last_pk = 0
    with dcat._collector_paused():  # no reference cycles here either (see the export)
        while True:
            chunk = list(queryset.filter(pk__gt=last_pk)[:CHUNK])
            if not chunk:
                break
            last_pk = chunk[-1].pk
            conforms = {d.pk: d.shacl_conforms for d in chunk}
            _score_rows(dcat.prefetch(chunk), builder, resolver, conforms, each=add)
    return total.score()
