"""What each role of the data authority has to do now: the workspace's "Waiting for you".

``waiting_for(user)`` answers one entry per kind of work (drafts to finish, cases to take,
opinions to give...), each with a count, a link to the list where the work is done and the
first few items. Entries with nothing in them are left out. Every query is restricted to what
the user may see and act on: their own applications, their organisation's opinion requests,
the authority's open cases for handlers and deciders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from datalux.access.actions.conflicts import conflicted_applications
from datalux.access.models import Application, NamedPerson, OpinionRequest, Permit
from datalux.access.states import OPEN, ApplicationState, PermitState
from datalux.accounts.permissions import has_permission, organisations_with
from datalux.accounts.roles import Permission

APPLICATIONS_URL = "/access/applications/"
CASES_URL = "/access/cases/"
SHOWN = 10  # items listed per entry; the count says how many there are in all
DEADLINE_WARNING = timedelta(days=14)
S = ApplicationState


@dataclass(frozen=True)
class Item:
    label: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Waiting:
    role: str  # the role whose work this is (applicant, assistant, handler, reviewer, decider)
    key: str
    title: str
    url: str
    count: int
    items: list[Item] = field(default_factory=list)


def application_url(application: Application) -> str:
    return f"{APPLICATIONS_URL}{application.reference}/"


def _item(application: Application, note: str = "") -> Item:
    return Item(
        label=f"{application.reference} {application.title}",
        url=application_url(application),
        note=note,
    )


def _clock_note(application: Application, now: Any) -> str:
    deadline = application.deadline
    if deadline is None:
        return ""
    day = date_format(timezone.localtime(deadline), "j F Y")
    if now > deadline:
        return _("overdue since %(date)s") % {"date": day}
    return _("decide by %(date)s") % {"date": day}


def _entry(
    role: str,
    key: str,
    title: str,
    url: str,
    applications: QuerySet[Application] | list[Application],
    note: Callable[[Application], str] | None = None,
) -> Waiting | None:
    if isinstance(applications, QuerySet):
        count, shown = applications.count(), list(applications[:SHOWN])
    else:
        count, shown = len(applications), applications[:SHOWN]
    if not count:
        return None
    items = [_item(a, note(a) if note else "") for a in shown]
    return Waiting(role=role, key=key, title=title, url=url, count=count, items=items)


def _applicant(user: Any) -> list[Waiting | None]:
    mine = Application.objects.filter(applicant=user).order_by("-updated_at", "-pk")
    named = Q(user=user)
    if user.email:
        named |= Q(user__isnull=True, email__iexact=user.email)
    terms = (
        NamedPerson.objects.filter(named, terms_accepted_at__isnull=True)
        .exclude(application__state__in=[S.WITHDRAWN, S.REJECTED])
        .select_related("application")
        .order_by("-application__created_at")
    )
    permits = (
        Permit.objects.filter(state=PermitState.ACTIVE, ends_on__gte=timezone.localdate())
        .filter(Q(application__applicant=user) | Q(application__named_persons__user=user))
        .distinct()
        .select_related("application")
        .order_by("ends_on", "pk")
    )
    terms_apps = [p.application for p in terms]
    permit_rows = list(permits)
    return [
        _entry(
            "applicant",
            "drafts",
            _("Drafts to finish"),
            APPLICATIONS_URL,
            mine.filter(state=S.DRAFT),
        ),
        _entry(
            "applicant",
            "returned",
            _("Returned to you: complete and resubmit"),
            APPLICATIONS_URL,
            mine.filter(state=S.RETURNED),
        ),
        _entry(
            "applicant",
            "terms",
            _("Terms of use to accept"),
            APPLICATIONS_URL,
            terms_apps,
        ),
        Waiting(
            role="applicant",
            key="permits",
            title=_("Active permits"),
            url=APPLICATIONS_URL,
            count=len(permit_rows),
            items=[
                Item(
                    label=f"{p.number} — {p.application.reference} {p.application.title}",
                    url=application_url(p.application),
                    note=_("valid until %(date)s") % {"date": p.ends_on.isoformat()},
                )
                for p in permit_rows[:SHOWN]
            ],
        )
        if permit_rows
        else None,
    ]


def _assistant(user: Any) -> list[Waiting | None]:
    if not has_permission(user, Permission.ASSIST_APPLICANTS):
        return []
    drafts = Application.objects.filter(state=S.DRAFT).order_by("-updated_at", "-pk")
    return [_entry("assistant", "drafts", _("Drafts applicants are preparing"), CASES_URL, drafts)]


def _handler(user: Any, now: Any) -> list[Waiting | None]:
    if not has_permission(user, Permission.HANDLE_APPLICATIONS):
        return []
    open_cases = Application.objects.filter(state__in=sorted(OPEN)).select_related("procedure")
    # cases the handler is too close to are not offered (datalux.access.actions.conflicts)
    unassigned = (
        open_cases.filter(state=S.SUBMITTED, handler__isnull=True)
        .exclude(conflicted_applications(user))
        .order_by("received_at", "pk")
    )
    mine = open_cases.filter(handler=user).order_by("received_at", "pk")
    watched = open_cases.filter(Q(handler=user) | Q(handler__isnull=True)).exclude(
        Q(handler__isnull=True) & conflicted_applications(user)
    )
    soon = sorted(
        (a for a in watched if a.deadline is not None and a.deadline - now <= DEADLINE_WARNING),
        key=lambda a: (a.deadline, a.pk),
    )
    note = partial(_clock_note, now=now)
    return [
        _entry(
            "handler",
            "unassigned",
            _("New applications nobody handles yet"),
            CASES_URL,
            unassigned,
            note,
        ),
        _entry("handler", "mine", _("Your cases"), CASES_URL, mine, note),
        _entry(
            "handler",
            "deadlines",
            _("Deadlines within 14 days or overdue"),
            CASES_URL,
            soon,
            note,
        ),
    ]


def _reviewer(user: Any) -> list[Waiting | None]:
    platform, orgs = organisations_with(user, Permission.REVIEW_APPLICATIONS)
    if not platform and not orgs:
        return []
    requests = OpinionRequest.objects.filter(application__state=S.UNDER_REVIEW)
    if not platform:
        requests = requests.filter(organisation__in=orgs)
    requests = (
        requests.exclude(opinions__reviewer=user)
        .exclude(application__in=Application.objects.filter(conflicted_applications(user)))
        .select_related("application", "organisation")
        .order_by("requested_at", "pk")
    )
    rows = list(requests)
    if not rows:
        return []
    return [
        Waiting(
            role="reviewer",
            key="opinions",
            title=_("Opinions asked of your organisation"),
            url=CASES_URL,
            count=len(rows),
            items=[
                Item(
                    label=f"{r.application.reference} {r.application.title}",
                    url=application_url(r.application),
                    note=str(r.organisation),
                )
                for r in rows[:SHOWN]
            ],
        )
    ]


def _decider(user: Any, now: Any) -> list[Waiting | None]:
    if not has_permission(user, Permission.DECIDE_APPLICATIONS):
        return []
    under_review = (
        Application.objects.filter(state=S.UNDER_REVIEW)
        .exclude(conflicted_applications(user))
        .select_related("procedure")
        .order_by("received_at", "pk")
    )
    return [
        _entry(
            "decider",
            "to_decide",
            _("Applications under review, to decide"),
            CASES_URL,
            under_review,
            partial(_clock_note, now=now),
        )
    ]


def waiting_for(user: Any, role: str | None = None) -> list[Waiting]:
    """The work waiting for ``user`` now (only that of ``role`` when given), non-empty only."""
    if user is None or not user.is_authenticated:
        return []
    now = timezone.now()
    parts: dict[str, Any] = {
        "applicant": lambda: _applicant(user),
        "assistant": lambda: _assistant(user),
        "handler": lambda: _handler(user, now),
        "reviewer": lambda: _reviewer(user),
        "decider": lambda: _decider(user, now),
    }
    chosen = [role] if role is not None else list(parts)
    found: list[Waiting] = []
    for name in chosen:
        if name in parts:
            found += [w for w in parts[name]() if w is not None]
    return found
