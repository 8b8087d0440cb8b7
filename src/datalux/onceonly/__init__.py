"""Once Only: authentic sources, the public register of exchange protocols between public
bodies, and the logged, signed exchanges those protocols allow (issue 15)."""
