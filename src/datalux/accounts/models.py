"""Organisations, users, memberships (a role held in an organisation) and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from datalux.accounts.permissions import RestrictedQuerySet
from datalux.accounts.roles import ROLE_CHOICES, ROLES, OrganisationKind


class OrganisationQuerySet(RestrictedQuerySet):
    def restrict(self, user, perm):  # type: ignore[no-untyped-def]
        """The directory of organisations is public: everyone may list them."""
        return self.all()


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganisationKind.choices)
    sector = models.CharField(
        _("sector"),
        max_length=16,
        choices=[("public", _("Public sector")), ("private", _("Private sector"))],
        default="public",
    )
    description = models.TextField(_("description"), blank=True)
    homepage = models.URLField(_("homepage"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationQuerySet.as_manager()
    restrict_organisation_field = "pk"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self.slug:
            self.slug = slugify(self.name)[:80]
        super().save(*args, **kwargs)

    def owning_organisation_id(self) -> int | None:
        """An organisation belongs to itself (for ``has_permission(user, perm, organisation)``)."""
        return self.pk


class User(AbstractUser):
    """A person using datalux. Roles come from memberships, never from Django groups."""

    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # The language of the user's last page: notifications and e-mails to them use it.
    language = models.CharField(_("language"), max_length=8, blank=True, default="")

    def __str__(self) -> str:
        return self.display_name or self.get_username()


class Membership(models.Model):
    """A role held by a user in an organisation (or, for citizens, without one)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    active = models.BooleanField(default=True)
    granted_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="unique_role_per_organisation"
            )
        ]
        ordering = ["organisation__name", "role"]

    def __str__(self) -> str:
        where = self.organisation.name if self.organisation else "-"
        return f"{self.user} as {self.role} in {where}"

    def clean(self) -> None:
        role = ROLES.get(self.role)
        if role is None:
            raise ValidationError({"role": _("unknown role %(role)s") % {"role": repr(self.role)}})
        if not role.organisation_kinds:
            if self.organisation_id is not None:
                raise ValidationError(
                    {
                        "organisation": _("the %(role)s role is held without an organisation")
                        % {"role": role.title}
                    }
                )
            return
        if self.organisation_id is None:
            raise ValidationError(
                {
                    "organisation": _("the %(role)s role is held in an organisation")
                    % {"role": role.title}
                }
            )
        if self.organisation.kind not in role.organisation_kinds:
            allowed = ", ".join(
                sorted(str(OrganisationKind(k).label) for k in role.organisation_kinds)
            )
            raise ValidationError(
                {
                    "role": _("the %(role)s role can only be held in: %(kinds)s")
                    % {"role": role.title, "kinds": allowed}
                }
            )


TOKEN_PREFIX = "dlx_"  # noqa: S105  (a prefix, not a secret)


def hash_token_secret(secret: str) -> str:
    """SHA-256 of a token secret. Secrets are 256-bit random, so a fast hash is safe here."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def restrict(self, user, perm):  # type: ignore[no-untyped-def]
        """Users only ever see their own tokens."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user_id=user.pk)


class TokenScope(models.TextChoices):
    """What a token may do. A read token is refused every write (POST, PUT, PATCH, DELETE);
    an exchange token reads, and writes only Once Only exchanges (datalux.onceonly.api)."""

    READ = "read", _("read only")
    WRITE = "write", _("read and write")
    EXCHANGE = "exchange", _("Once Only exchanges only")


class ApiToken(models.Model):
    """A bearer token for the API. Only the hash is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scope = models.CharField(max_length=8, choices=TokenScope.choices, default=TokenScope.READ)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}{self.key_id}_…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @staticmethod
    def new_material() -> tuple[str, str, str]:
        """(key_id, secret, full token string)."""
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        return key_id, secret, f"{TOKEN_PREFIX}{key_id}_{secret}"
