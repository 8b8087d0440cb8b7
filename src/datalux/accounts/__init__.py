"""Organisations, users, roles held per organisation, permissions, API tokens."""
