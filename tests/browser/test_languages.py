"""The site in French and German, as a browser that asks for them sees it.

A French-speaking applicant finds a dataset, starts an application and meets a refusal, all in
French; the language switcher turns the same pages German and the choice sticks; the login form,
the catalogue and the error pages follow. tests/core/test_translations.py proves that no English
is left anywhere; these prove that a real browser's language choice reaches the pages.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from datalux.access.models import Application
from tests.access.world import World
from tests.browser.conftest import login
from tests.browser.test_access_journeys import field, message, screenshot

pytestmark = pytest.mark.browser


def test_a_french_browser_gets_the_catalogue_and_the_application_in_french(
    open_page: Any, world: World
) -> None:
    page: Page = open_page(locale="fr-LU")
    login(page, "ana", language="fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    pid = world.stays.pid

    page.goto("/catalogue/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue de données")
    expect(page.get_by_role("button", name="Rechercher")).to_be_visible()
    screenshot(page, "fr-catalogue")

    page.goto(f"/catalogue/datasets/{pid}/")
    expect(page.get_by_role("heading", name="Conditions d'accès")).to_be_visible()
    expect(page.get_by_role("heading", name="Dictionnaire de données")).to_be_visible()
    expect(page.locator("dd").filter(has_text="Santé")).to_have_count(1)  # the theme by name
    screenshot(page, "fr-dataset")
    page.get_by_role("link", name="Demander l'accès").click()
    field(page, "Titre du projet").fill("Réadmissions après insuffisance cardiaque")
    page.get_by_role("button", name="Créer le brouillon").click()

    # The dataset step: a filter the dictionary refuses gets a French error that says what to do.
    field(page, "age").check()
    first = page.get_by_role("group", name="Filtre 1")
    field(first, "Variable").select_option("age")
    field(first, "Opérateur").select_option(">=")
    field(first, "Valeur").fill("dix-huit")
    page.get_by_role("button", name="Enregistrer cette demande de jeu de données").click()
    expect(page.locator("main")).to_contain_text(
        "filtre 1 : age est un nombre : donnez un nombre comme 18"
    )
    screenshot(page, "fr-dataset-request-refused")
    field(first, "Valeur").fill("18")
    page.get_by_role("button", name="Enregistrer cette demande de jeu de données").click()
    expect(message(page)).to_contain_text(f"{pid} demandé avec 1 variable.")
    expect(page.locator("#state")).to_have_text("Brouillon")
    expect(
        page.locator("ul.gaps li").filter(has_text="nommez au moins une personne")
    ).to_have_count(1)
    screenshot(page, "fr-application")
    assert Application.objects.get(applicant=world.applicant).datasets.get().filters == [
        {"variable": "age", "op": ">=", "value": 18}
    ]


def test_the_switcher_turns_the_site_german_and_the_choice_sticks(
    open_page: Any, world: World
) -> None:
    page: Page = open_page(locale="fr-LU")
    login(page, "ana", language="fr")
    page.goto("/access/applications/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes demandes")
    page.get_by_label("Langue").select_option("de")
    page.get_by_role("button", name="Modifier").click()
    expect(page).to_have_url(re.compile(r"/access/applications/$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Anträge")
    expect(page.get_by_role("link", name="Neuer Antrag")).to_be_visible()
    screenshot(page, "de-applications")

    # The choice outlives the page: the next page, and the notifications, are German.
    page.goto("/catalogue/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Datenkatalog")
    world.applicant.refresh_from_db()
    assert world.applicant.language == "de"
    page.goto("/access/applications/DLX-X-0000-00000/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Seite nicht gefunden")
