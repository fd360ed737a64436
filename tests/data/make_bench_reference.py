"""Write bench_torch_reference.json: PyTorch's gradients for tinygrad-edu bench's workloads.

Run with a Python that has torch (the test suite itself does not need it)::

    python3 tests/data/make_bench_reference.py

For each workload of tinygrad_edu/bench.py (seed 0), PyTorch runs one step from the
workload's start, and for each gradient this stores its shape, its sum, its Euclidean
norm and its values at 16 positions drawn from a seeded generator. tests/test_bench_cli.py
checks the hand-written NumPy gradients against them, so that the baseline every ratio is
taken against is proven equal to PyTorch's on every machine, with or without torch.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tinygrad_edu import bench  # noqa: E402


def summary(gradient: np.ndarray) -> dict:
    flat = np.asarray(gradient, dtype=np.float64).ravel()
    positions = np.random.default_rng(0).integers(0, flat.size, 16)
    return {"shape": list(np.shape(gradient)), "sum": float(flat.sum()),
            "norm": float(np.linalg.norm(flat)), "positions": positions.tolist(),
            "values": flat[positions].tolist()}


def main() -> None:
    reference = {"torch": torch.__version__}
    for name, workload_class in bench.WORKLOADS.items():
        step = workload_class(seed=0).step("torch", torch)
        step.run()
        reference[name] = [summary(np.asarray(g)) for g in step.grads()]
    path = os.path.join(HERE, "bench_torch_reference.json")
    with open(path, "w") as out:
        json.dump(reference, out, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
