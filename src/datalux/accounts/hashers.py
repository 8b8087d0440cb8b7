"""Password hashing: argon2id with a memory cost that a burst of sign-ins cannot turn into an
out-of-memory condition.

Django's default argon2 parameters take 100 MiB of memory per hash (``memory_cost=102400`` KiB,
``parallelism=8``). Every sign-in attempt, right or wrong, computes one hash, so 36 concurrent
attempts (the default 9 gunicorn workers x 4 threads) would hold 3.6 GiB. We use the first
parameter set OWASP's Password Storage Cheat Sheet recommends for argon2id, m=19 MiB, t=2, p=1:
the same 36 attempts hold about 700 MiB, one hash takes some tens of milliseconds, and the
sign-in throttling (``datalux.accounts.throttling``) bounds how many attempts anyone can make.

The algorithm name stays ``argon2``: hashes made with other parameters (Django's defaults)
are still verified, their parameters being stored in the hash itself, and Django re-hashes a
password with these parameters on the next successful sign-in (``must_update``).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class DataluxArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB: 19 MiB
    parallelism = 1
