"""The data authority: one access-request procedure, review, decisions, permits (issue 5)."""
