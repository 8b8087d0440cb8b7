"""Find English left in French or German pages: crawl the site as each demo user in three languages.

A visible text (or a ``title``/``placeholder``/``aria-label``/``alt`` attribute, or a button's
value) that reads the same in English and in the target language is a leftover, unless it is
stored data (a name, a title, a reference: anything found in the database's text columns), a
code or a number, inside an element marked ``translate="no"`` or carrying its own ``lang``, or a
text the translator kept as it is (its msgstr equals its msgid), or a name (``NAMES``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import Resolver404, resolve

from datalux.catalogue.vocabularies import Theme

LANGS = ("fr", "de")
# Names that are the same in every language (product, formats, standards).
NAMES = {
    "datalux",
    "Swagger",
    "OpenAPI",
    "DCAT-AP",
    "MQA",
    "Parquet",
    "CSV",
    "JSON",
    "Turtle",
    "RDF",
    "API",
    "SHACL",
    "XLSX",
    "DuckDB",
    "Spark",
    "GeoNames",
}


def same_in(lang: str) -> set[str]:
    """Texts a translator kept as they are in English (their msgstr equals the msgid)."""
    from django.utils.translation import trans_real

    catalog = trans_real.translation(lang)._catalog
    kept = {key for key in catalog.keys() if isinstance(key, str) and catalog[key] == key}
    # plural forms kept as in English ("%(n)s variables" in French): both forms, by their msgstr
    kept |= {
        catalog[(key[0], form)]
        for key in catalog.keys()
        if isinstance(key, tuple) and key[1] == 0 and catalog[key] == key[0]
        for form in (0, 1)
        if (key[0], form) in catalog
    }
    # a kept text with a number in it ("distribution %(n)s") is matched with its number as N
    return NAMES | kept | {PLACEHOLDER.sub("N", text) for text in kept if PLACEHOLDER.search(text)}


THEME_CODES = set(Theme.values)  # EU data-theme codes: shown by name, never as "HEAL"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
NUMBER = re.compile(r"\b\d+\b")


CODE = re.compile(
    r"^[\W\d_]*$"  # numbers, dates, punctuation
    r"|^[A-Z0-9][A-Z0-9_.:/-]*$"  # HEAL, DLX-A-2026-00001
    r"|^[A-Z][A-Za-z0-9]*(-[A-Za-z0-9.]+)+$"  # licence identifiers (ODbL-1.0, CC-BY-4.0)
    r"|^[a-z_]+(\.[a-z_]+)+$"  # event kinds (user.logged_in)
    r"|^\S+@\S+$|^https?://\S+$|^[\w.-]+\.(csv|parquet|json|ttl|rdf|pdf)$"
)
# References and identifiers inside a text ("DLX-A-2026-00005 Return to work…").
TOKEN = re.compile(r"\b[A-Z0-9]+(?:-[A-Z0-9]+)+\b")
SEPARATORS = re.compile(r"[·|,;:()\[\]—\u2013]+")
SKIP_PREFIXES = ("/admin/", "/api/", "/i18n/", "/static/", "/accounts/logout", "/healthz")
ATTRS = ("title", "placeholder", "aria-label", "alt")


@dataclass
class Texts(HTMLParser):
    """The visible texts of a page, with links found, minus scripts and foreign-language parts."""

    lang: str = ""
    texts: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    _stack: list[tuple[str, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "source", "wbr", "area", "col"})

    def _quiet(self) -> bool:
        return any(q for _, q in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
            return
        quiet = (
            tag in ("script", "style", "code", "pre", "kbd", "samp", "template")
            or a.get("translate") == "no"
            or ("lang" in a and tag != "html")
        )
        if not quiet and not self._quiet():
            for name in ATTRS:
                if a.get(name):
                    self.texts.append(a[name])
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.texts.append(a["value"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag not in self.VOID:
            self._stack.append((tag, quiet))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                return

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._quiet():
            self.texts.append(text)


def parse(html: str) -> Texts:
    page = Texts()
    page.feed(html)
    return page


def stored_texts() -> set[str]:
    """Every text value in the database (names, titles, references…): data, not interface."""
    found: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label in ("sessions", "admin", "contenttypes", "auth"):
            continue
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.SlugField)
            and not f.choices
        ]
        json_fields = [
            f.name for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
        ]
        for row in model.objects.values(*fields, *json_fields):
            for value in row.values():
                found.update(_strings(value))
    return found


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield " ".join(value.split())
        for line in value.splitlines():
            if line.strip():
                yield " ".join(line.split())
        # and its pieces, split as is_leftover splits a page's text
        for part in SEPARATORS.split(TOKEN.sub("·", value)):
            if part.strip():
                yield " ".join(part.split())
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def is_leftover(text: str, same: set[str], data: set[str]) -> bool:
    if any(p.strip() in THEME_CODES for p in SEPARATORS.split(text)):
        return True  # a vocabulary shown by its code ("HEAL") instead of its name
    if text in data or text in same or CODE.match(text):
        return False
    if not re.search(r"[A-Za-z]{3,}", text):
        return False
    # a text made only of stored values, codes and punctuation ("Jane Doe · DLX-A-2026-0001")
    parts = [p.strip() for p in SEPARATORS.split(TOKEN.sub("·", text)) if p.strip()]
    return not all(
        p in data or p in same or NUMBER.sub("N", p) in same or CODE.match(p) for p in parts
    )


def crawl(client: Client, limit_per_view: int = 2, limit: int = 80) -> Iterator[str]:
    """Paths a user can reach by links from the home page, a few of each view."""
    seen: set[str] = set()
    per_view: dict[str, int] = defaultdict(int)
    queue = ["/"]
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        yield path
        for href in parse(response.content.decode()).links:
            target, _ = urldefrag(href)
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                continue
            if parts.path.startswith(SKIP_PREFIXES):
                continue
            try:
                view = resolve(parts.path).view_name
            except Resolver404:
                continue
            candidate = parts.path + (f"?{parts.query}" if parts.query else "")
            if candidate in seen or candidate in queue:
                continue
            if per_view[view] >= limit_per_view:
                continue
            per_view[view] += 1
            queue.append(candidate)


def leftovers(client: Client, paths: list[str], data: set[str]) -> dict[str, dict[str, set[str]]]:
    """lang -> path -> English texts shown unchanged there (and a wrong ``<html lang>``)."""
    found: dict[str, dict[str, set[str]]] = {lang: defaultdict(set) for lang in LANGS}
    same = {lang: same_in(lang) for lang in LANGS}
    for path in paths:
        english = set(parse(client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()).texts)
        for lang in LANGS:
            page = parse(client.get(path, HTTP_ACCEPT_LANGUAGE=lang).content.decode())
            if page.lang != lang:
                found[lang][path].add(f"<html lang={page.lang!r}>")
            for text in page.texts:
                if text in english and is_leftover(text, same[lang], data):
                    found[lang][path].add(text)
    return found
