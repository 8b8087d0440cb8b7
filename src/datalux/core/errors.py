"""Errors shared by every app's actions, mapped once to HTTP answers (pages and API)."""

from __future__ import annotations


class Conflict(Exception):
    """The object's state does not allow the action (HTTP 409, API code ``invalid_state``)."""
