"""Run the benchmarks and print one table. ``python -m bench --help``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import bench
from bench import Row, format_table


def main(argv: list[str] | None = None) -> int:
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("only", nargs="*", choices=[*names, []], help="benchmarks to run")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for name in args.only or names:
        module = importlib.import_module(f"bench.bench_{name}")
        started = time.perf_counter()
        print(f"# {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(quick=args.quick))
        print(f"# {name} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
