"""Peer synthesisers for ``bench_synthetic``: smartnoise-synth MST and AIM, fixed.

Runs in its own environment (``bench/peers/smartnoise/pyproject.toml``, made by the
benchmark with ``uv sync``): smartnoise-synth pins an older OpenDP than datalux, and pulls in
jax through ``mbi``; neither belongs in the product's environment. Torch and opacus are
overridden away (only the GAN synthesisers need them).

``python peer.py mst|aim INPUT.csv OUTPUT.csv --epsilon E [--delta D] [--seed S]`` reads a
table of categorical columns, fits, samples as many rows as the input has, writes them and
prints one JSON line ``{"seconds": fit + sample time}``.

The fix: smartnoise's ``sample`` calls ``mbi``'s ``synthetic_data`` with its default
``method="round"``, which links unrelated columns (its 2-way error came out worse than
shuffling columns independently); the peer passes ``method="sample"`` (i.i.d. sampling from
the estimated model), as the engine notes prescribe.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd


def _fixed_sample(synth, rows: int):
    """smartnoise's own ``sample`` for MST and AIM, with ``method="sample"``."""
    data = synth.synthesizer.synthetic_data(rows=rows, method="sample")
    if hasattr(synth, "undo_compress_fn"):  # MST
        frame = synth.undo_compress_fn(data).df
    else:  # AIM: reorder the columns as its sample does
        frame = data.df[["col" + str(i) for i in range(synth._transformer.output_width)]]
    tuples = [tuple(t[1:]) for t in frame.itertuples()]
    return synth._transformer.inverse_transform(tuples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=["mst", "aim"])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--epsilon", type=float, required=True)
    parser.add_argument("--delta", type=float, default=1e-9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    np.random.seed(args.seed)  # mbi samples with the global generator
    frame = pd.read_csv(args.input, dtype=str, keep_default_na=False)
    started = time.perf_counter()
    if args.method == "mst":
        from snsynth.mst import MSTSynthesizer

        synth = MSTSynthesizer(epsilon=args.epsilon, delta=args.delta)
    else:
        from snsynth.aim import AIMSynthesizer

        synth = AIMSynthesizer(epsilon=args.epsilon, delta=args.delta)
    synth.fit(frame, categorical_columns=list(frame.columns), preprocessor_eps=0.0)
    rows = _fixed_sample(synth, len(frame))
    seconds = time.perf_counter() - started
    pd.DataFrame(rows, columns=frame.columns).to_csv(args.output, index=False)
    print(json.dumps({"seconds": seconds}))


if __name__ == "__main__":
    main()
