"""The access world of tests/access/ (a decided permit on the hospital stays)."""

from tests.access.conftest import world

__all__ = ["world"]
