"""Shared code for the Django apps: settings helper, errors, API root, base templates."""
