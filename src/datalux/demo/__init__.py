"""Demonstration data and set-up: the synthetic population library and the demo seeding."""
