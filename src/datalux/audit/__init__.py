"""Append-only, hash-chained audit log of every access, decision, exchange, job and release."""
