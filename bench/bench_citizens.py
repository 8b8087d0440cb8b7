"""Who used my data: the page's look-ups on a large exchange history (issue 16, Performance).

A throw-away SQLite database gets ``persons`` data-tracker records' subjects and ``records``
tracker records (ten per exchange-log entry, bulk-loaded with raw SQL, foreign keys off for
the load only), plus one research use per 100 persons. For random persons the page's own
queries - :func:`datalux.onceonly.tracker`'s visible records (by the subject index) and the
person's ``PersonUse`` rows - are timed against a naive scan of the same table for the same
answer (``NOT INDEXED``: what the page would cost without the per-person index). Goal: p95 below
100 ms at 1M persons and 10M records.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from typing import Any

from bench import Row, run_in_throwaway_django

TARGET_P95_MS = 100.0
SAMPLES = 200
NAIVE_SAMPLES = 5


def _subject(i: int) -> str:
    return hashlib.sha256(f"person-{i}".encode()).hexdigest()


def _load(persons: int, records: int) -> None:
    from django.db import connection
    from tests.access.world import build_world

    from datalux.access.models import Permit

    world = build_world()
    permit = world.approved().permit
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA foreign_keys=OFF")
        entries = records // 10
        cursor.executemany(
            "INSERT INTO onceonly_exchangelogentry (seq, request_id, occurred_at, outcome,"
            " refusal_code, consumer_slug, system, token_key_id, on_behalf_of,"
            " protocol_reference, protocol_version, purpose, items, case_reference, subjects,"
            " subject_count, visibility, visible_from, prev_hash, hash, key_id, signature)"
            " VALUES (%s, %s, '2026-06-01 10:00:00', 'delivered', '', 'fund', 's', '', '',"
            " 'OOP-0001', 1, 'check', '[]', '', '[]', 10, 'public', NULL, '', %s, 'k', 's')",
            ((n, f"r{n}", f"h{n}") for n in range(1, entries + 1)),
        )
        cursor.executemany(
            "INSERT INTO onceonly_trackerrecord (subject, entry_id, consumer_slug,"
            " protocol_reference, protocol_version, purpose, items, occurred_at, visible_from,"
            " notified_at) VALUES (%s, %s, 'fund', 'OOP-0001', 1, 'check', '[\"surname\"]',"
            " '2026-06-01 10:00:00', NULL, NULL)",
            # a prime stride: the ten persons of one entry are always different
            ((_subject(n * 104_729 % persons), n // 10 + 1) for n in range(records)),
        )
        cursor.executemany(
            "INSERT INTO citizens_personuse (subject, permit_id, version, datasets, on_consent,"
            " prepared_at, notified_at) VALUES (%s, %s, 1, '[]', 0, '2026-06-01 10:00:00', NULL)",
            ((_subject(i), permit.pk) for i in range(0, persons, 100)),
        )
        cursor.execute("PRAGMA foreign_keys=ON")
    assert Permit.objects.filter(pk=permit.pk).exists()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _worker(quick: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q

    from datalux.citizens.models import PersonUse
    from datalux.onceonly.models import TrackerRecord

    call_command("migrate", verbosity=0)
    persons, records = (100_000, 1_000_000) if quick else (1_000_000, 10_000_000)
    started = time.perf_counter()
    _load(persons, records)
    load_s = time.perf_counter() - started
    rng = random.Random(11)
    today = "2026-12-07"

    def page(subject: str) -> tuple[int, int]:
        found = list(
            TrackerRecord.objects.filter(subject=subject)
            .filter(Q(visible_from__isnull=True) | Q(visible_from__lte=today))
            .order_by("-occurred_at", "-id")[:25]
        )
        uses = list(PersonUse.objects.filter(subject=subject).select_related("permit")[:100])
        return len(found), len(uses)

    def naive(subject: str) -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM onceonly_trackerrecord NOT INDEXED WHERE subject = %s"
                " AND (visible_from IS NULL OR visible_from <= %s)"
                " ORDER BY occurred_at DESC, id DESC LIMIT 25",
                [subject, today],
            )
            found = cursor.fetchall()
            cursor.execute(
                "SELECT id FROM citizens_personuse NOT INDEXED WHERE subject = %s LIMIT 100",
                [subject],
            )
            return len(found), len(cursor.fetchall())

    def timed(fn: Any, n: int) -> tuple[list[float], list[tuple[int, int]]]:
        times, answers = [], []
        for _ in range(n):
            subject = _subject(rng.randrange(persons))
            t = time.perf_counter()
            answers.append(fn(subject))
            times.append(1000 * (time.perf_counter() - t))
        return times, answers

    page(_subject(0))  # warm
    ours, _ = timed(page, SAMPLES)
    theirs, _ = timed(naive, NAIVE_SAMPLES)
    same = [page(s) == naive(s) for s in (_subject(rng.randrange(persons)) for _ in range(3))]
    return {
        "persons": persons, "records": records, "load_s": load_s,
        "p95": _percentile(ours, 0.95), "p50": _percentile(ours, 0.5),
        "naive_p50": _percentile(theirs, 0.5), "same_answers": all(same),
    }  # fmt: skip


def run(quick: bool) -> list[Row]:
    r = run_in_throwaway_django("bench.bench_citizens", quick=quick, what="citizens")
    met = "met" if r["p95"] < TARGET_P95_MS and r["same_answers"] else "NOT met"
    return [
        Row(
            task=f"who used my data ({r['persons']:,} persons, {r['records']:,} records)",
            datalux=f"p95 {r['p95']:.1f} ms (p50 {r['p50']:.1f})",
            baseline=f"{r['naive_p50']:.0f} ms p50 (scan, NOT INDEXED)",
            ratio=r["naive_p50"] / max(r["p50"], 1e-6),
            quality=f"same answers: {r['same_answers']}; goal p95 < 100 ms: {met}; "
            f"load {r['load_s']:.0f} s",
        )
    ]


if __name__ == "__main__":
    if "--worker" in sys.argv:
        print(json.dumps(_worker("--quick" in sys.argv)))
