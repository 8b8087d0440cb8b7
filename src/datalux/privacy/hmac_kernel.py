"""HMAC-SHA256 over many short values at once, compiled with Numba (ADR 0002).

Why a kernel of our own: a plain ``hmac.new`` loop does four SHA-256 compressions per value
(key block, message, key block, inner digest) plus Python overhead; the polars-hash plugin
recomputed the key blocks for every value. HMAC's two key blocks depend only on the key, so
we compress them once (the *midstates*) and then need only two compressions per value, and
we run 32 values side by side in the lanes of the CPU's vector registers (the loops over
lanes are what LLVM vectorises). ``bench/bench_pseudonymise.py`` measures it against the
plain loop and checks the output bit for bit; the unit tests compare it with ``hmac.new``.

Values of up to 55 bytes fit in one SHA-256 block after the key block and take the fast
path; longer values (rare for identifiers) go through ``hmac`` with the key state copied.
The compiled function releases the GIL, so callers may run slices on threads.
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_K = np.array(
    [
        0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4,
        0xAB1C5ED5, 0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE,
        0x9BDC06A7, 0xC19BF174, 0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F,
        0x4A7484AA, 0x5CB0A9DC, 0x76F988DA, 0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7,
        0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967, 0x27B70A85, 0x2E1B2138, 0x4D2C6DFC,
        0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85, 0xA2BFE8A1, 0xA81A664B,
        0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070, 0x19A4C116,
        0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
        0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7,
        0xC67178F2,
    ],
    dtype=np.uint32,
)  # fmt: skip
_H0 = np.array(
    [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB,
     0x5BE0CD19],
    dtype=np.uint32,
)  # fmt: skip
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
LANES = 32
MAX_FAST = 55  # bytes: the value, 0x80 and the 64-bit length fit one block

_compiled: dict[str, object] = {}


def _build() -> tuple[object, object]:
    """Compile (or load from Numba's cache) the block function and the batch kernel."""
    import numba as nb

    u32 = np.uint32

    @nb.njit(cache=True, inline="always", boundscheck=False)
    def rounds(start, w, k, s, out):  # type: ignore[no-untyped-def]
        # start: uint32[8] midstate; w: uint32[64, L] (first 16 rows set); s: working state.
        for t in range(16, 64):
            for lane in range(LANES):
                x = w[t - 15, lane]
                y = w[t - 2, lane]
                s0 = (
                    ((x >> u32(7)) | (x << u32(25)))
                    ^ ((x >> u32(18)) | (x << u32(14)))
                    ^ (x >> u32(3))
                )
                s1 = (
                    ((y >> u32(17)) | (y << u32(15)))
                    ^ ((y >> u32(19)) | (y << u32(13)))
                    ^ (y >> u32(10))
                )
                w[t, lane] = w[t - 16, lane] + s0 + w[t - 7, lane] + s1
        for j in range(8):
            for lane in range(LANES):
                s[j, lane] = start[j]
        for t in range(64):
            kt = k[t]
            for lane in range(LANES):
                a = s[0, lane]
                b = s[1, lane]
                c = s[2, lane]
                e = s[4, lane]
                f = s[5, lane]
                g = s[6, lane]
                big1 = (
                    ((e >> u32(6)) | (e << u32(26)))
                    ^ ((e >> u32(11)) | (e << u32(21)))
                    ^ ((e >> u32(25)) | (e << u32(7)))
                )
                t1 = s[7, lane] + big1 + ((e & f) ^ (~e & g)) + kt + w[t, lane]
                big0 = (
                    ((a >> u32(2)) | (a << u32(30)))
                    ^ ((a >> u32(13)) | (a << u32(19)))
                    ^ ((a >> u32(22)) | (a << u32(10)))
                )
                s[7, lane] = g
                s[6, lane] = f
                s[5, lane] = e
                s[4, lane] = s[3, lane] + t1
                s[3, lane] = c
                s[2, lane] = b
                s[1, lane] = a
                s[0, lane] = t1 + big0 + ((a & b) ^ (a & c) ^ (b & c))
        for j in range(8):
            for lane in range(LANES):
                out[j, lane] = s[j, lane] + start[j]

    @nb.njit(cache=True, nogil=True, boundscheck=False)
    def kernel(data, offsets, inner, outer, k, hexdigits, out):  # type: ignore[no-untyped-def]
        n = offsets.shape[0] - 1
        w = np.empty((64, LANES), np.uint32)
        s = np.empty((8, LANES), np.uint32)
        digest = np.empty((8, LANES), np.uint32)
        for first in range(0, n, LANES):
            for t in range(16):
                for lane in range(LANES):
                    w[t, lane] = 0
            for lane in range(LANES):
                i = first + lane
                if i >= n:
                    continue
                start = offsets[i]
                length = offsets[i + 1] - start
                if length > MAX_FAST:
                    continue  # done by the caller
                for j in range(length):
                    w[j >> 2, lane] |= u32(data[start + j]) << u32(24 - 8 * (j & 3))
                w[length >> 2, lane] |= u32(0x80) << u32(24 - 8 * (length & 3))
                w[15, lane] = u32((64 + length) * 8)
            rounds(inner, w, k, s, digest)
            for j in range(8):
                for lane in range(LANES):
                    w[j, lane] = digest[j, lane]
            for lane in range(LANES):
                w[8, lane] = u32(0x80000000)
                w[15, lane] = u32((64 + 32) * 8)
            for t in range(9, 15):
                for lane in range(LANES):
                    w[t, lane] = 0
            rounds(outer, w, k, s, digest)
            for lane in range(LANES):
                i = first + lane
                if i >= n:
                    continue
                base = i * 64
                for j in range(8):
                    v = digest[j, lane]
                    for q in range(8):
                        out[base + j * 8 + q] = hexdigits[(v >> u32(28 - 4 * q)) & u32(15)]

    return rounds, kernel


def _kernel() -> object:
    if "kernel" not in _compiled:
        _compiled["rounds"], _compiled["kernel"] = _build()
    return _compiled["kernel"]


def _midstate(block: bytes) -> np.ndarray:
    """The SHA-256 state after compressing one 64-byte block (twice per key), computed by the
    same compiled block function as the values (the block in every lane)."""
    _kernel()
    words = np.frombuffer(block, dtype=">u4").astype(np.uint32)
    w = np.zeros((64, LANES), dtype=np.uint32)
    w[:16, :] = words[:, None]
    state = np.empty((8, LANES), dtype=np.uint32)
    out = np.empty((8, LANES), dtype=np.uint32)
    _compiled["rounds"](_H0, w, _K, state, out)  # type: ignore[operator]
    return np.ascontiguousarray(out[:, 0])


class HmacSha256:
    """``HmacSha256(key).hex(array)`` == ``[hmac.new(key, v, "sha256").hexdigest() ...]``."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = _midstate(bytes(b ^ 0x36 for b in block))
        self._outer = _midstate(bytes(b ^ 0x5C for b in block))
        self._slow = hmac.new(key, digestmod="sha256")

    def hex(self, values: pa.Array, *, workers: int = 1, slice_rows: int = 262_144) -> pa.Array:
        """Hex digests of a string or binary Arrow array; nulls stay null.

        The output is written into one buffer (no concatenation); with ``workers`` > 1,
        slices of ``slice_rows`` values run on threads (the compiled kernel releases the GIL).
        """
        n = len(values)
        if n == 0:
            return pa.array([], type=pa.string())
        arr = values.cast(pa.large_binary())
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
        data_buffer = arr.buffers()[2]
        data = (
            np.frombuffer(data_buffer, dtype=np.uint8)
            if data_buffer is not None
            else np.zeros(1, dtype=np.uint8)
        )
        raw = _allocate(n * 64)
        out = np.frombuffer(raw, dtype=np.uint8)
        kernel = _kernel()

        def run(first: int) -> None:
            last = min(n, first + slice_rows)
            kernel(  # type: ignore[operator]
                data, offsets[first : last + 1], self._inner, self._outer, _K, _HEX,
                out[first * 64 : last * 64],
            )  # fmt: skip

        starts = range(0, n, slice_rows)
        if workers > 1 and n > slice_rows:
            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(run, starts))
        else:
            for first in starts:
                run(first)
        lengths = np.diff(offsets)
        for i in np.flatnonzero(lengths > MAX_FAST):
            start = int(offsets[i])
            mac = self._slow.copy()
            mac.update(data[start : start + int(lengths[i])].tobytes())
            out[i * 64 : (i + 1) * 64] = np.frombuffer(mac.hexdigest().encode("ascii"), np.uint8)
        large = n * 64 >= 2**31
        result = pa.Array.from_buffers(
            pa.large_string() if large else pa.string(),
            n,
            [
                None,
                pa.py_buffer(np.arange(0, (n + 1) * 64, 64, dtype=np.int64 if large else np.int32)),
                pa.py_buffer(raw),
            ],
        )
        if arr.null_count:
            result = pc.if_else(arr.is_valid(), result, pa.scalar(None, result.type))
        return result


def _allocate(size: int) -> mmap.mmap | bytearray:
    """An output buffer; big ones are anonymous memory maps asking for transparent huge pages,
    which cuts the page faults of writing hundreds of megabytes (measured: -0.9 s of system
    time per 10M digests)."""
    if size < 1 << 22:
        return bytearray(size)
    buffer = mmap.mmap(-1, size)
    if hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            buffer.madvise(mmap.MADV_HUGEPAGE)
        except OSError:  # pragma: no cover - kernels without THP
            pass
    return buffer
