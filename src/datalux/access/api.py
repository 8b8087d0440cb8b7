"""The data authority's JSON API (applications, review, decisions, permits)."""

from ninja import Router

router = Router(tags=["access"])
