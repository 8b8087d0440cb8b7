"""The settings of the site the Once Only benchmark serves: datalux's own, with the URLs of
:mod:`bench.onceonly_urls` (datalux's plus the baseline lookup). Benchmark only."""

from __future__ import annotations

from datalux.settings import *  # noqa: F403 - the benchmark's settings are datalux's

ROOT_URLCONF = "bench.onceonly_urls"
