"""Notifications and e-mails are written in the recipient's language, not the actor's."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import dateformat, translation

from datalux.access.models import Notification
from tests.access.world import World

pytestmark = pytest.mark.django_db


def test_each_recipient_reads_the_notification_in_their_own_language(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    world.applicant.language = "fr"
    world.applicant.save(update_fields=["language"])
    application = world.draft()
    with translation.override("de"), django_capture_on_commit_callbacks(execute=True):
        # the actor works in German; the applicant reads French, handlers the default English
        from datalux.access import actions

        actions.submit(application=application, by=world.applicant)
    mine = Notification.objects.get(user=world.applicant, application=application)
    assert mine.subject == f"{application.reference} reçue"
    assert "L'autorité des données a reçu « " in mine.body
    assert "Elle décide au plus tard le" in mine.body
    handlers = Notification.objects.filter(application=application).exclude(user=world.applicant)
    assert handlers and all("awaits handling" in n.body for n in handlers)
    sent = [m for m in mail.outbox if world.applicant.email in m.to]
    assert sent and sent[0].subject.endswith(mine.subject) and sent[0].body.startswith(mine.body)


def test_a_dated_text_is_written_the_recipients_way(world: World) -> None:
    world.applicant.language = "de"
    world.applicant.save(update_fields=["language"])
    application = world.draft()
    from datalux.access import actions

    actions.submit(application=application, by=world.applicant)
    body = Notification.objects.get(user=world.applicant, application=application).body
    assert "Die Datenbehörde hat „" in body and "Sie entscheidet bis zum" in body
    with translation.override("de"):
        german = dateformat.format(application.deadline, "d F Y")
    with translation.override("en"):
        english = dateformat.format(application.deadline, "d F Y")
    assert german in body
    if german != english:  # months spelt alike (April, August...) prove nothing
        assert english not in body


def test_the_language_of_the_last_page_read_is_remembered(client: Any, world: World) -> None:
    client.force_login(world.applicant)
    assert world.applicant.language in ("", "en")
    response = client.get(reverse("access:inbox"), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200 and 'lang="de"' in response.content.decode()
    world.applicant.refresh_from_db()
    assert world.applicant.language == "de"
    # a failed or non-GET request does not change it
    client.post(reverse("access:inbox_read_all"), HTTP_ACCEPT_LANGUAGE="fr")
    world.applicant.refresh_from_db()
    assert world.applicant.language == "de"
