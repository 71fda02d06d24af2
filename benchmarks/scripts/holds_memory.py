"""Time and peak memory of same_footage.holds against a version of a long film (synthetic codes:
5 rows a second, the version 2 bits off each row), one thread: the check `fp index` and matching
run per candidate version.

    python benchmarks/scripts/holds_memory.py
"""
import time, tracemalloc, numpy as np
from fp.index.verify import Reference
from fp.index.same_footage import holds, reference_rows
rng = np.random.default_rng(0)
def film(hours, base=None):
    n = int(hours * 3600 * 5)
    codes = rng.integers(0, 256, (n, 8), dtype=np.uint8) if base is None else base.copy()
    if base is not None:  # a version: 2 bits flipped per row
        flip = rng.integers(0, 64, (n, 2))
        for k in range(2):
            codes[np.arange(n), flip[:, k] // 8] ^= (1 << (flip[:, k] % 8)).astype(np.uint8)
    t = np.arange(n) / 5.0
    return Reference.of(t, codes, np.ones(n, bool), n / 5.0, views=np.zeros(n, np.uint8), quality=np.full(n, 90, np.uint8)), codes
for hours in (0.5, 2.0, 6.0):
    a, codes = film(hours); b, _ = film(hours, codes)
    rows = reference_rows(a, a.quality, -np.inf, np.inf)
    tracemalloc.start(); s = time.process_time()
    ok = holds(a, rows, b)
    dt = time.process_time() - s; peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    print(f"{hours} h: {len(b.times)} rows, holds={ok}, {dt:.3f} s CPU, peak {peak/1e6:.0f} MB")
