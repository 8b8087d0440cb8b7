"""The public API of the data authority: the permit register and the metrics."""

from ninja import Router

router = Router(tags=["access: public"])
