"""French and German are complete: every interface text is marked, translated, compiled and shown.

Four checks, each able to fail on its own:
- the catalogues are up to date with the sources and fully translated (``makemessages`` over a
  copy of the sources adds no untranslated, fuzzy or obsolete entry; ``msgfmt --check`` passes);
- the committed ``.mo`` files are the compiled ``.po`` files;
- no interface text in Python is left unmarked (``i18n_static``);
- crawling the demo as every demo user finds no English left on a French or German page, and
  ``<html lang>`` says the language shown (``i18n_crawl``).
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from datalux.accounts.models import User
from datalux.demo.seed import seed_demo
from tests.core import i18n_crawl, i18n_static

SRC = Path(__file__).resolve().parents[2] / "src" / "datalux"
LOCALE = SRC / "locale"
LANGS = ("fr", "de")
MSGFMT = shutil.which("msgfmt") or "msgfmt"  # Debian's gettext (scripts/system-deps installs it)


def _statistics(po: Path) -> str:
    done = subprocess.run(  # noqa: S603
        [MSGFMT, "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{po}: msgfmt --check failed:\n{done.stderr}"
    return done.stderr.strip()


def _catalog(mo: Path) -> dict[Any, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalogues merged with what ``makemessages`` extracts from the current sources."""
    copy = tmp_path_factory.mktemp("i18n") / "datalux"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    from django.conf import settings

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(copy)
        mp.setattr(settings, "LOCALE_PATHS", [copy / "locale"])
        call_command(
            "makemessages",
            locale=list(LANGS),
            no_location=True,
            ignore_patterns=["migrations/*"],
            verbosity=0,
        )
    return copy / "locale"


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete_and_up_to_date(regenerated: Path, lang: str) -> None:
    po = regenerated / lang / "LC_MESSAGES" / "django.po"
    stats = _statistics(po)
    assert not re.search(r"fuzzy|untranslated", stats), (
        f"{lang}: {stats} after makemessages: translate the new texts in "
        f"src/datalux/locale/{lang}/LC_MESSAGES/django.po (run `make messages`)"
    )
    obsolete = [
        line for line in po.read_text(encoding="utf-8").splitlines() if line.startswith("#~ msgid")
    ]
    assert not obsolete, f"{lang}: texts no longer in the sources: {obsolete[:5]}"
    committed = (LOCALE / lang / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert f'"Language: {lang}\\n"' in committed


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalogue_matches_its_source(tmp_path: Path, lang: str) -> None:
    po = LOCALE / lang / "LC_MESSAGES" / "django.po"
    fresh = tmp_path / "django.mo"
    subprocess.run([MSGFMT, "-o", str(fresh), str(po)], check=True)  # noqa: S603
    assert _catalog(LOCALE / lang / "LC_MESSAGES" / "django.mo") == _catalog(fresh), (
        f"{lang}: django.mo is stale: run `make messages`"
    )


def test_no_interface_text_left_unmarked() -> None:
    assert list(i18n_static.unmarked()) == []


def test_static_check_finds_an_unmarked_text(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text(
        "from django.contrib import messages\n"
        "def view(request):\n"
        "    messages.success(request, 'Saved.')\n"
        "    messages.success(request, _('Saved.'))\n"
        "    raise ValidationError({'f': f'{x} is wrong'})\n",
        encoding="utf-8",
    )
    assert [h.split(": ", 1)[0] for h in i18n_static.unmarked(tmp_path)] == [
        "app/views.py:3",
        "app/views.py:5",
    ]


def test_the_french_name_of_a_theme_is_shown() -> None:
    from datalux.catalogue.vocabularies import Theme

    with translation.override("fr"):
        assert str(Theme.HEAL.label) == "Santé"
    with translation.override("de"):
        assert str(Theme.HEAL.label) == "Gesundheit"


@pytest.mark.slow
@pytest.mark.django_db
def test_no_english_left_on_french_or_german_pages() -> None:
    seed_demo(persons=120, seed=5, echo=lambda _: None)
    data = i18n_crawl.stored_texts()
    problems: list[str] = []
    visited = 0
    for user in [None, *User.objects.order_by("username")]:
        client = Client()
        if user is not None:
            client.force_login(user)
        paths = list(i18n_crawl.crawl(client))
        visited += len(paths)
        for lang, pages in i18n_crawl.leftovers(client, paths, data).items():
            for path, texts in sorted(pages.items()):
                who = user.username if user else "anonymous"
                problems.append(f"{lang} {who} {path}: {sorted(texts)[:6]}")
    assert visited > 100, f"the crawl reached only {visited} pages"
    assert problems == [], "\n".join(problems[:40])


def test_crawl_finds_english_left_on_a_page() -> None:
    page = i18n_crawl.parse(
        '<html lang="fr"><body><h1>Jeux de données</h1><p>Search the catalogue</p>'
        '<code>HEAL</code><dd>HEAL, TRAN</dd><p lang="en">A title</p></body></html>'
    )
    assert page.lang == "fr"
    left = [t for t in page.texts if i18n_crawl.is_leftover(t, set(), {"stored"})]
    assert left == ["Jeux de données", "Search the catalogue", "HEAL, TRAN"]
