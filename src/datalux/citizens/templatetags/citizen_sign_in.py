"""``{% oidc_sign_in_enabled as on %}``: whether the sign-in page offers the national identity."""

from __future__ import annotations

from django import template

from datalux.citizens.oidc import enabled

register = template.Library()


@register.simple_tag
def oidc_sign_in_enabled() -> bool:
    return enabled()
