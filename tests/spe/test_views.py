"""The extract pages: who sees and starts preparations, and what the researcher sees."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django_tasks_db.models import DBTaskResult

from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from datalux.spe.models import Preparation, PreparationState
from tests.access.world import World
from tests.spe.test_plan import _permit, _rows, _store

pytestmark = pytest.mark.django_db
S = PreparationState


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"v" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_operator_queues_a_permit_waiting_for_its_extract(world: World, operator: Any) -> None:
    _store(world)
    permit = _permit(world)
    client = _client(operator)
    queue = client.get("/spe/")
    assert queue.status_code == 200
    assert permit.number in queue.content.decode()  # waiting: not requested
    page = client.get(f"/spe/{permit.number}/")
    assert "Prepare the extract" in page.content.decode()
    response = client.post(f"/spe/{permit.number}/prepare/", follow=True)
    assert response.status_code == 200 and "is queued" in response.content.decode()
    preparation = Preparation.objects.get(permit=permit)
    assert preparation.state == S.QUEUED and preparation.requested_by == operator
    assert DBTaskResult.objects.filter(task_path__endswith="prepare_task").count() == 1
    # asked twice while queued: refused, with the reason
    again = client.post(f"/spe/{permit.number}/prepare/")
    assert again.status_code == 409 and "queued already" in again.content.decode()

    jobs.run_preparation(preparation.pk)  # the worker
    page = client.get(f"/spe/{permit.number}/").content.decode()
    assert "Ready" in page and "person_id" in page and "Prepare the extract" not in page
    assert "extract.step" in page  # the audit trail of its steps
    assert permit.number not in client.get("/spe/?state=").content.decode().split("Preparations")[0]


def test_a_failed_preparation_shows_its_reason_and_can_be_run_again(
    world: World, operator: Any
) -> None:
    permit = _permit(world)  # no data stored
    client = _client(operator)
    client.post(f"/spe/{permit.number}/prepare/")
    jobs.run_preparation(Preparation.objects.get(permit=permit).pk)
    page = client.get(f"/spe/{permit.number}/").content.decode()
    assert "its steward must upload the data" in page and "[data-missing]" in page
    assert "Run the preparation again" in page
    assert "failed: run it again" in client.get("/spe/").content.decode()
    _store(world)
    client.post(f"/spe/{permit.number}/prepare/")
    preparation = jobs.run_preparation(Preparation.objects.get(permit=permit).pk)
    assert preparation.state == S.READY


def test_the_handler_may_prepare_too(world: World) -> None:
    _store(world)
    permit = _permit(world)
    response = _client(world.handler).post(f"/spe/{permit.number}/prepare/")
    assert response.status_code == 302
    assert Preparation.objects.get(permit=permit).requested_by == world.handler


@pytest.mark.parametrize("who", ["applicant", "decider", "reviewer", "stranger"])
def test_others_are_refused_the_pages_and_the_action(world: World, who: str) -> None:
    _store(world)
    permit = _permit(world)
    client = _client(getattr(world, who))
    for method, path in [
        ("get", "/spe/"),
        ("get", f"/spe/{permit.number}/"),
        ("post", f"/spe/{permit.number}/prepare/"),
    ]:
        assert getattr(client, method)(path).status_code == 403, (method, path)
    assert not Preparation.objects.exists()
    denied = AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED, object_id__startswith="/spe/")
    assert denied.count() == 3


def test_anonymous_users_go_to_the_login_page(world: World) -> None:
    permit = _permit(world)
    response = Client().post(f"/spe/{permit.number}/prepare/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Preparation.objects.exists()


def test_the_researcher_sees_the_manifest_and_never_an_identifier(
    world: World, operator: Any
) -> None:
    _store(world)
    permit = _permit(world)
    client = _client(world.applicant)
    assert (
        "has not been prepared yet"
        in client.get(f"/access/permits/{permit.number}/").content.decode()
    )
    preparation = jobs.request_preparation(permit, by=operator)
    assert "being prepared" in client.get(f"/access/permits/{permit.number}/").content.decode()
    jobs.run_preparation(preparation.pk)
    page = client.get(f"/access/permits/{permit.number}/").content.decode()
    assert "Person pseudonym of this project" in page and "<code>age</code>" in page
    written = Preparation.objects.get(pk=preparation.pk).manifest["tables"][0]
    assert str(written["rows"]) in page and written["sha256"] in page
    for row in _rows()[:20]:
        assert row["national_id"] not in page
    assert "national_id" not in page.split("Prepared data")[1].split("Secure workspace")[0]
