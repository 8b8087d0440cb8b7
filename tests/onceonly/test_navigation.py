"""The Once Only register is reachable from every page's navigation, signed in or not."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_navigation_links_the_protocol_register(client: Client) -> None:
    page = client.get(reverse("catalogue:search"))
    assert page.status_code == 200
    assert f'href="{reverse("onceonly:protocols")}"' in page.content.decode()
