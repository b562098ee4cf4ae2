"""Native baseline: numpy (OpenBLAS) f32 matmul on one thread, median GFLOP/s per size. Prints JSON."""
import json
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

runs = int(sys.argv[1])
sizes = [int(s) for s in sys.argv[2:]]
rng = np.random.default_rng(1)
out = []
for n in sizes:
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    a @ b
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    times.sort()
    s = times[len(times) // 2]
    out.append({"n": n, "seconds": s, "gflops": 2 * n**3 / s / 1e9, "runs": runs})
print(json.dumps({"baseline": "numpy " + np.__version__ + " (OpenBLAS, 1 thread)", "samples": out}))
