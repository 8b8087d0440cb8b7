"""Sandbox start overhead: a job's ``python -c pass`` under bubblewrap against the same command
run directly, measured side by side in this run.

Target (issue 12): at most 50 ms over the direct run (bubblewrap itself costs about 10 ms
here). The sandboxed run includes everything a job pays: the cgroup (where the host has one),
the rlimits (prlimit), the binds, the log copy and the output-size watch.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import Row
from datalux.spe import sandbox
from datalux.spe.sandbox import Limits, Runtime, SandboxSpec, Status, probe

TARGET_MS = 50.0


def _direct(runtime: Runtime) -> float:
    started = time.perf_counter()
    subprocess.run([*runtime.command, "-c", "pass"], check=True)  # noqa: S603
    return time.perf_counter() - started


def _bare(runtime: Runtime) -> float:
    """bubblewrap alone, with the sandbox's namespaces and binds but no cgroup, rlimits,
    seccomp or log: what the rest of the sandbox adds is the difference."""
    binds = [a for p in runtime.paths for a in ("--ro-bind", str(p), str(p))]
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [*sandbox._base_args(), *binds, "--", *runtime.command, "-c", "pass"], check=True
    )
    return time.perf_counter() - started


def _boxed(runtime: Runtime, folder: Path, index: int) -> float:
    output = folder / f"out{index}"
    output.mkdir()
    spec = SandboxSpec(
        argv=(*runtime.command, "-c", "pass"),
        runtime=runtime,
        binds=((output, "/output", False),),
        output_dir=output,
        log_path=folder / f"log{index}.txt",
        limits=Limits(wall_seconds=60),
    )
    started = time.perf_counter()
    result = sandbox.run(spec)
    elapsed = time.perf_counter() - started
    if result.status is not Status.SUCCEEDED:
        raise RuntimeError(f"the sandboxed run failed: {result}")
    return elapsed


def run(quick: bool) -> list[Row]:
    checked = probe()
    if not checked.ok:
        raise RuntimeError(checked.reason)
    runtime = Runtime.current_python()
    n = 10 if quick else 30
    direct, bare, boxed = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):  # interleaved, so all see the same machine load
            direct.append(_direct(runtime))
            bare.append(_bare(runtime))
            boxed.append(_boxed(runtime, Path(tmp), i))
    d, b = statistics.median(direct) * 1000, statistics.median(boxed) * 1000
    w = statistics.median(bare) * 1000
    overhead = b - d
    return [
        Row(
            task=f"start a job: python -c pass, median of {n}",
            datalux=f"{b:.1f} ms in the sandbox (bubblewrap, cgroup, rlimits, log)",
            baseline=f"{d:.1f} ms run directly",
            ratio=d / b,
            quality=f"overhead {overhead:.1f} ms; <= {TARGET_MS:.0f} ms: "
            f"{'met' if overhead <= TARGET_MS else 'NOT met'}",
        ),
        Row(
            task=f"start: bubblewrap alone, median of {n}",
            datalux=f"{w:.1f} ms (namespaces and binds only)",
            baseline=f"{d:.1f} ms run directly",
            ratio=d / w,
            quality=f"bubblewrap {w - d:.1f} ms; the rest of the sandbox (cgroup attach, "
            f"prlimit, seccomp, log) {b - w:.1f} ms",
        ),
    ]
