"""The extract API: operators list and queue preparations, researchers read the manifest, and
everyone else is refused (audited)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from datalux.accounts.actions import create_api_token
from datalux.audit.kinds import EventKind
from datalux.audit.models import AuditEvent
from datalux.privacy.keys import MASTER_KEY_ENV_VAR, MasterKey
from datalux.spe import jobs
from datalux.spe.models import Preparation
from tests.access.world import World
from tests.spe.test_plan import _permit, _rows, _store

pytestmark = pytest.mark.django_db
API = "/api/v1/spe"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV_VAR, MasterKey(b"a" * 32).to_base64())
    monkeypatch.setattr(settings, "DATALUX_TTP_KEY_FILE", None)


def _bearer(user: Any) -> dict[str, str]:
    _, secret = create_api_token(user=user, name="script", scope="write")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_operator_queues_and_follows_a_preparation(world: World, operator: Any) -> None:
    _store(world)
    permit = _permit(world)
    client, auth = Client(), _bearer(operator)
    queued = client.post(f"{API}/permits/{permit.number}/prepare", **auth)
    assert queued.status_code == 202, queued.content
    assert queued.json()["state"] == "queued" and queued.json()["version"] == 1
    again = client.post(f"{API}/permits/{permit.number}/prepare", **auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    jobs.run_preparation(Preparation.objects.get(permit=permit).pk)
    [listed] = client.get(f"{API}/preparations?state=ready", **auth).json()
    assert listed["permit"] == permit.number and listed["manifest"]["tables"][0]["rows"] > 0
    assert client.get(f"{API}/preparations?state=failed", **auth).json() == []
    bad = client.get(f"{API}/preparations?state=done", **auth)
    assert bad.status_code == 422 and "queued" in bad.json()["error"]["message"]
    done = client.post(f"{API}/permits/{permit.number}/prepare", **auth)
    assert done.status_code == 200 and done.json()["state"] == "ready"
    history = client.get(f"{API}/permits/{permit.number}/preparations", **auth).json()
    assert [p["version"] for p in history] == [1]


def test_a_failed_preparation_answers_its_code_and_message(world: World, operator: Any) -> None:
    permit = _permit(world)  # no data
    client, auth = Client(), _bearer(operator)
    client.post(f"{API}/permits/{permit.number}/prepare", **auth)
    jobs.run_preparation(Preparation.objects.get(permit=permit).pk)
    [failed] = client.get(f"{API}/permits/{permit.number}/preparations", **auth).json()
    assert failed["state"] == "failed" and failed["code"] == "data-missing"
    assert "steward must upload" in failed["message"]


def test_the_researcher_reads_the_manifest_but_never_queues(world: World, operator: Any) -> None:
    _store(world)
    permit = _permit(world)
    client, auth = Client(), _bearer(world.applicant)
    assert client.get(f"{API}/permits/{permit.number}/extract", **auth).json()["state"] == (
        "not requested"
    )
    preparation = jobs.request_preparation(permit, by=operator)
    jobs.run_preparation(preparation.pk)
    body = client.get(f"{API}/permits/{permit.number}/extract", **auth).json()
    assert body["available"] and body["manifest"]["tables"][0]["columns"][0] == "person_id"
    text = str(body)
    assert not any(row["national_id"] in text for row in _rows())
    for method, path in [
        ("post", f"{API}/permits/{permit.number}/prepare"),
        ("get", f"{API}/preparations"),
        ("get", f"{API}/permits/{permit.number}/preparations"),
    ]:
        response = getattr(client, method)(path, **auth)
        assert response.status_code == 403, (method, path)
    assert AuditEvent.objects.filter(kind=EventKind.ACCESS_DENIED, object_type="api").count() == 3
    assert Preparation.objects.count() == 1


def test_a_stranger_does_not_even_see_the_extract(world: World) -> None:
    _store(world)
    permit = _permit(world)
    response = Client().get(f"{API}/permits/{permit.number}/extract", **_bearer(world.stranger))
    assert response.status_code == 404
    anonymous = Client().post(f"{API}/permits/{permit.number}/prepare")
    assert anonymous.status_code == 401
    assert not Preparation.objects.exists()
