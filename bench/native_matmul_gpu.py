"""Native GPU baseline for `npm run bench gpu`: float32 n x n x n matmul with TF32 off, on the device's memory.

PyTorch (CUDA) if it is installed and sees a GPU, else CuPy. Prints JSON: {"baseline": name, "samples": [seconds...]}
or {"baseline": null, "reason": why}. Timed with CUDA events around each matmul, after warm-up runs.
"""
import json
import os
import sys


def torch_baseline(n, runs):
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError("PyTorch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    a = torch.rand(n, n, device="cuda", dtype=torch.float32)
    b = torch.rand(n, n, device="cuda", dtype=torch.float32)
    for _ in range(3):
        torch.mm(a, b)
    torch.cuda.synchronize()
    samples = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.mm(a, b)
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / 1000)
    name = f"PyTorch {torch.__version__} CUDA float32 matmul, TF32 off ({torch.cuda.get_device_name(0)})"
    return name, samples


def cupy_baseline(n, runs):
    os.environ["CUPY_TF32"] = "0"
    import cupy as cp

    a = cp.random.rand(n, n, dtype=cp.float32)
    b = cp.random.rand(n, n, dtype=cp.float32)
    for _ in range(3):
        cp.matmul(a, b)
    cp.cuda.Device().synchronize()
    samples = []
    for _ in range(runs):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        cp.matmul(a, b)
        end.record()
        end.synchronize()
        samples.append(cp.cuda.get_elapsed_time(start, end) / 1000)
    props = cp.cuda.runtime.getDeviceProperties(0)
    return f"CuPy {cp.__version__} float32 matmul, TF32 off ({props['name'].decode()})", samples


def main():
    n, runs = int(sys.argv[1]), int(sys.argv[2])
    reasons = []
    for attempt in (torch_baseline, cupy_baseline):
        try:
            name, samples = attempt(n, runs)
            print(json.dumps({"baseline": name, "samples": samples}))
            return
        except Exception as error:  # noqa: BLE001 - any failure means: try the next baseline
            reasons.append(f"{attempt.__name__}: {error}")
    print(json.dumps({"baseline": None, "reason": "; ".join(reasons)}))


main()
